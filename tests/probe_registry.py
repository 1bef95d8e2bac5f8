"""The probe rounds' registry: each tests/test_probe*_programs.py and *_libs.py file registers
its programs (run under ember and under torch from the same seed, everything they log compared,
by test_probe18_programs._check) and parametrises one test over them."""
import contextlib
import functools
import warnings

import pytest


class Programs(dict):
    """name -> (program, tol, xfail)."""

    def program(self, tol=None, xfail=None):
        """Registers a program; tol: the float tolerance (None: bit for bit); xfail: the
        difference left that makes it fail (a strict xfail)."""
        def deco(fn):
            self[fn.__name__] = (fn, tol, xfail)
            return fn
        return deco

    def always(self, tol=None, xfail=None, quiet=()):
        """Registers a program run with every warning given each time (always_warn), those
        matching the `quiet` regular expressions silenced."""
        def deco(fn):
            @functools.wraps(fn)
            def run(torch, log):
                with always_warn(torch), warnings.catch_warnings():
                    for pattern in quiet:
                        warnings.filterwarnings("ignore", pattern)
                    fn(torch, log)
            return self.program(tol, xfail)(run)
        return deco

    def params(self):
        """The programs' names in order, those with an xfail marked strict."""
        return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=self[n][2]))
                if self[n][2] else n for n in sorted(self)]

    def test(self, check):
        """The file's test: check(program, tol) for each registered program, parametrised by
        name (assign it to a module-level `test_program`)."""
        @pytest.mark.parametrize("name", self.params())
        def test_program(name):
            fn, tol, _ = self[name]
            check(fn, tol)
        return test_program


def log_outcome(log, fn):
    """Runs fn, logging the class and message of what it raised (or what it returned): a
    program that goes on after an error."""
    try:
        out = fn()
    except Exception as e:
        log("raised", type(e).__name__, str(e))
    else:
        log("ran", out)


@contextlib.contextmanager
def always_warn(torch):
    """Every warning each time (torch's once-a-process ones too, as sparse CSR's 'beta state'),
    so that what a program sees does not hang on what ran before it in the process."""
    old = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        yield
    finally:
        torch.set_warn_always(old)
