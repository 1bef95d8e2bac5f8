"""torch.futures (Future, collect_all, wait_all), torch.jit.fork's Future, and torch.types,
against torch."""
import threading
import time

import pytest
import torch

import ember


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:
        return type(e).__name__, str(e).split("\n")[0]


def _program(lib):
    F, out = lib.futures, []
    f = F.Future()
    out.append(f.done())
    f.set_result(3)
    out += [f.wait(), f.value(), f.done()]
    g = f.then(lambda fut: fut.wait() + 1)
    out += [g.wait(), g.done()]
    h = F.Future()
    h.set_exception(ValueError("x"))
    for fn in (h.wait, h.value, lambda: f.set_result(4), lambda: h.set_exception(ValueError("y")),
               lambda: F.wait_all([f, h]), lambda: F.collect_all([f, h]).wait(),
               lambda: h.then(lambda fu: fu.wait()).wait(), lambda: F.wait_all([f, g])):
        out.append(_outcome(fn))
    c = F.collect_all([f, g])
    out += [c.done(), [x.wait() for x in c.wait()], F.wait_all([])]
    calls = []
    k = F.Future()
    k.add_done_callback(lambda fu: calls.append(fu.value()))
    out.append(list(calls))
    k.set_result(7)
    k.add_done_callback(lambda fu: calls.append(fu.value() * 2))
    out.append(calls)
    e = lib.jit.fork(lambda x: x * 2, 5)
    out += [e.wait(), lib.jit.wait(e)]
    return out


def test_futures_as_torch():
    assert _program(ember) == _program(torch)


def test_completed_from_another_thread():
    a, b = ember.futures.Future(), ember.futures.Future()
    both = ember.futures.collect_all([a, b])
    values = both.then(lambda fu: [x.wait() for x in fu.wait()])

    checked = threading.Event()

    def complete():
        checked.wait()
        a.set_result("A")
        time.sleep(0.02)
        b.set_result("B")
    t = threading.Thread(target=complete)
    t.start()
    assert not both.done()
    checked.set()
    assert values.wait() == ["A", "B"] and both.done()
    t.join()
    with pytest.raises(RuntimeError, match="not completed"):
        ember.futures.Future().value()


def test_callback_errors_as_torch(capfd):
    def bad(fu):
        raise KeyError("cb")
    for lib in (torch, ember):
        m = lib.futures.Future()
        m.add_done_callback(bad)         # reported on stderr, then ignored
        m.set_result(1)
        assert m.wait() == 1
        err = capfd.readouterr().err
        assert "Got the following error when running the callback: KeyError: 'cb'" in err
        with pytest.raises(RuntimeError, match="^Got the following error when running the "
                           "callback: KeyError: 'cb'"):
            m.then(bad).wait()


def test_types_aliases():
    from ember import types
    assert set(types.__all__) == set(torch.types.__all__)
    assert isinstance(3, types.Number) and isinstance(2.5, types.Number)
    assert not isinstance("3", types.Number)
    assert isinstance(ember.device("cpu"), types.Device) and isinstance(None, types.Device)
    assert isinstance(ember.UntypedStorage(2), types.Storage)
    assert types._size.__args__[0] is ember.Size and types.py_sym_types == (
        ember.SymInt, ember.SymFloat, ember.SymBool)
