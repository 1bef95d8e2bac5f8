"""torch's legacy Tensor methods against torch: apply_ / map_ / map2_ (a Python callable per
element: values, casts, broadcasting, errors), storage() and its TypedStorage, set_ (a tensor,
a storage with offset/size/stride, nothing), is_set_to, resize / resize_as, dim_order,
to_dense, new_empty_strided, const_data_ptr, output_nr."""
import warnings

import pytest
import torch

import ember


def _both(fn):
    return fn(ember), fn(torch)


CASES = {
    "apply_float": lambda L: L.arange(4.0).apply_(lambda v: v * 2 - 1),
    "apply_int_truncates": lambda L: L.arange(3).apply_(lambda v: v + 0.7),
    "apply_bool": lambda L: L.tensor([True, False]).apply_(lambda v: not v),
    "apply_2d": lambda L: L.arange(6.0).reshape(2, 3).t().apply_(lambda v: v ** 2),
    "map_broadcast": lambda L: L.ones(2, 3).map_(L.arange(3.0), lambda a, b: a + 10 * b),
    "map2_": lambda L: L.ones(4).map2_(L.arange(4.0), L.full((4,), 2.0),
                                       lambda a, b, c: a + b * c),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_dtypes(case):
    e, t = _both(CASES[case])
    assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)


def test_in_place_and_python_scalars():
    for lib in (ember, torch):
        x = lib.arange(3.0)
        seen = []
        assert x.apply_(lambda v: seen.append(type(v)) or v) is x
        assert seen == [float] * 3
        y = lib.arange(3)
        y.apply_(lambda v: seen.append(type(v)) or v)
        assert seen[-1] is int


@pytest.mark.parametrize("bad", ["requires_grad", "dtype", "shape"])
def test_errors_match_torch(bad):
    def call(L):
        if bad == "requires_grad":
            return lambda: L.ones(2, requires_grad=True).apply_(lambda v: v)
        if bad == "dtype":
            return lambda: L.ones(2).map_(L.ones(2, dtype=L.int64), lambda a, b: a)
        return lambda: L.ones(3).map_(L.ones(2, 3), lambda a, b: a)
    with pytest.raises(Exception) as te:
        call(torch)()
    with pytest.raises(type(te.value)) as ee:
        call(ember)()
    assert str(ee.value) == str(te.value)


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn()


def _rearm_typed_storage_warning(monkeypatch):
    """Both warn about TypedStorage once per process: make the next storage() warn again."""
    torch.storage._warn_typed_storage_removal.__dict__["has_warned"] = False
    monkeypatch.setattr(ember._warnings, "GIVEN", set())


def test_storage_is_torchs_typed_storage(monkeypatch):
    _rearm_typed_storage_warning(monkeypatch)
    for lib in (ember, torch):
        x = lib.arange(6.0)
        with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
            x.storage()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            x.storage()                         # only the first time
    se = _quiet(lambda: ember.arange(6.0)[2:].storage())
    st = _quiet(lambda: torch.arange(6.0)[2:].storage())
    assert repr(se) == repr(st)
    assert (len(se), se.element_size(), se.nbytes(), se[1], se.tolist()) == \
        (len(st), st.element_size(), st.nbytes(), st[1], st.tolist())
    x = ember.arange(3.0)
    assert _quiet(x.storage).data_ptr() == x.data_ptr() == x.untyped_storage().data_ptr()


@pytest.mark.parametrize("case", ["tensor", "storage_strided", "storage_all", "nothing"])
def test_set_matches_torch(case):
    out = []
    for lib in (ember, torch):
        src = lib.arange(6.0)
        z = lib.zeros(3)
        if case == "tensor":
            r = z.set_(src.view(2, 3))
            assert z.is_set_to(src.view(2, 3)) and z.data_ptr() == src.data_ptr()
            src[0] = 7.0                              # one memory
        elif case == "storage_strided":
            r = z.set_(src.untyped_storage(), 2, (2, 2), (1, 2))
        elif case == "storage_all":
            r = z.set_(src.untyped_storage())
        else:
            r = z.set_()
        assert r is z
        out.append((z.tolist(), tuple(z.shape), z.stride(), z.storage_offset()))
    assert out[0] == out[1]


def test_set_refuses_a_leaf_that_requires_grad():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            lib.zeros(2, requires_grad=True).set_(lib.ones(2))


@pytest.mark.parametrize("shape", [(2, 3), (3, 2), (6,)])
def test_resize_deprecated_forms(shape):
    res = []
    for lib in (ember, torch):
        x = lib.arange(6.0).reshape(3, 2).t()
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            a = x.resize(*shape)
        with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
            b = x.resize_as(lib.zeros(shape))
        res.append((a.tolist(), b.tolist()))
        with pytest.raises(RuntimeError) as e:
            _quiet(lambda: x.resize(4))
        res.append(str(e.value))
    assert res[:2] == res[2:]


@pytest.mark.parametrize("make", [lambda L: L.zeros(2, 3), lambda L: L.zeros(2, 3).t(),
                                  lambda L: L.zeros(2, 1, 3), lambda L: L.zeros(4, 5)[:, ::2],
                                  lambda L: L.zeros(2, 3, 4).permute(2, 0, 1)])
def test_dim_order_and_to_dense(make):
    e, t = make(ember), make(torch)
    assert e.dim_order() == t.dim_order()
    assert e.to_dense() is e and t.to_dense() is t
    assert e.to_dense(ember.float64).dtype is ember.float64


def _dim_order_checks(lib):
    out = []
    for shape, perm in (((1, 2, 3, 4), None), ((2, 3, 4, 5), None), ((2, 3, 4, 5), (0, 2, 3, 1)),
                        ((2, 1, 4, 5), (0, 2, 3, 1)), ((2, 2), (1, 0)), ((3, 1), None)):
        x = lib.empty(shape)
        x = x if perm is None else x.permute(*perm).contiguous().permute(
            *sorted(range(len(perm)), key=perm.__getitem__))
        for check in (False, True, [lib.contiguous_format, lib.channels_last],
                      [lib.channels_last], [], "ILLEGAL", [lib.contiguous_format, 1]):
            try:
                out.append(x.dim_order(ambiguity_check=check))
            except (RuntimeError, TypeError) as e:
                out.append((type(e).__name__, str(e)))
    return out


def test_dim_order_ambiguity_check():
    """ambiguity_check=True or a list of memory formats: torch's RuntimeError where a size-1
    dim or equal strides leave several orders and no single listed format fits; TypeError for
    anything but a bool or a list of memory formats (ember ignored the argument)."""
    assert _dim_order_checks(ember) == _dim_order_checks(torch)


@pytest.mark.parametrize("make", [lambda L: L.zeros(0), lambda L: L.zeros(2, 0),
                                  lambda L: L.zeros(0, 3), lambda L: L.zeros(2, 3)[:, 0:0],
                                  lambda L: L.zeros(2, 3).t()[:, :0], lambda L: L.zeros(2, 3, 0)])
def test_strides_of_empty_tensors(make):
    """NumPy zeroes the strides of a new empty array; torch gives contiguous ones."""
    assert make(ember).stride() == make(torch).stride()


def test_small_tensor_accessors_match_torch():
    for lib in (ember, torch):
        x = lib.ones(2, 3)
        e = x.new_empty_strided((2, 3), (1, 2))
        assert e.stride() == (1, 2) and e.dtype == x.dtype and tuple(e.shape) == (2, 3)
        assert x.const_data_ptr() == x.data_ptr() and x.is_distributed() is False
        parts = lib.ones(3, requires_grad=True).unbind()
        assert [p.output_nr for p in parts] == [0, 1, 2]
        assert (x * 2).output_nr == 0 and x.output_nr == 0


def _removed_variable_api(L):
    """Variable.volatile warns (and stays False), name is a read-only None, reinforce() raises
    torch's message pointing to torch.distributions."""
    x, out = L.ones(2), []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        x.volatile = True
        out.append((x.volatile, x.name, (x * 2).name))
    out.append([(str(w.message), w.filename == __file__) for w in seen])
    for fn in (lambda: x.reinforce(1), lambda: setattr(x, "name", "a")):
        with pytest.raises((RuntimeError, AttributeError)) as info:
            fn()
        out.append((info.type.__name__, str(info.value)))
    return out


def test_removed_variable_api():
    e, t = _both(_removed_variable_api)
    assert e == t
