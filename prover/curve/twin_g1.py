"""Plain-Python twins of the G1 kernels (``g1``, ``msm``, ``fixed_base_g1``): same names, same
signatures, Python ints inside.

Point functions take and return the kernels' tuples of uint64 limbs (Montgomery form) and use
the same formulas, so their outputs are bit-identical to the kernels' (Montgomery form is a
bijection and field arithmetic is exact). Array kernels read and write the same arrays. The MSM
and fixed-base twins are the textbook algorithms (signed-digit Pippenger with running sums;
signed-window fixed-base table) on Python ints, sharing no code with the kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prover import params

P = params.P
R_ORDER = params.R_ORDER
_R = 1 << params.MONT_R_BITS
_R_INV = pow(_R, -1, P)
_R_INV_FR = pow(_R, -1, R_ORDER)
SCALAR_BITS = 254
SKIP = 0xFFFF
STATUS_OK, STATUS_NOT_CANONICAL, STATUS_NOT_ON_CURVE = 0, 1, 2

# --- limbs <-> ints (Montgomery form kept: the twins compute on x * 2^256 mod p) ----------------


def _int(t) -> int:
    return sum(int(w) << (64 * k) for k, w in enumerate(t))


def _tup(x: int) -> tuple:
    return tuple(np.uint64(w) for w in params.to_limbs(x))


def _mul(a: int, b: int) -> int:
    """Montgomery product a * b / 2^256 mod p."""
    return a * b * _R_INV % P


_ONE = _R % P
_B = 3 * _R % P
ZERO = _tup(0)
FQ_ONE = _tup(_ONE)
AFFINE_INFINITY = (ZERO, ZERO)
XYZZ_INFINITY = (FQ_ONE, FQ_ONE, ZERO, ZERO)


def _inv(a: int) -> int:
    """Montgomery inverse: (a/R)^-1 * R = R^2 / a (0 -> 0)."""
    return 0 if a == 0 else _R * _R * pow(a, -1, P) % P


# --- Fq ------------------------------------------------------------------------------------------


def fq_add(x, y):
    return _tup((_int(x) + _int(y)) % P)


def fq_sub(x, y):
    return _tup((_int(x) - _int(y)) % P)


def fq_mul(x, y):
    return _tup(_mul(_int(x), _int(y)))


def fq_sqr(x):
    return fq_mul(x, x)


def fq_neg(x):
    return _tup(-_int(x) % P)


def fq_cond_neg(x, negative):
    return fq_neg(x) if negative else tuple(np.uint64(w) for w in x)


# --- loads and stores -----------------------------------------------------------------------------


def load_affine(a, i):
    return tuple(tuple(np.uint64(a[i, k, j]) for j in range(4)) for k in range(2))


def store_affine(a, i, p):
    for k in range(2):
        for j in range(4):
            a[i, k, j] = p[k][j]


def load_xyzz(a, i):
    return tuple(tuple(np.uint64(a[i, k, j]) for j in range(4)) for k in range(4))


def store_xyzz(a, i, p):
    for k in range(4):
        for j in range(4):
            a[i, k, j] = p[k][j]


# --- point operations (same formulas as the kernels, on ints) ------------------------------------


def affine_is_infinity(p):
    return _int(p[0]) == 0 and _int(p[1]) == 0


def xyzz_is_infinity(p):
    return _int(p[2]) == 0


def affine_neg(p):
    return p[0], fq_neg(p[1])


def xyzz_neg(p):
    return p[0], fq_neg(p[1]), p[2], p[3]


def affine_to_xyzz(p):
    if affine_is_infinity(p):
        return XYZZ_INFINITY
    return p[0], p[1], FQ_ONE, FQ_ONE


def _dbl(x1: int, y1: int) -> tuple[int, int, int, int]:
    """(X3, Y3, V, W) of dbl-2008-s-1 on ints."""
    u = 2 * y1 % P
    v = _mul(u, u)
    w = _mul(u, v)
    s = _mul(x1, v)
    m = 3 * _mul(x1, x1) % P
    x3 = (_mul(m, m) - 2 * s) % P
    y3 = (_mul(m, (s - x3) % P) - _mul(w, y1)) % P
    return x3, y3, v, w


def xyzz_double_affine(p):
    if affine_is_infinity(p):
        return XYZZ_INFINITY
    return tuple(_tup(v) for v in _dbl(_int(p[0]), _int(p[1])))


def xyzz_double(p):
    if xyzz_is_infinity(p):
        return XYZZ_INFINITY
    x3, y3, v, w = _dbl(_int(p[0]), _int(p[1]))
    return _tup(x3), _tup(y3), _tup(_mul(v, _int(p[2]))), _tup(_mul(w, _int(p[3])))


def _add(u1, s1, zz1, zzz1, u2, s2, zz2, zzz2, double):
    """add-2008-s core on ints with U1 = X1 ZZ2, S1 = Y1 ZZZ2, U2 = X2 ZZ1, S2 = Y2 ZZZ1."""
    pp_ = (u2 - u1) % P
    r = (s2 - s1) % P
    if pp_ == 0:
        return double() if r == 0 else XYZZ_INFINITY
    pp = _mul(pp_, pp_)
    ppp = _mul(pp_, pp)
    q = _mul(u1, pp)
    x3 = (_mul(r, r) - ppp - 2 * q) % P
    y3 = (_mul(r, (q - x3) % P) - _mul(s1, ppp)) % P
    return _tup(x3), _tup(y3), _tup(_mul(_mul(zz1, zz2), pp)), _tup(_mul(_mul(zzz1, zzz2), ppp))


def xyzz_add_affine(p, q):
    if affine_is_infinity(q):
        return p
    if xyzz_is_infinity(p):
        return q[0], q[1], FQ_ONE, FQ_ONE
    x1, y1, zz1, zzz1 = (_int(v) for v in p)
    x2, y2 = _int(q[0]), _int(q[1])
    # madd-2008-s is add-2008-s with ZZ2 = ZZZ2 = 1 (the Montgomery one), same field values.
    return _add(
        x1, y1, zz1, zzz1, _mul(x2, zz1), _mul(y2, zzz1), _ONE, _ONE,
        lambda: xyzz_double_affine(q),
    )  # fmt: skip


def xyzz_add(p, q):
    if xyzz_is_infinity(q):
        return p
    if xyzz_is_infinity(p):
        return q
    x1, y1, zz1, zzz1 = (_int(v) for v in p)
    x2, y2, zz2, zzz2 = (_int(v) for v in q)
    return _add(
        _mul(x1, zz2), _mul(y1, zzz2), zz1, zzz1, _mul(x2, zz1), _mul(y2, zzz1), zz2, zzz2,
        lambda: xyzz_double(p),
    )  # fmt: skip


def xyzz_to_affine(p):
    if xyzz_is_infinity(p):
        return AFFINE_INFINITY
    i3 = _inv(_int(p[3]))
    z_inv = _mul(_int(p[2]), i3)
    return _tup(_mul(_int(p[0]), _mul(z_inv, z_inv))), _tup(_mul(_int(p[1]), i3))


def affine_is_on_curve(p):
    x, y = _int(p[0]), _int(p[1])
    return _mul(y, y) == (_mul(_mul(x, x), x) + _B) % P


def affine_status(p):
    if _int(p[0]) >= P or _int(p[1]) >= P:
        return STATUS_NOT_CANONICAL
    if affine_is_infinity(p) or affine_is_on_curve(p):
        return STATUS_OK
    return STATUS_NOT_ON_CURVE


# --- array kernels ------------------------------------------------------------------------------


def xyzz_to_affine_m(src, out):
    for i in range(src.shape[0]):
        store_affine(out, i, xyzz_to_affine(load_xyzz(src, i)))


GLV_BETA = 2203960485148121921418603742825762020974279258880205651966


def endomorphism_m(aff, out):
    for i in range(aff.shape[0]):
        x, y = load_affine(aff, i)
        store_affine(out, i, (_tup(_mul(_int(x), GLV_BETA * _R % P)), y))


def affine_status_m(aff, status):
    for i in range(aff.shape[0]):
        status[i] = affine_status(load_affine(aff, i))


def _affine_add_ints(a: tuple[int, int] | None, b: tuple[int, int] | None):
    """Affine addition on plain (non-Montgomery) ints, None for infinity."""
    if a is None:
        return b
    if b is None:
        return a
    (x1, y1), (x2, y2) = a, b
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = 3 * x1 * x1 * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _to_plain(p) -> tuple[int, int] | None:
    if affine_is_infinity(p):
        return None
    return _int(p[0]) * _R_INV % P, _int(p[1]) * _R_INV % P


def _from_plain(a: tuple[int, int] | None):
    if a is None:
        return AFFINE_INFINITY
    return _tup(a[0] * _R % P), _tup(a[1] * _R % P)


def batch_affine_add(acc, q, lo, hi, den, prefix, kind):
    """acc[i] += q[i] for i in [lo, hi); the scratch arrays are not used."""
    for i in range(lo, hi):
        s = _affine_add_ints(_to_plain(load_affine(acc, i)), _to_plain(load_affine(q, i)))
        store_affine(acc, i, _from_plain(s))


# --- MSM ----------------------------------------------------------------------------------------


def windows_for(c: int, bits: int = SCALAR_BITS) -> int:
    return -(-(bits + 1) // c)


def _scalar_int(s, montgomery: bool) -> int:
    v = _int(s)
    return v * _R_INV_FR % R_ORDER if montgomery else v


def _signed_digits(k: int, c: int, bits: int = SCALAR_BITS) -> list[int]:
    """Digits d_j in (-2^(c-1), 2^(c-1)] with k = sum_j d_j 2^(c j), windows_for(c, bits) of
    them (0 <= k < 2^bits)."""
    half, full, out = 1 << (c - 1), 1 << c, []
    for _ in range(windows_for(c, bits)):
        d = k & (full - 1)
        k >>= c
        if d > half:
            d -= full
            k += 1
        out.append(d)
    assert k == 0
    return out


def signed_digits_m(scalars, montgomery, c, out):
    for i in range(scalars.shape[0]):
        for j, d in enumerate(_signed_digits(_scalar_int(scalars[i], montgomery), c)):
            out[j, i] = SKIP if d == 0 else ((abs(d) - 1) << 1) | (d < 0)


GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461
_GLV_BASIS = (
    (9931322734385697763, -147946756881789319000765030803803410728),
    (147946756881789319010696353538189108491, 9931322734385697763),
)


def glv_split(s: int) -> tuple[int, int]:
    """(k1, k2) with s = k1 + k2 lambda mod r: Babai rounding with the kernel's approximations
    round(2^256 b / r) of the divisions, so that the digits are the kernel's, bit for bit."""
    (a1, b1), (a2, b2) = _GLV_BASIS
    g1_ = (2**256 * b2 + R_ORDER // 2) // R_ORDER
    g2_ = (2**256 * -b1 + R_ORDER // 2) // R_ORDER
    c1 = (s * g1_ + 2**255) >> 256
    c2 = (s * g2_ + 2**255) >> 256
    return s - c1 * a1 - c2 * a2, -c1 * b1 - c2 * b2


def signed_digits_glv_m(scalars, montgomery, c, out, negative):
    n = scalars.shape[0]
    for i in range(n):
        for col, k in zip((i, n + i), glv_split(_scalar_int(scalars[i], montgomery)), strict=True):
            negative[col] = k < 0
            for j, d in enumerate(_signed_digits(abs(k), c, 127)):
                out[j, col] = SKIP if d == 0 else ((abs(d) - 1) << 1) | (d < 0)
    return 0


def glv_points_m(points, negative, out):
    n = points.shape[0]
    for i in range(n):
        x, y = load_affine(points, i)
        store_affine(out, i, (x, fq_cond_neg(y, negative[i])))
        phi_x = _tup(_mul(_int(x), GLV_BETA * _R % P))
        store_affine(out, n + i, (phi_x, fq_cond_neg(y, negative[n + i])))


def _mul_plain(a: tuple[int, int] | None, k: int):
    """k * a by double-and-add on plain affine ints (k >= 0)."""
    acc = None
    while k:
        if k & 1:
            acc = _affine_add_ints(acc, a)
        a = _affine_add_ints(a, a)
        k >>= 1
    return acc


def msm_g1(points_m, scalars_m, *, window=None, validate=True, batch=None, glv=True):
    """sum_i s_i P_i by signed-digit Pippenger on plain ints; canonical (x, y), (0, 0) for
    infinity. ``window`` defaults to 4 here; window, batch and glv do not change the point."""
    c = window or 4
    n = points_m.shape[0]
    if validate:
        for i in range(n):
            if affine_status(load_affine(points_m, i)) != STATUS_OK:
                raise ValueError(f"points_m[{i}] is not a valid G1 point")
    points = [_to_plain(load_affine(points_m, i)) for i in range(n)]
    digits = [_signed_digits(_scalar_int(scalars_m[i], True), c) for i in range(n)]
    total = None
    for j in reversed(range(windows_for(c))):
        for _ in range(c):
            total = _affine_add_ints(total, total)
        buckets: list[tuple[int, int] | None] = [None] * (1 << (c - 1))
        for pt, ds in zip(points, digits, strict=True):
            d = ds[j]
            if d and pt is not None:
                signed = pt if d > 0 else (pt[0], -pt[1] % P)
                buckets[abs(d) - 1] = _affine_add_ints(buckets[abs(d) - 1], signed)
        running = window_sum = None
        for b in reversed(buckets):
            running = _affine_add_ints(running, b)
            window_sum = _affine_add_ints(window_sum, running)
        total = _affine_add_ints(total, window_sum)
    return (0, 0) if total is None else total


def combine_windows(sums, c):
    acc = XYZZ_INFINITY
    for j in range(sums.shape[0] - 1, -1, -1):
        for _ in range(c):
            acc = xyzz_double(acc)
        acc = xyzz_add(acc, load_xyzz(sums, j))
    return xyzz_to_affine(acc)


# --- fixed base ---------------------------------------------------------------------------------


def window_bases_m(base_aff, window, out_xyzz):
    p = affine_to_xyzz(load_affine(base_aff, 0))
    for j in range(out_xyzz.shape[0]):
        store_xyzz(out_xyzz, j, p)
        for _ in range(window):
            p = xyzz_double(p)


def table_rows_m(bases_aff, half, out_xyzz):
    for j in range(bases_aff.shape[0]):
        b = load_affine(bases_aff, j)
        acc = affine_to_xyzz(b)
        store_xyzz(out_xyzz, j * half, acc)
        for d in range(1, half):
            acc = xyzz_add_affine(acc, b)
            store_xyzz(out_xyzz, j * half + d, acc)


def fixed_base_mul_m(table, window, scalars, montgomery, out, chunk):
    """out[i] = scalars[i] * B from the signed-window table (chunk is ignored)."""
    half = 1 << (window - 1)
    for i in range(scalars.shape[0]):
        acc = None
        for j, d in enumerate(_signed_digits(_scalar_int(scalars[i], montgomery), window)):
            if d:
                e = _to_plain(load_affine(table, j * half + abs(d) - 1))
                if e is not None and d < 0:
                    e = (e[0], -e[1] % P)
                acc = _affine_add_ints(acc, e)
        store_affine(out, i, _from_plain(acc))


def fixed_base_g1(
    base_affine_int: tuple[int, int], scalars_m: np.ndarray, *, window: int | None = None
) -> np.ndarray:
    """[s_i] base by double-and-add on plain ints (window is ignored): (n, 2, 4) Montgomery."""
    base = None if tuple(base_affine_int) == (0, 0) else tuple(base_affine_int)
    out = np.zeros((scalars_m.shape[0], 2, 4), dtype=np.uint64)
    for i in range(scalars_m.shape[0]):
        store_affine(out, i, _from_plain(_mul_plain(base, _scalar_int(scalars_m[i], True))))
    return out


def ints_to_affine_m(points: Sequence[tuple[int, int] | None]) -> np.ndarray:
    out = np.zeros((len(points), 2, 4), dtype=np.uint64)
    for i, pt in enumerate(points):
        store_affine(out, i, _from_plain(None if pt is None or tuple(pt) == (0, 0) else pt))
    return out


def affine_m_to_ints(arr: np.ndarray) -> list[tuple[int, int]]:
    a = np.asarray(arr).reshape(-1, 2, 4)
    return [_to_plain(load_affine(a, i)) or (0, 0) for i in range(a.shape[0])]
