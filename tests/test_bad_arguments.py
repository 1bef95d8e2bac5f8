"""Bad arguments raise torch's exception class (ember returned a result or leaked another
class for each of these before): non-integer ints, wrong types, mismatched sizes."""
import pytest
import torch

import ember
from oracle import eval_both

CASES = [
    "x.triu(diagonal=1.5)", "x.tril(1.5)", "x.diagonal(offset=0.5)", "x.topk(1.0)",
    "x.kthvalue(1.0)", "x.narrow(0, 0.0, 1)", "x.flip(0.0)", "x.permute(1.0, 0)",
    "t.linalg.matrix_power(x, 1.5)", "t.ones(3).std(dim=0, unbiased='yes')",
    "t.cartesian_prod(t.ones(2, 2))", "t.ones(3)[t.tensor([1, 0], dtype=t.int8)]",
    "t.ones(3)[t.tensor([1, 0], dtype=t.int16)]", "t.set_default_dtype('float')",
    "t.linalg.svd(x, driver='gesvd')", "t.linalg.svdvals(x, driver='gesvd')",
    "t.zeros(3).index_copy(0, t.tensor([0]), t.ones(2))",
    "t.zeros(3).masked_fill(t.tensor([True, False]), 2.0)",
    "t.ones(2).masked_fill_(t.tensor([True, False]), 'a')",
    "t.linalg.vector_norm(x, ord='fro')", "t.linalg.eigvalsh(x, UPLO='X')",
    # unique over a dim: complex has no kernel, other 0-sized dims are refused
    "t.unique(x.cfloat(), dim=0)", "t.unique_consecutive(x.cfloat(), dim=0)",
    "t.unique(x.cfloat())", "t.unique_consecutive(x.cdouble())",
    "t.unique(t.ones(2, 0), dim=0)", "t.unique(t.ones(0, 0), dim=0)",
    "t.unique(t.ones(0, 0, 3), dim=2)",
    # index puts: unbroadcastable indices are reported before a dtype mismatch
    "x[t.tensor([0, 1]), t.tensor([0, 1, 0])] = t.ones(1).double()",
    "x[t.tensor([True, False]), t.tensor([0, 1])] = t.ones(1).double()",
    "x[t.ones(2, 2, dtype=t.bool)] = t.ones(2, 1)",
    "t.zeros(2, 0).index_select(1, t.tensor([0]))", "t.zeros(0).index_select(0, t.tensor([0]))",
    "t.zeros(4, 0, 2)[:, [0]]", "t.zeros(0)[[0]]",
    # where's out= overload: tensors only, the result's exact dtype
    "t.where(x > 0, x, 2.0, out=t.empty(0))", "t.where(x > 0, x, x.long(), out=t.empty(0).half())",
    # a shape argument left out (ember read no sizes as an empty shape)
    "x.view()", "x.reshape()", "t.reshape(x)", "x.expand()", "x.permute()", "x.repeat()",
    "x.tile()", "x.sum_to_size()", "t.tensor(1.).permute()", "t.tensor(1.).reshape()",
]
# and these must keep working, with torch's result
GOOD = [
    "t.ones(3).max(dim=t.tensor(0))", "t.ones(3).max(t.tensor(0.5))", "x.triu(1)", "x.topk(1)",
    "x.masked_fill(t.ones(3, 2, 2, dtype=t.bool), 0)", "t.ones(3)[t.tensor([1, 0], dtype=t.int32)]",
    "x.narrow(0, t.tensor(1), 1)",
    "t.unique(t.ones(0, 3), dim=0, return_counts=True)",
    "t.unique(t.ones(2, 0), dim=1, return_inverse=True)",
    "t.unique_consecutive(t.ones(0, 2), dim=0, return_inverse=True, return_counts=True)",
    "t.where(x > 0, x, x.long(), out=t.empty(0))",
    "t.zeros(2, 0).gather(1, t.zeros((2, 0), dtype=t.long))",
    "t.zeros(2, 0).scatter_add(1, t.zeros((2, 0), dtype=t.long), t.zeros(2, 0))",
    "t.cartesian_prod(t.tensor([1, 2]), t.tensor([3, 4]))",
    "t.tensor(1.).permute(())", "t.tensor(1.).reshape(())", "t.tensor(1.).view(())",
    "t.tensor(1.).expand(())", "x.reshape(shape=(4,))", "x.permute(dims=(1, 0))",
    "x.view(dtype=t.int32)", "x.repeat(repeats=(1, 2))", "x.tile(dims=(2,))",
    "t.tensor([True, False]).conj_physical_()", "t.tensor([1, 2]).conj_physical_()",
]


def _run(lib, code):
    env = {"t": lib, "x": lib.ones(2, 2)}
    if " = " in code:               # an index put: a statement
        exec(code, env)
        return env["x"]
    return eval(code, env)


@pytest.mark.parametrize("code", CASES)
def test_bad_arguments_raise_torchs_class(code):
    with pytest.raises(Exception) as expected:
        _run(torch, code)
    with pytest.raises(type(expected.value)) as got:
        _run(ember, code)
    if code in SAME_MESSAGE:
        assert str(got.value) == str(expected.value)


# ... and these with torch's message too
SAME_MESSAGE = {"t.zeros(4, 0, 2)[:, [0]]", "t.zeros(0)[[0]]", "x.view()", "x.reshape()",
                "t.reshape(x)", "x.expand()", "x.permute()", "x.repeat()", "x.tile()",
                "x.sum_to_size()",
                "x[t.tensor([0, 1]), t.tensor([0, 1, 0])] = t.ones(1).double()",
                "x[t.ones(2, 2, dtype=t.bool)] = t.ones(2, 1)",
                "t.zeros(2, 0).index_select(1, t.tensor([0]))"}


@pytest.mark.parametrize("code", GOOD)
def test_near_misses_still_work(code):
    assert repr(_run(ember, code)) == repr(_run(torch, code))


# products of mixed dtypes: torch's message per function (its kernels check in different places)
_F, _D = "t.float32", "t.float64"
PRODUCTS = [
    "t.tensordot(a, b, dims=1)", "t.tensordot(a, b.long(), dims=1)", "t.linalg.multi_dot([a, b])",
    "t.linalg.multi_dot([a, a.T, b.T])", "t.chain_matmul(a, b)", "t.inner(a, b.T)",
    "t.vdot(a[0], b[:, 0])", "t.mv(a, b[:, 0])", "t.mv(b.T, a[0])", "t.bmm(a[None], b[None])",
    "t.cross(a, b.T, dim=1)", "t.linalg.cross(t.ones(3), t.ones(3, dtype=t.int64))",
    "t.mm(a, b)", "t.matmul(a[0], b)", "t.matmul(a[0], b[:, 0])",
    "t.einsum('i,i->i', a[0], b[:, 0])", "t.einsum('i,i->', a[0], b[:, 0])",
    "t.einsum('ij,jk->ik', a, b)", "t.einsum('i,j->ij', a[0], b[0])", "t.einsum('ij,j->i', a, b[:, 0])",
] + [f"t.{name}(t.ones({s}, dtype={d0}), t.ones({m1}, dtype={d1}), t.ones({m2}, dtype={d2}))"
     for name, s, m1, m2 in (("addmm", "2, 2", "2, 3", "3, 2"), ("addbmm", "2, 2", "1, 2, 3", "1, 3, 2"),
                             ("baddbmm", "1, 2, 2", "1, 2, 3", "1, 3, 2"), ("addmv", "2", "2, 3", "3"))
     for d0 in (_F, _D) for d1 in (_F, _D) for d2 in (_F, _D) if len({d0, d1, d2}) > 1]


def _product(lib, code):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(eval(code, {"t": lib, "a": lib.ones(2, 3),
                                   "b": lib.ones(3, 2, dtype=lib.float64)}).dtype)
        except Exception as e:      # noqa: BLE001 - class and message are compared
            return type(e).__name__, str(e)


@pytest.mark.parametrize("code", PRODUCTS)
def test_mixed_dtype_products_raise_or_promote_as_torch(code):
    assert _product(ember, code) == _product(torch, code)


def test_chain_matmul_warns_deprecated_once(monkeypatch):
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with pytest.warns(UserWarning, match="torch.chain_matmul is deprecated"):
        ember.chain_matmul(ember.ones(2, 2), ember.ones(2, 2))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.chain_matmul(ember.ones(2, 2), ember.ones(2, 2))


class _Reflected:
    """An operand with reflected methods: a Tensor operator hands the operation to them."""
    def __radd__(self, other):
        return "radd"

    def __rsub__(self, other):
        return "rsub"

    def __rmatmul__(self, other):
        return "rmatmul"

    def __rpow__(self, other):
        return "rpow"

    def __eq__(self, other):
        return "eq"

    def __gt__(self, other):
        return "gt"

    __hash__ = object.__hash__


OPERATOR_CASES = [
    "x + r", "x - r", "x @ r", "x ** r", "x == r", "x < r", "x + [1, 2]", "[1, 2] + x",
    "x + (1, 2)", "x < [1, 2]", "x @ [1.0, 1.0]", "x ** [1, 2]", "x // 'a'", "'a' - x",
    "x & object()", "x << object()", "x == None", "x != 'a'", "x == [1.0, 2.0]",
    "x.__iadd__([1])", "x.__eq__(object())", "x.__rmatmul__(object())",
]


@pytest.mark.parametrize("code", OPERATOR_CASES)
def test_operators_with_foreign_operands_as_torch(code):
    """torch's operators turn an operand they cannot take into NotImplemented: Python then
    calls the other operand's reflected method, or raises its own TypeError ("unsupported
    operand type(s) for +: 'Tensor' and 'list'")."""
    outcomes = []
    for lib in (ember, torch):
        try:
            outcomes.append(eval(code, {"x": lib.ones(2), "r": _Reflected()}))
        except TypeError as e:
            outcomes.append(("TypeError", str(e)))
    assert outcomes[0] == outcomes[1]


NUMBER_SOURCES = [
    "t.ones(2, dtype=t.int8).copy_(0.5)", "t.ones(2).copy_(3)", "t.ones(2, dtype=t.uint8).copy_(300)",
    "t.ones(2, dtype=t.bool).copy_(2)", "t.ones(2).copy_(True)", "t.ones(2).copy_(2 ** 70)",
    "t.ones(2, requires_grad=True).clone().copy_(3.0)",
    "t.ones(2, dtype=t.uint8).fill_(t.tensor(-4.3))", "t.ones(2, dtype=t.uint8).fill_(t.tensor(300))",
    "t.ones(2, dtype=t.int8).fill_(t.tensor(1 + 2j))", "t.ones(2).fill_(t.tensor(1.5 + 2j))",
    "t.ones(2, 3)[:, 1].fill_(t.tensor(5))",
    "t.mm(t.ones(1, 1), np.ones((1, 1)))", "t.cat([t.ones(1), np.ones(1)])",
    "t.ones(2).copy_(np.array(2.5))",
    # integer clamp bounds convert to the tensor's type, checked: -x wraps into uint8
    "t.tensor([0, 5, 250], dtype=t.uint8).clamp(min=-3)",
    "t.tensor([0, 5, 250], dtype=t.uint8).clamp(-3, 300)",
    "t.tensor([1, 2, 3], dtype=t.int8).clamp(-200, 5)",
    "t.tensor([0, 5, 250], dtype=t.uint8).clamp_max(-1)",
]


@pytest.mark.parametrize("code", NUMBER_SOURCES)
def test_copy_and_fill_sources_as_torch(code):
    """copy_ takes a Python number as a 0-dim tensor of its own type; fill_ of a 0-dim tensor
    casts as copy_ does (wrapping, dropping an imaginary part with torch's warning); a NumPy
    array where a Tensor is expected is named numpy.ndarray."""
    e, t = eval_both(code)
    assert e == t


@pytest.mark.parametrize("call", [
    "t.repeat_interleave(x, {r}, output_size=3)", "t.repeat_interleave(x, {r}, output_size=8)",
    "t.repeat_interleave(x, {r}, dim=0, output_size=2)",
    "t.repeat_interleave(x, {r}, dim=0, output_size=4)",
    "t.repeat_interleave(x, {r}, output_size=-1)"])
@pytest.mark.parametrize("r", ["2", "t.tensor(2)", "t.tensor([1, 2])"])
def test_repeat_interleave_output_size_is_checked(call, r):
    """output_size must be the result's size along dim (ember ignored it)."""
    e, t = eval_both(call.format(r=r), lambda lib: {"x": lib.tensor([[1, 2], [3, 4]])})
    assert e == t


@pytest.mark.parametrize("size", [2, 3, 4])
def test_repeat_interleave_of_repeats_output_size(size):
    e, t = eval_both(f"t.repeat_interleave(t.tensor([1, 2]), output_size={size})")
    assert e == t


@pytest.mark.parametrize("code", [
    "t.cat([t.zeros(2, 3), t.zeros(2)], 1)", "t.cat([t.zeros(2, 3), t.zeros(2)], -1)",
    "t.cat([t.zeros(2, 3, 4), t.zeros(2, 3)], 2)", "t.cat([t.zeros(2, 1, 4), t.zeros(2, 1)], -1)",
    "t.cat([t.zeros(2, 3), t.zeros(0), t.zeros(2)], 1)",
])
def test_cat_of_fewer_dims_matching_before_dim(code):
    """A tensor of fewer dims whose sizes match the first's before and after `dim` (ember
    took it for a matching one and failed inside with an IndexError): torch's message."""
    got, expected = eval_both(code)
    assert got == expected == ("RuntimeError", expected[1])
    assert "same number of dimensions" in got[1]
