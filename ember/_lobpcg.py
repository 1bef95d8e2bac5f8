"""torch.lobpcg: Locally Optimal Block Preconditioned Conjugate Gradient, a port of torch's
pure-Python torch/_lobpcg.py onto ember's ops, step for step, so that with the same seed (X is
drawn with randn when not given) the iterates are the ones torch computes.

Finds the k largest (or smallest) eigenpairs of the symmetric generalized problem A X = B X E.
Methods: "basic" (Rayleigh-Ritz on [X, P, W] with a Cholesky transform) and "ortho" (the
default: [X, P, W] B-orthonormalised by repeated SVQB, [DuerschEtal2018]). A dense A that
requires grad is differentiated through the eigenpairs (LOBPCGAutogradFunction): the complete
eigenspace formula, or for k < m the Sylvester-equation solution of the partial eigenspace
(Hu and Cheng, 2006), as torch does; B != I has no backward."""
import ember

__all__ = ["lobpcg"]


def _matmul(A, B):
    """A @ B with A None meaning the identity and A possibly sparse COO."""
    if A is None:
        return B
    if A.layout == ember.sparse_coo:
        return ember.sparse.mm(A, B)
    return ember.matmul(A, B)


def _qform(A, S):
    return _matmul(S.mT, _matmul(A, S))


def _symeig(A, largest=False):
    E, Z = ember.linalg.eigh(A, UPLO="U")
    if largest:
        E, Z = ember.flip(E, dims=(-1,)), ember.flip(Z, dims=(-1,))
    return E, Z


# ---- backward --------------------------------------------------------------------------------
def _symeig_backward_complete_eigenspace(D_grad, U_grad, A, D, U):
    # F_ij = 1 / (d_j - d_i) off the diagonal, 0 on it;
    # A.grad = U (diag(D.grad) + U^T U.grad * F) U^T
    F = D.unsqueeze(-2) - D.unsqueeze(-1)
    F.diagonal(dim1=-2, dim2=-1).fill_(float("inf"))
    F.pow_(-1)
    Ut = U.mT.contiguous()
    return ember.matmul(U, ember.matmul(ember.diag_embed(D_grad) + ember.matmul(Ut, U_grad) * F,
                                        Ut))


def _polynomial_coefficients_given_roots(roots):
    """(a_0, ..., a_n = 1) of prod_i (x - r_i), by Horner's rule on out-of-place copies."""
    order = roots.shape[-1]
    shape = list(roots.shape)
    shape[-1] += 2          # one extra coefficient, so each step is one vectorised update
    coeffs = roots.new_zeros(shape)
    coeffs[..., 0] = 1
    coeffs[..., -1] = 1
    for i in range(1, order + 1):
        new = coeffs.clone() if roots.requires_grad else coeffs
        out = new.narrow(-1, order - i, i + 1)
        out -= roots.narrow(-1, i - 1, 1) * coeffs.narrow(-1, order - i + 1, i + 1)
        coeffs = new
    return coeffs.narrow(-1, 1, order + 1)


def _polynomial_value(poly, x, zero_power, transition):
    res = zero_power.clone()
    for k in range(poly.size(-1) - 2, -1, -1):
        res = transition(res, x, poly[..., k])
    return res


def _matrix_polynomial_value(poly, x):
    def transition(val, x, coeff):
        res = x.matmul(val)
        res.diagonal(dim1=-2, dim2=-1).add_(coeff.unsqueeze(-1))
        return res
    eye = ember.eye(x.size(-1), x.size(-1), dtype=x.dtype, device=x.device)
    return _polynomial_value(poly, x, eye.view(*([1] * (x.dim() - 2)), *eye.shape), transition)


def _vector_polynomial_value(poly, x):
    def transition(val, x, coeff):
        return ember.addcmul(coeff.unsqueeze(-1), x, val)
    return _polynomial_value(poly, x, x.new_ones(1).expand(x.shape), transition)


def _symeig_backward_partial_eigenspace(D_grad, U_grad, A, D, U, largest):
    Ut = U.mT.contiguous()
    proj_U_ortho = -U.matmul(Ut)                        # I - U U^T
    proj_U_ortho.diagonal(dim1=-2, dim2=-1).add_(1)
    gen = ember.Generator(A.device)                     # a fixed seed, as torch's
    U_ortho = proj_U_ortho.matmul(ember.randn((*A.shape[:-1], A.size(-1) - D.size(-1)),
                                              dtype=A.dtype, device=A.device, generator=gen))
    U_ortho_t = U_ortho.mT.contiguous()
    # D's characteristic polynomial: the Sylvester equation
    # U_ortho^T A U_ortho dX - dX D = -U_ortho^T A U has an explicit polynomial solution
    chr_poly_D = _polynomial_coefficients_given_roots(D)
    U_grad_projected = U_grad
    series_acc = U_grad_projected.new_zeros(U_grad_projected.shape)
    for k in range(1, chr_poly_D.size(-1)):
        poly_D = _vector_polynomial_value(chr_poly_D[..., k:], D)
        series_acc += U_grad_projected * poly_D.unsqueeze(-2)
        U_grad_projected = A.matmul(U_grad_projected)
    chr_poly_D_at_A = _matrix_polynomial_value(chr_poly_D, A)
    restricted = ember.matmul(U_ortho_t, ember.matmul(chr_poly_D_at_A, U_ortho))
    # positive definite unless largest with an odd k (distinct eigenvalues assumed)
    sign = -1 if (largest and (k % 2 == 1)) else +1
    L = ember.linalg.cholesky(sign * restricted)
    res = _symeig_backward_complete_eigenspace(D_grad, U_grad, A, D, U)
    res -= U_ortho.matmul(sign * ember.cholesky_solve(U_ortho_t.matmul(series_acc), L)).matmul(Ut)
    return res


def _symeig_backward(D_grad, U_grad, A, D, U, largest):
    if U.size(-1) == U.size(-2):
        return _symeig_backward_complete_eigenspace(D_grad, U_grad, A, D, U)
    return _symeig_backward_partial_eigenspace(D_grad, U_grad, A, D, U, largest)


class LOBPCGAutogradFunction(ember.autograd.Function):
    @staticmethod
    def forward(ctx, A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None,
                largest=None, method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
                ortho_bparams=None):
        A = A.contiguous() if not A.is_sparse else A
        if B is not None:
            B = B.contiguous() if not B.is_sparse else B
        D, U = _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                       ortho_fparams, ortho_bparams)
        ctx.save_for_backward(A, B, D, U)
        ctx.largest = largest
        return D, U

    @staticmethod
    def backward(ctx, D_grad, U_grad):
        A, B, D, U = ctx.saved_tensors
        if A.is_sparse or (B is not None and B.is_sparse and ctx.needs_input_grad[2]):
            raise ValueError("lobpcg.backward does not support sparse input yet. "
                             "Note that lobpcg.forward does though.")
        if A.is_complex() or (B is not None and B.is_complex()):
            raise ValueError("lobpcg.backward does not support complex input yet. "
                             "Note that lobpcg.forward does though.")
        if B is not None:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        largest = True if ctx.largest is None else ctx.largest
        return (_symeig_backward(D_grad, U_grad, A, D, U, largest),) + (None,) * 13


# ---- forward ---------------------------------------------------------------------------------
def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """torch.lobpcg: (E (*, k), X (*, m, k)), the k largest (largest=None or True) or smallest
    eigenpairs of A X = B X E for symmetric A and positive definite B (None: the identity).
    X: the initial (*, m, n) guess (default randn), n its width (default k); iK a
    preconditioner; niter (default 1000) and tol (default sqrt of the dtype's eps) stop the
    iteration; tracker(worker) is called after every step."""
    if A.requires_grad or (B is not None and B.requires_grad):
        # A's gradient is made symmetric, so that a step A - lr * A.grad stays symmetric
        A_sym = (A + A.mT) / 2
        B_sym = (B + B.mT) / 2 if B is not None else None
        return LOBPCGAutogradFunction.apply(A_sym, k, B_sym, X, n, iK, niter, tol, largest,
                                            method, tracker, ortho_iparams, ortho_fparams,
                                            ortho_bparams)
    return _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                   ortho_fparams, ortho_bparams)


def _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
            ortho_fparams, ortho_bparams):
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and A.shape != B.shape:
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    dtype = A.dtype if A.dtype in (ember.float16, ember.float32, ember.float64) \
        else ember.float32
    device = A.device
    if tol is None:
        tol = {ember.float32: 1.2e-07, ember.float64: 2.23e-16}[dtype] ** 0.5
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) "
                         f"is smaller than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})
        iparams.setdefault("ortho_i_max", 3)
        iparams.setdefault("ortho_j_max", 3)
        for key in ("ortho_tol", "ortho_tol_drop", "ortho_tol_replace"):
            fparams.setdefault(key, tol)
        bparams.setdefault("ortho_use_drop", False)

    def solve(A_, B_, X_):
        X_ = ember.randn((m, n), dtype=dtype, device=device) if X_ is None else X_
        if not (X_.dim() == 2 and tuple(X_.shape) == (m, n)):
            raise AssertionError(f"X shape mismatch: got {X_.shape}, expected {(m, n)}")
        worker = LOBPCG(A_, B_, X_, iK, iparams, fparams, bparams, method, tracker)
        worker.run()
        return worker.E[:k], worker.X[:, :k]

    if A.dim() == 2:
        return solve(A, B, X)
    N = 1
    for s in A.shape[:-2]:
        N *= s
    bA = A.reshape((N,) + A.shape[-2:])
    bB = B.reshape((N,) + A.shape[-2:]) if B is not None else None
    bX = X.reshape((N,) + X.shape[-2:]) if X is not None else None
    bE = ember.empty((N, k), dtype=dtype, device=device)
    bXret = ember.empty((N, m, k), dtype=dtype, device=device)
    for i in range(N):
        iparams["batch_index"] = i
        bE[i], bXret[i] = solve(bA[i], None if bB is None else bB[i],
                                None if bX is None else bX[i])
    return bE.reshape(A.shape[:-2] + (k,)), bXret.reshape(A.shape[:-2] + (m, k))


class LOBPCG:
    """The iteration state (torch.lobpcg's worker, which a tracker receives): iparams, fparams,
    bparams hold the settings; ivars, fvars, bvars, tvars the running values."""

    def __init__(self, A, B, X, iK, iparams, fparams, bparams, method, tracker):
        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.method, self.tracker = method, tracker
        m, n = iparams["m"], iparams["n"]
        self.X = X
        self.E = ember.zeros((n,), dtype=X.dtype, device=X.device)
        self.R = ember.zeros((m, n), dtype=X.dtype, device=X.device)
        self.S = ember.zeros((m, 3 * n), dtype=X.dtype, device=X.device)
        self.tvars = {}
        self.ivars = {"istep": 0}
        self.fvars = {"_": 0.0}
        self.bvars = {"_": False}

    def __str__(self):
        names = ("iparams", "fparams", "bparams", "ivars", "fvars", "bvars", "tvars")
        lines = ["LOBPCG:"] + [f"  {a}={getattr(self, a)}" for a in names]
        lines += [f"  {a}={getattr(self, a)}" for a in ("A", "B", "iK", "X", "E")]
        return "".join(line + "\n" for line in lines)

    def update(self):
        """Set and update iteration variables."""
        if self.ivars["istep"] == 0:
            X_norm = float(ember.norm(self.X))
            iX_norm = X_norm ** -1
            self.fvars["X_norm"] = X_norm
            self.fvars["A_norm"] = float(ember.norm(_matmul(self.A, self.X))) * iX_norm
            self.fvars["B_norm"] = float(ember.norm(_matmul(self.B, self.X))) * iX_norm
            self.ivars["iterations_left"] = self.iparams["niter"]
            self.ivars["converged_count"] = 0
            self.ivars["converged_end"] = 0
        if self.method == "ortho":
            self._update_ortho()
        else:
            self._update_basic()
        self.ivars["iterations_left"] -= 1
        self.ivars["istep"] += 1

    def update_residual(self):
        """Update residual R from A, B, X, E."""
        self.R = _matmul(self.A, self.X) - _matmul(self.B, self.X) * self.E

    def update_converged_count(self):
        """The number of leading eigenpairs whose backward-stable relative residual is below
        tol (Sec 4.3 of [DuerschEtal2018])."""
        prev_count = self.ivars["converged_count"]
        E, X, R = self.E, self.X, self.R
        rerr = ember.norm(R, 2, (0,)) / (ember.norm(X, 2, (0,)) * (
            self.fvars["A_norm"] + ember.abs(E[:X.shape[-1]]) * self.fvars["B_norm"]))
        count = 0
        for b in (rerr < self.fparams["tol"]).tolist():
            if not b:           # later pairs wait, to keep the eigenpairs strictly ordered
                break
            count += 1
        if count < prev_count:
            raise AssertionError(f"the number of converged eigenpairs (was {prev_count}, got "
                                 f"{count}) cannot decrease")
        self.ivars["converged_count"] = count
        self.tvars["rerr"] = rerr
        return count

    def stop_iteration(self):
        """True to stop: a tracker may force it with worker.bvars['force_stop'] = True."""
        return (self.bvars.get("force_stop", False) or self.ivars["iterations_left"] == 0
                or self.ivars["converged_count"] >= self.iparams["k"])

    def run(self):
        """Run LOBPCG iterations."""
        self.update()
        if self.tracker is not None:
            self.tracker(self)
        while not self.stop_iteration():
            self.update()
            if self.tracker is not None:
                self.tracker(self)

    def _update_basic(self):
        mm = ember.matmul
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            E, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X[:] = mm(self.X, mm(Ri, Z))
            self.E[:] = E
            np_ = 0
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            W = _matmul(self.iK, self.R)
        else:
            S_ = self.S[:, nc:ns]
            Ri = self._get_rayleigh_ritz_transform(S_)
            E_, Z = _symeig(_qform(_qform(self.A, S_), Ri), largest)
            self.X[:, nc:] = mm(S_, mm(Ri, Z[:, :n - nc]))
            self.E[nc:] = E_[:n - nc]
            P = mm(S_, mm(Ri, Z[:, n:2 * n - nc]))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[..., :n] = self.X
            self.S[:, n:n + np_] = P
            W = _matmul(self.iK, self.R[:, nc:])
        self.ivars["converged_end"] = ns = n + np_ + W.shape[-1]
        self.S[:, n + np_:ns] = W

    def _update_ortho(self):
        mm = ember.matmul
        ns, nc = self.ivars["converged_end"], self.ivars["converged_count"]
        n, largest = self.iparams["n"], self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._get_rayleigh_ritz_transform(self.X)
            _, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X = mm(self.X, mm(Ri, Z))
            self.update_residual()
            np_ = 0
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            W = self._get_ortho(self.R, self.X)
        else:
            S_ = self.S[:, nc:ns]
            E_, Z = _symeig(_qform(self.A, S_), largest)       # Rayleigh-Ritz
            self.X[:, nc:] = mm(S_, Z[:, :n - nc])
            self.E[nc:] = E_[:n - nc]
            P = mm(S_, mm(Z[:, n - nc:], ember.linalg.qr(Z[:n - nc, n - nc:].mT).Q))
            np_ = P.shape[-1]
            self.update_residual()
            nc = self.update_converged_count()
            self.S[:, :n] = self.X
            self.S[:, n:n + np_] = P
            W = self._get_ortho(self.R[:, nc:], self.S[:, :n + np_])
        ns = self.ivars["converged_end"] = n + np_ + W.shape[-1]
        self.S[:, n + np_:ns] = W

    def _get_rayleigh_ritz_transform(self, S):
        """Upper-triangular Ri reducing (S^T A S) C = (S^T B S) C E to the standard problem
        (Ri^T S^T A S Ri) Z = Z E, C = Ri Z: with d = diag(S^T B S)^-1/2,
        R^T R = cholesky(d d^T * S^T B S) and Ri = R^-1 * d."""
        SBS = _qform(self.B, S)
        d_row = SBS.diagonal(0, -2, -1) ** -0.5
        d_col = d_row.reshape(d_row.shape[0], 1)
        R = ember.linalg.cholesky((SBS * d_row) * d_col, upper=True)
        return ember.linalg.solve_triangular(R, d_row.diag_embed(), upper=True, left=False)

    def _get_svqb(self, U, drop, tau):
        """B-orthonormal columns spanning U's (Algorithm 4 of [DuerschPhD2015]); with `drop`,
        columns contributing less than tau are dropped. Exactly zero columns are always
        dropped (d ** -0.5 would fail on them)."""
        if U.numel() == 0:
            return U
        UBU = _qform(self.B, U)
        d = UBU.diagonal(0, -2, -1)
        nz = ember.where(abs(d) != 0.0)[0]
        if len(nz) < len(d):
            U = U[:, nz]
            if U.numel() == 0:
                return U
            UBU = _qform(self.B, U)
            d = UBU.diagonal(0, -2, -1)
        d_col = (d ** -0.5).reshape(d.shape[0], 1)
        E, Z = _symeig((UBU * d_col) * d_col.mT)
        t = tau * abs(E).max()
        if drop:
            keep = ember.where(E > t)[0]
            E, Z, d_col = E[keep], Z[:, keep], d_col[keep]
        else:
            E[ember.where(E < t)[0]] = t
        return ember.matmul(U * d_col.mT, Z * E ** -0.5)

    def _get_ortho(self, U, V):
        """B-orthonormal U whose columns are B-orthogonal to V (Algorithm 3 of
        [DuerschPhD2015]; Algorithm 6 with bparams['ortho_use_drop']). Empty when all of U's
        columns are B-collinear to V."""
        mm = ember.matmul
        m = self.iparams["m"]
        tau_ortho, tau_drop, tau_replace = (self.fparams[key] for key in (
            "ortho_tol", "ortho_tol_drop", "ortho_tol_replace"))
        i_max, j_max = self.iparams["ortho_i_max"], self.iparams["ortho_j_max"]
        use_drop = self.bparams["ortho_use_drop"]
        for vkey in list(self.fvars):       # the previous call's
            if vkey.startswith("ortho_") and vkey.endswith("_rerr"):
                self.fvars.pop(vkey)
        self.ivars.pop("ortho_i", 0)
        self.ivars.pop("ortho_j", 0)
        BV_norm = ember.norm(_matmul(self.B, V))
        BU = _matmul(self.B, U)
        VBU = mm(V.mT, BU)
        i = j = 0
        for i in range(i_max):
            U = U - mm(V, VBU)
            drop = False
            tau_svqb = tau_drop
            for j in range(j_max):
                if use_drop:
                    U = self._get_svqb(U, drop, tau_svqb)
                    drop = True
                    tau_svqb = tau_replace
                else:
                    U = self._get_svqb(U, False, tau_replace)
                if U.numel() == 0:
                    self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
                    return U
                BU = _matmul(self.B, U)
                UBU = mm(U.mT, BU)
                U_norm, BU_norm = ember.norm(U), ember.norm(BU)
                R = UBU - ember.eye(UBU.shape[-1], device=UBU.device, dtype=UBU.dtype)
                rerr = float(ember.norm(R)) * float(BU_norm * U_norm) ** -1
                self.fvars[f"ortho_UBUmI_rerr[{i}, {j}]"] = rerr
                if rerr < tau_ortho:
                    break
            VBU = mm(V.mT, BU)
            rerr = float(ember.norm(VBU)) * float(BV_norm * ember.norm(U)) ** -1
            self.fvars[f"ortho_VBU_rerr[{i}]"] = rerr
            if rerr < tau_ortho:
                break
            if m < U.shape[-1] + V.shape[-1]:
                B = self.B
                if B is None:
                    raise AssertionError("B must not be None")
                raise ValueError(f"Overdetermined shape of U: #B-cols(={B.shape[-1]}) >= "
                                 f"#U-cols(={U.shape[-1]}) + #V-cols(={V.shape[-1]}) must hold")
        self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
        return U
