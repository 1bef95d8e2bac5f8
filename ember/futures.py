"""torch.futures: Future, a result that another thread (or a callback) completes later, with
`then` chaining and `collect_all` / `wait_all`. torch.jit.fork returns one."""
import sys
import threading
import traceback
import types

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    """set_result / set_exception complete it once; wait() blocks until then and returns the
    result or raises the error; callbacks run when it completes (at once if it has).
    Future[T] is a generic alias, for annotations."""
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, *, devices=None):
        self._cond = threading.Condition()
        self._done, self._result, self._error, self._callbacks = False, None, None, []

    def done(self):
        return self._done

    def wait(self):
        with self._cond:
            self._cond.wait_for(lambda: self._done)
        if self._error is not None:
            raise self._error
        return self._result

    def value(self):
        if not self._done:
            raise RuntimeError("Future.value() was called on a Future that is not completed "
                               "yet; call wait() to block until it is")
        return self.wait()

    def set_result(self, result):
        self._complete(result, None)

    def set_exception(self, result):
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception expects an Exception, got {type(result).__name__}")
        self._complete(None, result)

    def _complete(self, result, error):
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. "
                                   "Note that a Future can only be marked completed once.")
            self._done, self._result, self._error = True, result, error
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for callback in callbacks:
            callback(self)

    def add_done_callback(self, callback):
        """callback(self) once complete; an error it raises is reported on stderr, as torch's."""
        def run(fut):
            try:
                callback(fut)
            except Exception as e:
                print(f"Got the following error when running the callback: {_describe(e)}",
                      file=sys.stderr)
        self._on_done(run)

    def then(self, callback):
        """A new Future holding callback(self)'s result, or the error it raised."""
        out = Future()

        def run(fut):
            try:
                value = callback(fut)
            except Exception as e:
                error = RuntimeError(f"Got the following error when running the callback: "
                                     f"{_describe(e)}")
                error.__cause__ = e
                out.set_exception(error)
            else:
                out.set_result(value)
        self._on_done(run)
        return out

    def _on_done(self, run):
        with self._cond:
            if not self._done:
                self._callbacks.append(run)
                return
        run(self)


def _describe(e):
    return f"{type(e).__name__}: {e}\n\nAt:\n" + "".join(traceback.format_tb(e.__traceback__))


def collect_all(futures):
    """A Future completed, with the list of `futures`, once all of them are; it holds the
    first error among them if any fails."""
    out, futures = Future(), list(futures)
    remaining, settled = [len(futures)], [False]
    lock = threading.Lock()

    def one_done(fut):
        with lock:
            remaining[0] -= 1
            if settled[0] or (fut._error is None and remaining[0]):
                return
            settled[0] = True
        if fut._error is not None:
            out.set_exception(fut._error)
        else:
            out.set_result(futures)
    if not futures:
        out.set_result(futures)
    for fut in futures:
        fut._on_done(one_done)
    return out


def wait_all(futures):
    """The values of all `futures`, waiting for each; raises the first error."""
    return [fut.wait() for fut in collect_all(futures).wait()]
