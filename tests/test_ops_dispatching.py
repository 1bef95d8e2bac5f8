"""The op table with ember's __torch_function__ dispatchers installed, as in a process where a
class defines __torch_function__ (or during torch.func.vmap): every function and Tensor method
then runs through its dispatcher. The rest of the suite runs without them, as most programs
do (real torch imported beside ember no longer installs them), so this file keeps the
dispatching path checked op by op: forward values, dtypes, shapes and gradients against
torch."""
import pytest

import ember._torch_function as tf
import test_ops


@pytest.fixture(autouse=True, scope="module")
def _dispatching():
    tf.hold()           # (released after this file: the next files run as before)
    assert tf._ENABLED[0]
    yield
    tf.release()


@pytest.mark.parametrize("spec", test_ops.SPECS, ids=lambda s: s.name)
def test_matches_torch_through_dispatchers(spec):
    assert tf._ENABLED[0]
    dtype = "float32" if "float32" in spec.dtypes else spec.dtypes[0]
    test_ops.test_matches_torch(spec, dtype, "cpu")
