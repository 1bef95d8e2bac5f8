"""torch.special's Bessel functions, Airy's Ai, zeta and the helpers of its orthogonal
polynomials (ember/special.py), as torch's CPU kernels compute them."""
import numpy as np

from ._fma import fma, fma64

# Kernels on flat arrays of one float dtype, computed in that dtype (as torch's CPU kernels do)
# by the same steps as torch's ports of the Cephes Math Library (Stephen L. Moshier, BSD
# licence), with Cephes' coefficients. Where torch departs from Cephes its values are kept:
# Cephes' monic denominators (p1evl) lose their leading 1 in torch, so _horner gets no 1.
class Libm:
    """`xp` with C's rounding of the functions below, and fma. torch's CPU kernels call glibc,
    whose results are correctly rounded in nearly all cases; NumPy's own float32 loops (and its
    float64 exp and arccos) can be an ulp off, which recurrences and cancellations amplify, so
    those compute in a wider dtype and round once. torch's kernels are also compiled with
    contraction: `a * b + c` in them is often one fused multiply-add."""

    def __init__(self, xp):
        self.xp = xp

    def __getattr__(self, name):
        return getattr(self.xp, name)

    def fma(self, a, b, c):
        """a * b + c rounded once (ops/_fma.py)."""
        xp = self.xp
        if a.dtype == np.float32:
            a, b, c = (xp.asarray(v, dtype=np.float32) for v in (a, b, c))
            return fma(xp, a, b, c, a.dtype)
        return fma64(xp, a, b, c)


def _rounded(name, float64_too):
    def f(self, x, *more):
        xp = self.xp
        wide = np.float64 if x.dtype == np.float32 else \
            np.longdouble if float64_too and xp is np else None
        if wide is None:
            return getattr(xp, name)(x, *more)
        return getattr(xp, name)(x.astype(wide), *(a.astype(wide) for a in more)).astype(x.dtype)
    return f


for _n, _f64 in (("sin", False), ("cos", False), ("log", False), ("power", True), ("exp", True),
                 ("arccos", True)):
    setattr(Libm, _n, _rounded(_n, _f64))


def _horner(xp, z, c):
    """c[0] z^(k-1) + ... + c[k-1]."""
    r = xp.fma(z, c[0], c[1])
    for ci in c[2:]:
        r = xp.fma(r, z, ci)
    return r


def _chbevl(xp, y, c):
    """Clenshaw's sum of the Chebyshev series c at y (Cephes' chbevl)."""
    q, a = 0.0, c[0]
    for ci in c[1:]:
        p, q = q, a
        a = xp.fma(y, q, -p) + ci
    return 0.5 * (a - p)


def iterate(xp, live, step, *state):
    """torch's per-element loops on whole arrays: `state = step(i, *state)` for i = 0, 1, ...
    while `live(i, *state)` holds for an element; finished elements keep their values. The
    state's 1-D arrays are compacted as elements finish."""
    out = [s.copy() for s in state]
    idx = xp.arange(state[0].size)
    i = 0
    while True:
        ok = live(i, *state)
        if not bool(ok.all()):
            gone = idx[~ok]
            for o, s in zip(out, state):
                o[gone] = s[~ok]
            idx, state = idx[ok], [s[ok] for s in state]
        if not idx.size:
            return out
        state = step(i, *state)
        i += 1


_SQ2OPI, _TWOOPI = 0.797884560802865355879892119868763737, 0.636619772367581343075535053490057448
_PIO4, _3PIO4 = 0.785398163397448309615660845819875721, 2.356194490192344928846982537459627163
# J0/Y0 and J1/Y1 for x > 5: P(25/x^2) cos(xn) - 5/x Q(25/x^2) sin(xn) (Hankel's expansion)
_J0_PQ = ((7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00,
           5.44725003058768775090e+00, 8.74716500199817011941e+00, 5.30324038235394892183e+00,
           9.99999999999999997821e-01),
          (9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00,
           5.47097740330417105182e+00, 8.76190883237069594232e+00, 5.30605288235394617618e+00,
           1.00000000000000000218e+00),
          (-1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
           -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
           -5.14105326766599330220e+01, -6.05014350600728481186e+00),
          (6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03,
           7.24046774195652478189e+03, 5.93072701187316984827e+03, 2.06209331660327847417e+03,
           2.42005740240291393179e+02))
_J1_PQ = ((7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00,
           5.11207951146807644818e+00, 8.42404590141772420927e+00, 5.21451598682361504063e+00,
           1.00000000000000000254e+00),
          (5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00,
           5.07386386128601488557e+00, 8.39985554327604159757e+00, 5.20982848682361821619e+00,
           9.99999999999999997461e-01),
          (5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01,
           3.66779609360150777800e+02, 7.10856304998926107277e+02, 5.97489612400613639965e+02,
           2.11688757100572135698e+02, 2.52070205858023719784e+01),
          (7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03,
           9.56231892404756170795e+03, 7.99704160447350683650e+03, 2.82619278517639096600e+03,
           3.36093607810698293419e+02))
# x <= 5: rational functions of x^2
_J0_R = ((-4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14,
          9.70862251047306323952e+15),
         (4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07,
          1.11855537045356834862e+10, 2.11277520115489217587e+12, 3.10518229857422583814e+14,
          3.18121955943204943306e+16, 1.71086294081043136091e+18))
_J1_R = ((-8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13,
          3.68295732863852883286e+15),
         (6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07,
          2.21511595479792499675e+10, 4.74914122079991414898e+12, 7.84369607876235854894e+14,
          8.95222336184627338078e+16, 5.32278620332680085395e+18))
_Y0_R = ((1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09,
          -9.82136065717911466409e+11, 8.75906394395366999549e+13, -3.46628303384729719441e+15,
          4.42733268572569800351e+16, -1.84950800436986690637e+16),
         (1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08,
          8.64002487103935000337e+10, 2.02979612750105546709e+13, 3.17157752842975028269e+15,
          2.50596256172653059228e+17))
_Y1_R = ((1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14,
          -8.12770255501325109621e+15, 2.02439475713594898196e+17, -7.78877196265950026825e+17),
         (5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07,
          1.87601316108706159478e+10, 3.88231277496238566008e+12, 6.20557727146953693363e+14,
          6.87141087355300489866e+16, 3.97270608116560655612e+18))


def _hankel(xp, x, w, tables, phase, first_kind):
    pp, pq, qp, qq = tables
    p = _horner(xp, w, pp) / _horner(xp, w, pq)
    q = 5.0 / x * (_horner(xp, w, qp) / _horner(xp, w, qq))
    xn = x - phase
    if first_kind:
        r = xp.fma(p, xp.cos(xn), -(q * xp.sin(xn)))
    else:
        r = xp.fma(p, xp.sin(xn), q * xp.cos(xn))
    return r * _SQ2OPI / xp.sqrt(x)


def bessel_j0(xp, x):
    x = xp.abs(x)
    z = x * x
    small = (z - 5.78318596294678452118e+00) * (z - 3.04712623436620863991e+01) \
        * _horner(xp, z, _J0_R[0]) / _horner(xp, z, _J0_R[1])
    small = xp.where(x < 1e-5, 1.0 - z / 4.0, small)
    return xp.where(x <= 5.0, small, _hankel(xp, x, 25.0 / z, _J0_PQ, _PIO4, True))


def _j1_positive(xp, x):
    z = x * x
    small = _horner(xp, z, _J1_R[0]) / _horner(xp, z, _J1_R[1]) * x \
        * (z - 1.46819706421238932572e+01) * (z - 4.92184563216946036703e+01)
    w = 5.0 / x * (5.0 / x)
    return xp.where(x <= 5.0, small, _hankel(xp, x, w, _J1_PQ, _3PIO4, True))


def bessel_j1(xp, x):
    r = _j1_positive(xp, xp.where(x < 0, -x, x))        # j1(-0.0) = -0.0
    return xp.where(x < 0, -r, r)


def _y_small(xp, x, y):
    """Y0/Y1 below 5: -inf at 0, NaN below."""
    return xp.where(x == 0, -np.inf, xp.where(x < 0, np.nan, y))


def bessel_y0(xp, x):
    z = x * x
    small = xp.fma(_TWOOPI * xp.log(x), bessel_j0(xp, x),
                   _horner(xp, z, _Y0_R[0]) / _horner(xp, z, _Y0_R[1]))
    return xp.where(x <= 5.0, _y_small(xp, x, small),
                    _hankel(xp, x, 25.0 / z, _J0_PQ, _PIO4, False))


def bessel_y1(xp, x):
    z = x * x
    small = xp.fma(x, _horner(xp, z, _Y1_R[0]) / _horner(xp, z, _Y1_R[1]),
                   _TWOOPI * xp.fma(_j1_positive(xp, x), xp.log(x), -(1.0 / x)))
    w = 5.0 / x * (5.0 / x)
    return xp.where(x <= 5.0, _y_small(xp, x, small), _hankel(xp, x, w, _J1_PQ, _3PIO4, False))


# modified Bessel functions: Chebyshev series in x/2 - 2 (|x| <= 8) and 32/x - 2 (above) for I,
# in x^2 - 2 (x <= 2) and 8/x - 2 (above) for K
_I0_AB = ((-4.41534164647933937950e-18, 3.33079451882223809783e-17, -2.43127984654795469359e-16,
           1.71539128555513303061e-15, -1.16853328779934516808e-14, 7.67618549860493561688e-14,
           -4.85644678311192946090e-13, 2.95505266312963983461e-12, -1.72682629144155570723e-11,
           9.67580903537323691224e-11, -5.18979560163526290666e-10, 2.65982372468238665035e-09,
           -1.30002500998624804212e-08, 6.04699502254191894932e-08, -2.67079385394061173391e-07,
           1.11738753912010371815e-06, -4.41673835845875056359e-06, 1.64484480707288970893e-05,
           -5.75419501008210370398e-05, 1.88502885095841655729e-04, -5.76375574538582365885e-04,
           1.63947561694133579842e-03, -4.32430999505057594430e-03, 1.05464603945949983183e-02,
           -2.37374148058994688156e-02, 4.93052842396707084878e-02, -9.49010970480476444210e-02,
           1.71620901522208775349e-01, -3.04682672343198398683e-01, 6.76795274409476084995e-01),
          (-7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17,
           3.46122286769746109310e-17, -2.82762398051658348494e-16, -3.42548561967721913462e-16,
           1.77256013305652638360e-15, 3.81168066935262242075e-15, -9.55484669882830764870e-15,
           -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
           7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11,
           -3.14991652796324136454e-11, 1.18891471078464383424e-11, 4.94060238822496958910e-10,
           3.39623202570838634515e-09, 2.26666899049817806459e-08, 2.04891858946906374183e-07,
           2.89137052083475648297e-06, 6.88975834691682398426e-05, 3.36911647825569408990e-03,
           8.04490411014108831608e-01))
_I1_AB = ((2.77791411276104639959e-18, -2.11142121435816608115e-17, 1.55363195773620046921e-16,
           -1.10559694773538630805e-15, 7.60068429473540693410e-15, -5.04218550472791168711e-14,
           3.22379336594557470981e-13, -1.98397439776494371520e-12, 1.17361862988909016308e-11,
           -6.66348972350202774223e-11, 3.62559028155211703701e-10, -1.88724975172282928790e-09,
           9.38153738649577178388e-09, -4.44505912879632808065e-08, 2.00329475355213526229e-07,
           -8.56872026469545474066e-07, 3.47025130813767847674e-06, -1.32731636560394358279e-05,
           4.78156510755005422638e-05, -1.61760815825896745588e-04, 5.12285956168575772895e-04,
           -1.51357245063125314899e-03, 4.15642294431288815669e-03, -1.05640848946261981558e-02,
           2.47264490306265168283e-02, -5.29459812080949914269e-02, 1.02643658689847095384e-01,
           -1.76416518357834055153e-01, 2.52587186443633654823e-01),
          (7.51729631084210481353e-18, 4.41434832307170791151e-18, -4.65030536848935832153e-17,
           -3.20952592199342395980e-17, 2.96262899764595013876e-16, 3.30820231092092828324e-16,
           -1.88035477551078244854e-15, -3.81440307243700780478e-15, 1.04202769841288027642e-14,
           4.27244001671195135429e-14, -2.10154184277266431302e-14, -4.08355111109219731823e-13,
           -7.19855177624590851209e-13, 2.03562854414708950722e-12, 1.41258074366137813316e-11,
           3.25260358301548823856e-11, -1.89749581235054123450e-11, -5.58974346219658380687e-10,
           -3.83538038596423702205e-09, -2.63146884688951950684e-08, -2.51223623787020892529e-07,
           -3.88256480887769039346e-06, -1.10588938762623716291e-04, -9.76109749136146840777e-03,
           7.78576235018280120474e-01))
_K0_AB = ((1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11,
           1.90451637722020886025e-09, 2.53479107902614945675e-07, 2.28621210311945178607e-05,
           1.26461541144692592338e-03, 3.59799365153615016266e-02, 3.44289899924628486886e-01,
           -5.35327393233902768720e-01),
          (5.30043377268626276149e-18, -1.64758043015242134646e-17, 5.21039150503902756861e-17,
           -1.67823109680541210385e-16, 5.51205597852431940784e-16, -1.84859337734377901440e-15,
           6.34007647740507060557e-15, -2.22751332699166985548e-14, 8.03289077536357521100e-14,
           -2.98009692317273043925e-13, 1.14034058820847496303e-12, -4.51459788337394416547e-12,
           1.85594911495471785253e-11, -7.95748924447710747776e-11, 3.57739728140030116597e-10,
           -1.69753450938905987466e-09, 8.57403401741422608519e-09, -4.66048989768794782956e-08,
           2.76681363944501510342e-07, -1.83175552271911948767e-06, 1.39498137188764993662e-05,
           -1.28495495816278026384e-04, 1.56988388573005337491e-03, -3.14481013119645005427e-02,
           2.44030308206595545468e+00))
_K1_AB = ((-7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13,
           -1.41148839263352776110e-10, -2.21338763073472585583e-08, -2.43340614156596823496e-06,
           -1.73028895751305206302e-04, -6.97572385963986435018e-03, -1.22611180822657148235e-01,
           -3.53155960776544875667e-01, 1.52530022733894777053e+00),
          (-5.75674448366501715755e-18, 1.79405087314755922667e-17, -5.68946255844285935196e-17,
           1.83809354436663880070e-16, -6.05704724837331885336e-16, 2.03870316562433424052e-15,
           -7.01983709041831346144e-15, 2.47715442448130437068e-14, -8.97670518232499435011e-14,
           3.34841966607842919884e-13, -1.28917396095102890680e-12, 5.13963967348173025100e-12,
           -2.12996783842756842877e-11, 9.21831518760500529508e-11, -4.19035475934189648750e-10,
           2.01504975519703286596e-09, -1.03457624656780970260e-08, 5.74108412545004946722e-08,
           -3.50196060308781257119e-07, 2.40648494783721712015e-06, -1.93619797416608296024e-05,
           1.95215518471351631108e-04, -2.85781685962277938680e-03, 1.03923736576817238437e-01,
           2.72062619048444266945e+00))


def _i_series(xp, ax, ab):
    """exp(-|x|) I(|x|) (times sqrt(|x|) above 8) and the branch mask, for I0 and I1."""
    small = ax <= 8.0
    return xp.where(small, _chbevl(xp, ax / 2.0 - 2.0, ab[0]),
                    _chbevl(xp, 32.0 / ax - 2.0, ab[1])), small


def modified_bessel_i0(xp, x):
    ax = xp.abs(x)
    c, small = _i_series(xp, ax, _I0_AB)
    return xp.where(small, xp.exp(ax) * c, xp.exp(ax) * c / xp.sqrt(ax))


def modified_bessel_i1(xp, x):
    ax = xp.abs(x)
    c, small = _i_series(xp, ax, _I1_AB)
    r = xp.where(small, c * ax * xp.exp(ax), xp.exp(ax) * c / xp.sqrt(ax))
    return xp.where(x < 0, -r, r)


def _k(xp, x, order, scaled):
    """K0 or K1 (times exp(x) if scaled): inf at 0, NaN below, Chebyshev series up to 2 and
    above."""
    inner, outer = (_K0_AB, _K1_AB)[order]
    c = _chbevl(xp, x * x - 2.0, inner)
    if order == 0:
        # torch's unscaled K0 takes log(0.5 * x) with a double 0.5: float32 goes float64 there
        w = x if scaled else x.astype(np.float64)
        below = xp.fma(-xp.log(0.5 * w), modified_bessel_i0(xp, x).astype(w.dtype),
                       c.astype(w.dtype)).astype(x.dtype)
    else:
        below = xp.fma(xp.log(0.5 * x), modified_bessel_i1(xp, x), c / x)
    c = _chbevl(xp, 8.0 / x - 2.0, outer)
    if scaled:
        below = below * xp.exp(x)
    else:
        c = xp.exp(-x) * c
    return xp.where(x == 0, np.inf, xp.where(x < 0, np.nan,
                                             xp.where(x <= 2.0, below, c / xp.sqrt(x))))


def modified_bessel_k0(xp, x):
    return _k(xp, x, 0, False)


def modified_bessel_k1(xp, x):
    return _k(xp, x, 1, False)


def scaled_modified_bessel_k0(xp, x):
    return _k(xp, x, 0, True)


def scaled_modified_bessel_k1(xp, x):
    return _k(xp, x, 1, True)


# Airy Ai: asymptotic rational approximations beyond +-2.09, the power series between
_AIRY_POS = ((3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01,
              1.68089224934630576269e+02, 1.59756391350164413639e+02, 7.05360906840444183113e+01,
              1.40264691163389668864e+01, 9.99999999999999995305e-01),
             (5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01,
              1.77318088145400459522e+02, 1.64234692871529701831e+02, 7.14778400825575695274e+01,
              1.40959135607834029598e+01, 1.00000000000000000470e+00))
_AIRY_NEG = ((-1.31696323418331795333e-01, -6.26456544431912369773e-01,
              -6.93158036036933542233e-01, -2.79779981545119124951e-01,
              -4.91900132609500318020e-02, -4.06265923594885404393e-03,
              -1.59276496239262096340e-04, -2.77649108155232920844e-06,
              -1.67787698489114633780e-08),
             (1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01,
              9.18707402907259625840e+00, 1.47529146771666414581e+00, 1.15687173795188044134e-01,
              4.40291641615211203805e-03, 7.54720348287414296618e-05, 4.51850092970580378464e-07),
             (1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00,
              9.39169229816650230044e-01, 3.51465656105547619242e-01, 6.33888919628925490927e-02,
              5.85804113048388458567e-03, 2.82851600836737019778e-04, 6.98793669997260967291e-06,
              8.11789239554389293311e-08, 3.41551784765923618484e-10),
             (9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01,
              5.47686069422975497931e+00, 9.54293611618961883998e-01, 8.64580826352392193095e-02,
              4.12656523824222607191e-03, 1.01259085116509135510e-04, 1.17166733214413521882e-06,
              4.91834570062930015649e-09))
_SQPII = 5.64189583547756286948e-01         # 1 / sqrt(pi)


def _airy_series(xp, x):
    """Ai by its Maclaurin series, term by term until the next term is below epsilon."""
    eps = float(np.finfo(x.dtype).eps)

    def step(i, z, m, n, f, g, t):
        k = 3.0 * i + 1.0
        m = m * z / (k + 1.0)
        n = n * z / (k + 2.0)
        m = m / (k + 2.0)
        n = n / (k + 3.0)
        f, g = f + m, g + n
        return z, m, n, f, g, xp.abs(m / f)

    one = xp.ones_like(x)
    _, _, _, f, g, _ = iterate(xp, lambda i, *s: s[-1] > eps, step, x * x * x, one, x, one, x,
                               one)
    return xp.fma(f, 0.355028053887817239260, -(0.258819403792806798405 * g))


def airy_ai(xp, x):
    s = xp.sqrt(xp.abs(x))
    zeta = 2.0 * x * s / 3.0
    w = 1.0 / zeta
    pos = _SQPII * (_horner(xp, w, _AIRY_POS[0]) / _horner(xp, w, _AIRY_POS[1])) \
        / (2.0 * xp.sqrt(s) * xp.exp(zeta))
    z = 1.0 / (-2.0 * x * s / 3.0)
    fn, fd, gn, gd = (_horner(xp, z * z, c) for c in _AIRY_NEG)
    t = -2.0 * x * s / 3.0 + 0.25 * np.pi
    neg = _SQPII / xp.sqrt(s) * xp.fma(xp.sin(t), 1.0 + z * z * fn / fd,
                                       -(xp.cos(t) * (z * gn / gd)))
    series = _airy_series(xp, xp.where((x < -2.09) | (x >= 2.09), 0.0, x))
    r = xp.where(x < -2.09, neg, xp.where(x >= 2.09, pos, series))
    return xp.where(xp.isinf(x), np.nan, xp.where(x > 103.892, 0.0, r))


def spherical_bessel_j0(xp, x):
    """sin(x) / x (0 at +-inf); a Taylor polynomial below 0.5 in magnitude."""
    one = x.dtype.type(1)
    z = x * x
    r = one / 6227020800
    for d in (-39916800, 362880, -5040, 120, -6):
        r = one / d + z * r
    r = 1.0 + z * r
    return xp.where(xp.isinf(x), 0.0, xp.where(xp.abs(x) < 0.5, r, xp.sin(x) / x))


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042e-16


def _zeta_sum(xp, x, q):
    """Cephes' Hurwitz zeta sum: (q + k)^-x directly (at least 9 terms, and up to q + k > 9),
    then the Euler-Maclaurin tail; in float64 but for the first term, as torch does."""
    s = xp.power(q, -x).astype(np.float64)
    x, q = x.astype(np.float64), q.astype(np.float64)

    def direct(i, x, a, b, s, done):
        a = a + 1.0
        b = xp.power(a, -x)
        s = s + b
        return x, a, b, s, (-_MACHEP * s < b) & (b < _MACHEP * s)

    x, a, b, s, done = iterate(xp, lambda i, x, a, b, s, done: ~done & ((i < 9) | (a <= 9.0)),
                               direct, x, q, xp.zeros_like(s), s, xp.zeros(s.shape, bool))
    s = xp.where(done, s, xp.fma(b, -0.5, s + b * a / (x - 1.0)))

    def tail(i, x, w, a, b, s, done):
        a = a * (x + 2 * i)
        b = b / w
        t = a * b / _ZETA_A[i]
        s = s + t
        return x, w, a * (x + 2 * i + 1), b / w, s, xp.abs(t / s) < _MACHEP

    return iterate(xp, lambda i, *st: ~st[-1] & (i < 12), tail, x, a, xp.ones_like(s), b, s,
                   done)[4]


def zeta(xp, x, q):
    q_pole = (q <= 0) & (q == xp.floor(q))
    q_neg = (q <= 0) & (x != xp.floor(x))       # (q + k)^-x is not real
    regular = (x > 1) & ~q_pole & ~q_neg
    r = xp.full(x.shape, np.nan)
    r[regular] = _zeta_sum(xp, x[regular], q[regular])
    r = xp.where(q_pole, np.inf, xp.where(q_neg, np.nan, r))
    return xp.where(x == 1, np.inf, xp.where(x < 1, np.nan, r)).astype(x.dtype)
