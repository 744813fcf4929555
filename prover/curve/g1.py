"""G1 of BN254 (y^2 = x^3 + 3 over Fq, EIP-196) as Numba kernels on Montgomery arrays.

Layouts (uint64, little-endian limbs, Montgomery form x * 2^256 mod p, names ending in ``_m``):
- affine ``(n, 2, 4)``: [point][x|y][limb]. The point at infinity is (0, 0), all zeros, as in
  snarkjs's .ptau/.zkey files; (0, 0) is not on the curve (3 is not a square mod p), so the
  encoding is unambiguous. ``array.tobytes()`` is ffjavascript's affine LEM layout (x || y).
- XYZZ ``(n, 4, 4)``: (X, Y, ZZ, ZZZ) with x = X/ZZ, y = Y/ZZZ and ZZ^3 = ZZZ^2; infinity has
  ZZ = 0 (we write (1, 1, 0, 0)).

Point operations (a = 0) are the XYZZ formulas of the Explicit-Formulas Database (Bernstein,
Lange, hyperelliptic.org/EFD/g1p/auto-shortw-xyzz.html), from Sutherland's extended coordinates:
dbl-2008-s-1 (6M + 3S), mdbl-2008-s-1 (4M + 3S), add-2008-s (12M + 2S), madd-2008-s (8M + 2S).
Every special case (P + P, P + (-P), infinity on either side) is handled explicitly. G1 has
cofactor 1 and odd order, so there is no 2-torsion and a finite point never doubles to infinity.

Affine additions of many independent pairs share one inversion by Montgomery's trick
(P. L. Montgomery, "Speeding the Pollard and elliptic curve methods of factorization", Math.
Comp. 48, 1987): 3M per element for the inverse, 2M + 1S for the addition.

Fq arithmetic is ``prover.field.mont``'s (multiplication, squaring, and addition/subtraction
as carry chains). The GLV endomorphism phi(x, y) = (beta x, y) = [lambda] P is here
too (used by the MSM).

The plain-Python twins, same signatures, are in ``prover.curve.twin_g1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, prange, types

from prover import params
from prover.field import convert, mont
from prover.field.kernels import FQ_M
from prover.field.mont import FQ_MOD, FQ_ONE, ZERO

G1Point = tuple[int, int]

B_M = FQ_M.element(params.CURVE_B)  # the curve's b = 3, Montgomery form
AFFINE_INFINITY = (ZERO, ZERO)
XYZZ_INFINITY = (FQ_ONE, FQ_ONE, ZERO, ZERO)

STATUS_OK = 0
STATUS_NOT_CANONICAL = 1  # a coordinate's stored limbs are >= p
STATUS_NOT_ON_CURVE = 2
BATCH_CHUNK = 1024  # elements per Montgomery-trick chunk in the array kernels

# The GLV endomorphism (Gallant, Lambert, Vanstone, "Faster point multiplication on elliptic
# curves with efficient endomorphisms", CRYPTO 2001): phi(x, y) = (beta x, y) = [lambda](x, y)
# on G1, beta a cube root of unity in Fq and lambda one in Fr (this pairing of the two is checked
# against py_ecc in the tests).
GLV_BETA = 2203960485148121921418603742825762020974279258880205651966
GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461
GLV_BETA_M = FQ_M.element(GLV_BETA)
assert pow(GLV_BETA, 3, params.P) == 1 and GLV_BETA != 1
assert pow(GLV_LAMBDA, 3, params.R_ORDER) == 1 and GLV_LAMBDA != 1


# --- Fq arithmetic for the point formulas -------------------------------------------------------
# prover.field.mont's: the MULX/ADCX/ADOX multiplication and squaring where the CPU has them, and
# addition/subtraction as carry chains (the point formulas do nearly as many of them as
# multiplications).

_U64 = types.uint64


@njit(inline="always")
def fq_add(x, y):
    return mont.add(x, y, FQ_MOD)


@njit(inline="always")
def fq_sub(x, y):
    return mont.sub(x, y, FQ_MOD)


@njit(inline="always")
def fq_mul(x, y):
    return mont.mul(x, y, FQ_MOD)


@njit(inline="always")
def fq_sqr(x):
    return mont.sqr(x, FQ_MOD)


@njit(inline="always")
def fq_neg(x):
    """-x mod p, branch-free (0 -> 0)."""
    return fq_sub(ZERO, x)


@njit(inline="always")
def fq_cond_neg(x, negative):
    """-x if negative else x, branch-free (the sign of a bucket digit is unpredictable)."""
    n = fq_sub(ZERO, x)
    mask = _U64(0) - _U64(negative)
    return (
        x[0] ^ ((x[0] ^ n[0]) & mask),
        x[1] ^ ((x[1] ^ n[1]) & mask),
        x[2] ^ ((x[2] ^ n[2]) & mask),
        x[3] ^ ((x[3] ^ n[3]) & mask),
    )


# --- loads and stores ---------------------------------------------------------------------------


@njit(cache=True)
def load_affine(a, i):
    """Point i of an (n, 2, 4) affine array as ((x limbs), (y limbs))."""
    return (
        (a[i, 0, 0], a[i, 0, 1], a[i, 0, 2], a[i, 0, 3]),
        (a[i, 1, 0], a[i, 1, 1], a[i, 1, 2], a[i, 1, 3]),
    )


@njit(cache=True)
def store_affine(a, i, p):
    for k in range(2):
        for j in range(4):
            a[i, k, j] = p[k][j]


@njit(cache=True)
def load_xyzz(a, i):
    """Point i of an (n, 4, 4) XYZZ array as (X, Y, ZZ, ZZZ)."""
    return (
        (a[i, 0, 0], a[i, 0, 1], a[i, 0, 2], a[i, 0, 3]),
        (a[i, 1, 0], a[i, 1, 1], a[i, 1, 2], a[i, 1, 3]),
        (a[i, 2, 0], a[i, 2, 1], a[i, 2, 2], a[i, 2, 3]),
        (a[i, 3, 0], a[i, 3, 1], a[i, 3, 2], a[i, 3, 3]),
    )


@njit(cache=True)
def store_xyzz(a, i, p):
    for k in range(4):
        for j in range(4):
            a[i, k, j] = p[k][j]


# --- point operations -----------------------------------------------------------------------------


@njit(cache=True)
def affine_is_infinity(p):
    return mont.is_zero(p[0]) and mont.is_zero(p[1])


@njit(cache=True)
def xyzz_is_infinity(p):
    return mont.is_zero(p[2])


@njit(cache=True)
def affine_neg(p):
    return p[0], fq_neg(p[1])


@njit(cache=True)
def xyzz_neg(p):
    return p[0], fq_neg(p[1]), p[2], p[3]


@njit(cache=True)
def affine_to_xyzz(p):
    if affine_is_infinity(p):
        return XYZZ_INFINITY
    return p[0], p[1], FQ_ONE, FQ_ONE


@njit(cache=True)
def xyzz_double_affine(p):
    """2P for an affine P, as XYZZ (mdbl-2008-s-1, 4M + 3S)."""
    if affine_is_infinity(p):
        return XYZZ_INFINITY
    x1, y1 = p
    U = fq_add(y1, y1)
    V = fq_sqr(U)
    W = fq_mul(U, V)
    S = fq_mul(x1, V)
    xx = fq_sqr(x1)
    M = fq_add(fq_add(xx, xx), xx)
    X3 = fq_sub(fq_sqr(M), fq_add(S, S))
    Y3 = fq_sub(fq_mul(M, fq_sub(S, X3)), fq_mul(W, y1))
    return X3, Y3, V, W


@njit(cache=True)
def xyzz_double(p):
    """2P (dbl-2008-s-1, 6M + 3S)."""
    if xyzz_is_infinity(p):
        return XYZZ_INFINITY
    X1, Y1, ZZ1, ZZZ1 = p
    U = fq_add(Y1, Y1)
    V = fq_sqr(U)
    W = fq_mul(U, V)
    S = fq_mul(X1, V)
    xx = fq_sqr(X1)
    M = fq_add(fq_add(xx, xx), xx)
    X3 = fq_sub(fq_sqr(M), fq_add(S, S))
    Y3 = fq_sub(fq_mul(M, fq_sub(S, X3)), fq_mul(W, Y1))
    return X3, Y3, fq_mul(V, ZZ1), fq_mul(W, ZZZ1)


@njit(cache=True)
def xyzz_add_affine(p, q):
    """P + Q for XYZZ P and affine Q (madd-2008-s, 8M + 2S); all special cases handled."""
    if affine_is_infinity(q):
        return p
    if xyzz_is_infinity(p):
        return q[0], q[1], FQ_ONE, FQ_ONE
    X1, Y1, ZZ1, ZZZ1 = p
    x2, y2 = q
    P = fq_sub(fq_mul(x2, ZZ1), X1)
    R = fq_sub(fq_mul(y2, ZZZ1), Y1)
    if mont.is_zero(P):
        if mont.is_zero(R):
            return xyzz_double_affine(q)
        return XYZZ_INFINITY
    PP = fq_sqr(P)
    PPP = fq_mul(P, PP)
    Q = fq_mul(X1, PP)
    X3 = fq_sub(fq_sub(fq_sqr(R), PPP), fq_add(Q, Q))
    Y3 = fq_sub(fq_mul(R, fq_sub(Q, X3)), fq_mul(Y1, PPP))
    return X3, Y3, fq_mul(ZZ1, PP), fq_mul(ZZZ1, PPP)


@njit(cache=True)
def xyzz_add(p, q):
    """P + Q for XYZZ P, Q (add-2008-s, 12M + 2S); all special cases handled."""
    if xyzz_is_infinity(q):
        return p
    if xyzz_is_infinity(p):
        return q
    X1, Y1, ZZ1, ZZZ1 = p
    X2, Y2, ZZ2, ZZZ2 = q
    U1 = fq_mul(X1, ZZ2)
    S1 = fq_mul(Y1, ZZZ2)
    P = fq_sub(fq_mul(X2, ZZ1), U1)
    R = fq_sub(fq_mul(Y2, ZZZ1), S1)
    if mont.is_zero(P):
        if mont.is_zero(R):
            return xyzz_double(p)
        return XYZZ_INFINITY
    PP = fq_sqr(P)
    PPP = fq_mul(P, PP)
    Q = fq_mul(U1, PP)
    X3 = fq_sub(fq_sub(fq_sqr(R), PPP), fq_add(Q, Q))
    Y3 = fq_sub(fq_mul(R, fq_sub(Q, X3)), fq_mul(S1, PPP))
    ZZ3 = fq_mul(fq_mul(ZZ1, ZZ2), PP)
    ZZZ3 = fq_mul(fq_mul(ZZZ1, ZZZ2), PPP)
    return X3, Y3, ZZ3, ZZZ3


@njit(cache=True)
def xyzz_to_affine(p):
    """(X/ZZ, Y/ZZZ) with one inversion: 1/ZZ = (ZZ/ZZZ)^2 since ZZ^3 = ZZZ^2."""
    if xyzz_is_infinity(p):
        return AFFINE_INFINITY
    i3 = mont.inv(p[3], FQ_ONE, FQ_MOD)
    return _xyzz_affine_with(p, i3)


@njit(cache=True)
def _xyzz_affine_with(p, zzz_inv):
    """The affine form of a finite XYZZ point given 1/ZZZ."""
    z_inv = fq_mul(p[2], zzz_inv)  # ZZ/ZZZ = 1/Z
    x = fq_mul(p[0], fq_sqr(z_inv))
    y = fq_mul(p[1], zzz_inv)
    return x, y


@njit(cache=True)
def affine_is_on_curve(p):
    """y^2 == x^3 + 3 (infinity, (0, 0), is not on the curve)."""
    x, y = p
    rhs = fq_add(fq_mul(fq_sqr(x), x), B_M)
    return mont.eq(fq_sqr(y), rhs)


@njit(cache=True)
def _limbs_below_p(x):
    _, b = mont.sbb(x[0], FQ_MOD[0], np.uint64(0))
    _, b = mont.sbb(x[1], FQ_MOD[1], b)
    _, b = mont.sbb(x[2], FQ_MOD[2], b)
    _, b = mont.sbb(x[3], FQ_MOD[3], b)
    return b != np.uint64(0)


@njit(cache=True)
def affine_status(p):
    """STATUS_OK for infinity or a curve point with canonical coordinates, else the reason."""
    if not (_limbs_below_p(p[0]) and _limbs_below_p(p[1])):
        return STATUS_NOT_CANONICAL
    if affine_is_infinity(p) or affine_is_on_curve(p):
        return STATUS_OK
    return STATUS_NOT_ON_CURVE


# --- batched affine addition (Montgomery's trick) -----------------------------------------------

_SKIP = 0  # Q is infinity: nothing to do
_COPY = 1  # the accumulator is infinity: it becomes Q
_ADD = 2  # distinct x: the chord
_DOUBLE = 3  # equal points: the tangent
_CANCEL = 4  # P + (-P): infinity


@njit(cache=True)
def batch_affine_add(acc, q, lo, hi, den, prefix, kind):
    """acc[i] += q[i] for i in [lo, hi), affine (n, 2, 4) arrays, with one shared inversion.

    den, prefix: (hi - lo, 4) scratch; kind: (hi - lo,) int8 scratch. Cost per pair: 3M for the
    inverse (Montgomery's trick) + 2M + 1S for the chord, plus 1I for the whole range."""
    run = FQ_ONE
    for i in range(lo, hi):
        t = i - lo
        a = load_affine(acc, i)
        b = load_affine(q, i)
        if affine_is_infinity(b):
            kind[t] = _SKIP
            continue
        if affine_is_infinity(a):
            kind[t] = _COPY
            continue
        if mont.eq(a[0], b[0]):
            if not mont.eq(a[1], b[1]):
                kind[t] = _CANCEL
                continue
            kind[t] = _DOUBLE
            d = fq_add(a[1], a[1])
        else:
            kind[t] = _ADD
            d = fq_sub(b[0], a[0])
        mont.store(den, t, d)
        mont.store(prefix, t, run)
        run = fq_mul(run, d)
    # 1^-1 = 1: skips the exponentiation when nothing needs inverting.
    inv = FQ_ONE if mont.eq(run, FQ_ONE) else mont.inv(run, FQ_ONE, FQ_MOD)
    for i in range(hi - 1, lo - 1, -1):
        t = i - lo
        k = kind[t]
        if k == _SKIP:
            continue
        if k == _COPY:
            store_affine(acc, i, load_affine(q, i))
            continue
        if k == _CANCEL:
            store_affine(acc, i, AFFINE_INFINITY)
            continue
        d_inv = fq_mul(inv, mont.load(prefix, t))
        inv = fq_mul(inv, mont.load(den, t))
        x1, y1 = load_affine(acc, i)
        x2, y2 = load_affine(q, i)
        if k == _ADD:
            lam = fq_mul(fq_sub(y2, y1), d_inv)
        else:
            xx = fq_sqr(x1)
            lam = fq_mul(fq_add(fq_add(xx, xx), xx), d_inv)
        x3 = fq_sub(fq_sub(fq_sqr(lam), x1), x2)
        y3 = fq_sub(fq_mul(lam, fq_sub(x1, x3)), y1)
        store_affine(acc, i, (x3, y3))


# --- array kernels ------------------------------------------------------------------------------


@njit(cache=True)
def _xyzz_to_affine_chunk(src, out, prefix, lo, hi):
    run = FQ_ONE
    for i in range(lo, hi):
        mont.store(prefix, i, run)
        p = load_xyzz(src, i)
        if not xyzz_is_infinity(p):
            run = fq_mul(run, p[3])
    inv = mont.inv(run, FQ_ONE, FQ_MOD)
    for i in range(hi - 1, lo - 1, -1):
        p = load_xyzz(src, i)
        if xyzz_is_infinity(p):
            store_affine(out, i, AFFINE_INFINITY)
            continue
        zzz_inv = fq_mul(inv, mont.load(prefix, i))
        inv = fq_mul(inv, p[3])
        store_affine(out, i, _xyzz_affine_with(p, zzz_inv))


@njit(parallel=True, cache=True)
def xyzz_to_affine_m(src, out):
    """Batch normalisation: out[i] = affine(src[i]) for an (n, 4, 4) XYZZ array, one inversion
    per chunk of BATCH_CHUNK points (Montgomery's trick), chunks in parallel."""
    n = src.shape[0]
    prefix = np.empty((n, 4), dtype=np.uint64)
    chunks = (n + BATCH_CHUNK - 1) // BATCH_CHUNK
    for c in prange(chunks):
        lo = c * BATCH_CHUNK
        _xyzz_to_affine_chunk(src, out, prefix, lo, min(n, lo + BATCH_CHUNK))


@njit(parallel=True, cache=True)
def endomorphism_m(aff, out):
    """out[i] = phi(aff[i]) = (beta x, y) = [lambda] aff[i]; infinity (0, 0) stays (0, 0)."""
    for i in prange(aff.shape[0]):
        x, y = load_affine(aff, i)
        store_affine(out, i, (fq_mul(x, GLV_BETA_M), y))


@njit(parallel=True, cache=True)
def affine_status_m(aff, status):
    """status[i] = affine_status(aff[i]) (int8), in parallel."""
    for i in prange(aff.shape[0]):
        status[i] = affine_status(load_affine(aff, i))


# --- Python API -----------------------------------------------------------------------------------


def check_affine_array(arr: np.ndarray, name: str = "points_m") -> np.ndarray:
    """arr itself if it is a C-contiguous (n, 2, 4) uint64 array, else ValueError."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint64 or arr.shape[1:] != (2, 4):
        raise ValueError(
            f"{name} must be an (n, 2, 4) uint64 array of affine Montgomery points, "
            f"got {getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
        )
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    return arr


def validate_g1_affine_m(arr: np.ndarray, name: str = "points_m") -> None:
    """Raise ValueError naming the first bad point unless every point of the (n, 2, 4) array is
    infinity (0, 0) or on the curve with both coordinates < p (G1 has cofactor 1: on the curve
    means in the group)."""
    check_affine_array(arr, name)
    status = np.empty(arr.shape[0], dtype=np.int8)
    affine_status_m(arr, status)
    bad = np.flatnonzero(status)
    if bad.size:
        i = int(bad[0])
        why = "a coordinate is >= p" if status[i] == STATUS_NOT_CANONICAL else "not on the curve"
        raise ValueError(f"{name}[{i}] is not a valid G1 point: {why} ({bad.size} bad in all)")


def ints_to_affine_m(points: Sequence[G1Point | None]) -> np.ndarray:
    """Affine int points (x, y) -> (n, 2, 4) Montgomery array; infinity is (0, 0) or None.
    Every point is validated (ValueError otherwise)."""
    flat: list[int] = []
    for k, pt in enumerate(points):
        x, y = (0, 0) if pt is None else pt
        for v in (x, y):
            if not isinstance(v, int) or not 0 <= v < params.P:
                raise ValueError(f"point {k}: coordinate {v!r} is not an int in [0, p)")
        flat += (x, y)
    out = convert.to_mont(FQ_M, flat).reshape(-1, 2, 4)
    validate_g1_affine_m(out, "points")
    return out


def affine_tuple_to_int(p: tuple) -> G1Point:
    """A kernel's affine tuple ((x limbs), (y limbs)) -> canonical ints; infinity -> (0, 0)."""
    return FQ_M.element_int(p[0]), FQ_M.element_int(p[1])


def affine_m_to_ints(arr: np.ndarray) -> list[G1Point]:
    """(n, 2, 4) Montgomery array (or one (2, 4) point as a 1-list) -> [(x, y)] canonical ints;
    infinity is (0, 0)."""
    a = np.ascontiguousarray(arr).reshape(-1, 2, 4)
    check_affine_array(a, "arr")
    vals = convert.from_mont(FQ_M, a.reshape(-1, 4))
    return [(vals[2 * k], vals[2 * k + 1]) for k in range(a.shape[0])]
