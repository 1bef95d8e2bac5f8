"""ember.ops.aten against torch.ops.aten: the schema table, each op of the op table called
through its packet, overloads called with good and bad arguments (values, or the dispatcher's
exception and message), the packets' and overloads' names, and FlopCounterMode keyed by them."""
import os
import subprocess
import sys
import warnings

import pytest
import torch

import ember
from opspecs import ALL_SPECS, materialize
from oracle import assert_close
from test_ops import _ember_args, _torch_args

from ember.ops._aten_schemas import SCHEMAS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_schema_table_is_torchs():
    """The generated table holds torch's schemas for every op ember can run (regenerate with
    scripts/gen_aten_schemas.py when this fails). In a fresh process: the names ember resolves
    depend on what has been imported."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_aten_schemas.py"),
                          "--check"], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_leaves_the_table_unloaded():
    code = "import sys, ember; print('ember.ops._aten_schemas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.stdout.strip() == "False", out.stderr


# the op table's samples are raw values; these ops' entries prepare them first (a positive
# definite matrix) or compare through an invariant (SVD's signs), so their raw calls differ
_PREPARED = {"cholesky", "cholesky_inverse", "svd"}
_SWEEP = [s for s in ALL_SPECS if s.name in SCHEMAS and s.name not in _PREPARED]


def _call(fn):
    try:
        return fn(), None
    except Exception as e:          # (compared by class name: torch's are torch._C's)
        return None, type(e).__name__


@pytest.mark.parametrize("spec", _SWEEP, ids=lambda s: s.name)
def test_op_table_through_packets(spec):
    """Each op of the op table called as torch.ops.aten.<name>(*sample): the packet picks the
    overload torch's does and gives torch's values, or the same exception."""
    assert len(_SWEEP) > 250
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, sample in enumerate(spec.samples):
            items = materialize(sample, spec.dtypes[0], spec.domain, seed=i)
            e_args, t_args = _ember_args(items, "cpu", False), _torch_args(items, False)
            t_out, t_err = _call(lambda: getattr(torch.ops.aten, spec.name)(*t_args))
            e_out, e_err = _call(lambda: getattr(ember.ops.aten, spec.name)(*e_args))
            assert e_err == t_err, (i, e_err, t_err)
            if t_err is None:
                assert type(e_out).__name__ == type(t_out).__name__
                if isinstance(t_out, (tuple, list)):
                    assert len(e_out) == len(t_out)
                    for e, t in zip(e_out, t_out):
                        assert_close(e, t)
                else:
                    assert_close(e_out, t_out)


CASES = [
    # overloads by name
    "a.add.Tensor(x, 2)", "a.add.Tensor(2, x)", "a.add.Tensor(x, other=x, alpha=3)",
    "a.add(x, x, alpha=3)", "a.max.dim(x, 0)", "a.max(x, 0)", "type(a.max(x, 0))",
    "a.mm.default(x, x)", "a.mm.default(self=x, mat2=x)", "a.sum.dim_IntList(y, [1], True)",
    "a.sum.dim_IntList(x, 0)", "a.sum.dim_IntList(x, (0,))", "a.sum.dim_IntList(x, None)",
    "a.sum(x, dim=0, keepdim=True)", "a.view.default(L.ones(6), [2, 3])", "a.view(x, 4)",
    "a.expand.default(L.ones(2), [3, 2])", "a.split.Tensor(L.ones(4), 2)", "a.unbind.int(x)",
    "a.sort.default(L.tensor([3., 1., 2.]))", "a.cat.default([x, x])", "a.cat.default((x, x))",
    "a.einsum.default('ij,jk->ik', [x, y])", "a.tensordot.default(x, y, [1], [0])",
    "a.meshgrid.indexing([L.ones(2), L.ones(3)], indexing='ij')[0].shape",
    "a.block_diag.default([x, y]).shape", "a.linalg_inv.default(x + L.eye(2))",
    "a.special_erf.default(x)", "a.gelu.default(x, approximate='tanh')",
    "a.convolution.default(L.ones(1, 1, 3, 3), L.ones(1, 1, 2, 2), None, [1, 1], [0, 0], "
    "[1, 1], False, [0, 0], 1)",
    "a.layer_norm.default(x, [2])", "a.embedding.default(x, L.tensor([0, 1]))",
    "a.dropout.default(x, 0.0, True)", "a.clone.default(x, memory_format=L.contiguous_format)",
    "a.__and__.Tensor(x.bool(), x.bool())", "a.zeros.default([2])", "a.arange.default(3)",
    "a.stft.default(L.ones(16), 4, return_complex=True).shape",
    "a.stft.center(L.ones(16), 4, window=L.ones(4), return_complex=True).shape",
    "a.std.correction(y, [0], correction=0)", "a.var_mean.correction(y, [1])",
    "a.topk.default(L.arange(5.), 2)", "a.where.self(x > 0, x, x)",
    "a.index_select.default(x, 0, L.tensor([1]))", "a.copy_.default(L.zeros(2), L.ones(2))",
    "a.add_.Tensor(L.zeros(2), 1)", "a.softmax.int(x, 1)", "a.rsub.Scalar(x, 3)",
    "a.max_pool2d.default(L.ones(1, 1, 4, 4), [2, 2])", "a.mean.dim(x, [0], dtype=7)",
    "a.unique_consecutive(L.tensor([1, 1, 2, 3, 3]))",
    "a.unique_consecutive(L.tensor([1, 1, 2, 3, 3]), True, True)",
    "a.unique_consecutive.default(L.tensor([1, 1, 2]), return_counts=True)",
    # refusals: the dispatcher's messages
    "a.add.Scalar(x, x)", "a.add.Tensor(x, x, 3)", "a.add.Tensor(x, x, other=x)",
    "a.add.Tensor(x, x, alpha=x)", "a.add.Tensor(x, x, beta=2)", "a.add.Tensor(x)",
    "a.mm.default(x)", "a.mm.default(x, x, x)", "a.mm.default(x, x, mat3=x)",
    "a.mm.default(x, 2)", "a.mm(x, 2)", "a.add(x, 'a')", "a.neg.default(2)",
    "a.neg.default([1, 2])", "a.neg.default(None)", "a.addmm.default(x, x, None)",
    "a.sum.default(x, 0)", "a.sum.dim_IntList(x, 'a')", "a.sum.dim_IntList(x, 0.5)",
    "a.sum.dim_IntList(x, [0.5])", "a.view.default(x, 4)", "a.view.default(x, [4.0])",
    "a.select.int(x, 'a', 0)", "a.select.int(x, 0.5, 0)", "a.select.int(x, None, 0)",
    "a.clamp.default(x, 'a')", "a.linear.default(x, x, 5)", "a.cat.default(x)",
    "a.cat.default([x, 1])", "a.div.Tensor_mode(x, x, rounding_mode=1)",
    "a.mul(x, x, x)", "a.max(x, 'a')", "a.where(x, x)", "a.relu(x, 1)", "a.split(x, 'a')",
    "a.mean.dim(x, [0], dtype=1)",
    # the ops torch binds in torch._C._nn, over ember's nn.functional
    "a.elu.default(x)", "a.elu.default(x, 0.5, 2.0, 1.5)", "a.leaky_relu.default(x, 0.2)",
    "a.hardtanh.default(x, -0.5, 0.5)", "a.silu.default(x)", "a.mish.default(x)",
    "a.relu6.default(x * 4)", "a.hardswish.default(x)", "a.hardsigmoid.default(x)",
    "a.glu.default(y, 1)", "a._softmax.default(y, 1, False)",
    "a._log_softmax.default(y, 0, False)",
    "a._softmax.default(y, 1, True)", "a.mse_loss.default(y, y.flip(1))",
    "a.mse_loss.default(y, y.flip(1), 0)", "a.l1_loss.default(y, y.flip(1), 2)",
    "a.smooth_l1_loss.default(y, y.flip(1), 1, 0.5)", "a.huber_loss.default(y, y.flip(1), 2, 0.3)",
    "a.soft_margin_loss.default(y, y.flip(1).sign())",
    "a.binary_cross_entropy.default(y.sigmoid(), y.flip(1).sigmoid(), None, 0)",
    "a.nll_loss.default(y, L.tensor([0, 2]))",
    "a.nll_loss.default(y, L.tensor([0, 2]), None, 0, 2)",
    "a.multi_margin_loss.default(y, L.tensor([0, 2]))",
    "a.multilabel_margin_loss.default(y, L.tensor([[0, 2, -1], [1, -1, 0]]))",
    "a.adaptive_avg_pool2d.default(z, [2, 2])", "a.adaptive_max_pool2d.default(z, [2, 2])",
    "a.max_pool2d_with_indices.default(z, [2, 2], [1, 1], [1, 1])",
    "a.max_pool3d_with_indices.default(z.unsqueeze(0), [1, 2, 2])",
    "a.adaptive_avg_pool3d.default(z.unsqueeze(0), [1, 2, 2])",
    "a.pad.default(y, [1, 1], 'constant', 2.0)", "a.pad.default(z, [1, 1, 1, 1], 'reflect')",
    "a.mse_loss.overloads()", "a.nll_loss.default._schema",
    # names
    "a.foo", "a.mm.foo", "a.mm.overloads()", "a.add.overloads()", "a.sum.overloads()",
    "a.add.Tensor", "str(a.add.Tensor)", "a.add.Tensor.__name__", "a.add.Tensor.name()",
    "a.add.Tensor._schema", "str(a.sum.default._schema)", "a.mm", "str(a.mm)", "a.mm.__name__",
    "a.mm._qualified_op_name", "a.mm.default.overloadpacket is a.mm", "a.mm.default.name()",
    "a.mm.default._overloadname", "a.mm is a.mm", "a.mm.default is a.mm.default",
    "type(a.mm.default)", "type(a.mm)", "a", "a.mm.default.__module__", "a.mm.default.namespace",
    "[(p.name, p.kwarg_only) for p in a.sum.dim_IntList._schema.arguments]",
    "a.sum.dim_IntList._schema.name, a.sum.dim_IntList._schema.overload_name",
    "[str(o) for o in a.mm.op_overloads()]", "sorted(a.mm._schemas)",
]


def _outcome(lib, src):
    env = {"a": lib.ops.aten, "L": lib, "x": lib.ones(2, 2), "y": lib.arange(6.).reshape(2, 3),
           "z": lib.arange(32.).reshape(2, 4, 4)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return repr(eval(src, env))
        except Exception as e:
            return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("src", CASES)
def test_like_torch(src):
    assert _outcome(ember, src) == _outcome(torch, src)


@pytest.mark.parametrize("src", ["a.add.int(2, 3)", "a.neg(2)", "a._scaled_mm.default(x, x, x, x)"])
def test_what_ember_cannot_run_says_so(src):
    """TorchScript's builtins on Python values and the ops ember has no function for (kept as
    packets for the flop counter's keys) raise NotImplementedError naming the overload."""
    out = _outcome(ember, src)
    assert out.startswith("NotImplementedError: ember has no implementation of aten::"), out
    assert not _outcome(torch, src).startswith("NotImplementedError")


def _flops(lib):
    from_lib = __import__(f"{lib.__name__}.utils.flop_counter", fromlist=["FlopCounterMode"])
    model = lib.nn.Sequential(lib.nn.Linear(8, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    mapping = {lib.ops.aten.mm: lambda *args, out_shape=None, **kw: 1000,
               lib.ops.aten.addmm: lambda a, b, c, out_shape=None, **kw: 7 * b[0]}
    with from_lib.FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        model(lib.ones(3, 8)).sum().backward()
    counts = counter.get_flop_counts()
    assert all(key is getattr(lib.ops.aten, key.__name__) for key in counts["Global"])
    return {mod: {str(k): v for k, v in c.items()} for mod, c in counts.items()}


def test_flop_counter_keys_are_the_packets():
    """FlopCounterMode counts under torch.ops.aten's packets: custom_mapping keyed by them
    replaces torch's formulas."""
    assert _flops(ember) == _flops(torch)
    from ember.utils.flop_counter import register_flop_formula
    with pytest.raises(ValueError, match="got aten.mm.default which is of type <class "
                       "'torch._ops.OpOverload'>"):
        register_flop_formula(ember.ops.aten.mm.default)(lambda *a, **k: 0)


def test_numbers_as_tensors_are_torchs():
    from ember.ops._aten import _NUMBERS_AS_TENSORS
    names = set(SCHEMAS) | set(_NUMBERS_AS_TENSORS)
    assert {n for n in names if torch._C._should_allow_numbers_as_tensors(n)} == \
        _NUMBERS_AS_TENSORS
