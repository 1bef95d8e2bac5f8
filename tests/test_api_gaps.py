"""Public torch functions ember lacked (found by comparing dir(torch) with dir(ember)), each
against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


# ---- torch.from_file -------------------------------------------------------------------------
@pytest.mark.parametrize("args,kw", [((), dict(size=10)), ((), dict(size=4, dtype="float64")),
                                     ((False, 3), dict(dtype="int32")), ((), {}),
                                     ((None, 2), dict(dtype="bool", requires_grad=False)),
                                     ((), dict(size=2, requires_grad=True)),
                                     ((), dict(size=11)), ((), dict(size=-1)),
                                     ((), dict(size=2.0))])
def test_from_file_matches_torch(tmp_path, args, kw):
    path = str(tmp_path / "data.bin")
    np.arange(10, dtype=np.float32).tofile(path)
    res = []
    for L in (ember, torch):
        k = {n: getattr(L, v) if n == "dtype" else v for n, v in kw.items()}
        try:
            res.append(L.from_file(path, *args, **k))
        except (RuntimeError, TypeError) as e:
            res.append((type(e), str(e)))
    if isinstance(res[1], tuple):
        assert res[0] == res[1]
    else:
        assert_close(res[0], res[1])
        assert res[0].requires_grad == res[1].requires_grad


@pytest.mark.parametrize("shared", [True, False])
def test_from_file_sharing_matches_torch(tmp_path, shared):
    """shared=True writes through to the file (creating or extending it); otherwise the
    mapping is private and a missing file is an error."""
    seen = []
    for L in (ember, torch):
        path = str(tmp_path / f"{L.__name__}.bin")
        np.arange(3, dtype=np.float32).tofile(path)
        t = L.from_file(path, shared, 3)
        t[0] = 42
        seen.append((np.fromfile(path, np.float32).tolist(), t.tolist()))
        try:
            seen.append(L.from_file(str(tmp_path / f"new_{L.__name__}.bin"), shared, 2).tolist())
        except RuntimeError as e:
            seen.append(str(e).replace(L.__name__, ""))
    assert seen[:2] == seen[2:]
