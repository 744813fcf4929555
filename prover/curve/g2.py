"""G2 (the BN254 twist E'(Fq2): y^2 = x^3 + 3/(9 + u)) kernels: Jacobian and batched affine
arithmetic, batch normalisation, validation (canonical, on the twist, in the subgroup).

Layouts (uint64 Montgomery, little-endian limbs, names ending in ``_m``):
- affine ``(n, 2, 2, 4)``: [point][x|y][c0|c1][limb]; the point at infinity is all zeros (as in
  snarkjs's files; (0, 0) is not on the twist). ``array.tobytes()`` is exactly snarkjs's LEM
  layout (x.c0, x.c1, y.c0, y.c1, each 32 bytes).
- Jacobian ``(n, 3, 2, 4)``: (X, Y, Z) for x = X/Z^2, y = Y/Z^3; infinity has Z = 0.

Formulas (a = 0) from the Explicit-Formulas Database (Bernstein, Lange, hyperelliptic.org/EFD):
doubling dbl-2009-l (2M + 5S), addition add-2007-bl (11M + 5S), mixed addition madd-2007-bl
(7M + 4S); the special cases (infinity, P + P, P + (-P)) are handled explicitly. Batch
normalisation uses Montgomery's trick (one Fq2 inversion per chunk). The twist has no 2-torsion
(its order r(2p - r) is odd), so Y != 0 for every finite point and doubling never hits Z = 0.

Batched affine addition (``affine_add_chunk``): n independent additions share one Fq2 inversion
(Montgomery's trick over the slopes' denominators), 5M + 1S each; the special cases are settled
in the first pass. Subgroup membership: psi(Q) == [6u^2] Q with psi the untwist-Frobenius-twist
endomorphism (El Housni, Guillevic, Piellard, AFRICACRYPT 2022), a 127-bit multiplication
instead of [r] Q.

The plain-Python twins, same signatures, are in ``prover.curve.twin_g2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from prover import params
from prover.curve import fq2, ref
from prover.curve.fq2 import FQ2_ONE, FQ2_ZERO, TWIST_B_M

JAC_INFINITY = (FQ2_ONE, FQ2_ONE, FQ2_ZERO)
PSI_COEFF_X_M = fq2.mont_fq2(ref.PSI_COEFF_X)
PSI_COEFF_Y_M = fq2.mont_fq2(ref.PSI_COEFF_Y)
PSI_EIGENVALUE_LIMBS = tuple(np.uint64(v) for v in params.to_limbs(ref.PSI_EIGENVALUE))

STATUS_OK = 0
STATUS_NOT_CANONICAL = 1
STATUS_NOT_ON_CURVE = 2
STATUS_NOT_IN_SUBGROUP = 3


# --- loads and stores ---------------------------------------------------------------------------


@njit
def load_fq2(a, i, k):
    """Coordinate k of point i of an (n, m, 2, 4) array."""
    return (
        (a[i, k, 0, 0], a[i, k, 0, 1], a[i, k, 0, 2], a[i, k, 0, 3]),
        (a[i, k, 1, 0], a[i, k, 1, 1], a[i, k, 1, 2], a[i, k, 1, 3]),
    )


@njit
def store_fq2(a, i, k, x):
    for c in range(2):
        for j in range(4):
            a[i, k, c, j] = x[c][j]


@njit
def load_affine(a, i):
    return load_fq2(a, i, 0), load_fq2(a, i, 1)


@njit
def store_affine(a, i, p):
    store_fq2(a, i, 0, p[0])
    store_fq2(a, i, 1, p[1])


@njit
def load_jac(a, i):
    return load_fq2(a, i, 0), load_fq2(a, i, 1), load_fq2(a, i, 2)


@njit
def store_jac(a, i, p):
    store_fq2(a, i, 0, p[0])
    store_fq2(a, i, 1, p[1])
    store_fq2(a, i, 2, p[2])


# --- point operations ---------------------------------------------------------------------------


@njit
def affine_is_infinity(q):
    return fq2.is_zero(q[0]) and fq2.is_zero(q[1])


@njit
def jac_is_infinity(p):
    return fq2.is_zero(p[2])


@njit
def affine_neg(q):
    return q[0], fq2.neg(q[1])


@njit
def jac_neg(p):
    return p[0], fq2.neg(p[1]), p[2]


@njit
def affine_to_jac(q):
    if affine_is_infinity(q):
        return JAC_INFINITY
    return q[0], q[1], FQ2_ONE


@njit
def jac_double(p):
    """2P, dbl-2009-l."""
    if jac_is_infinity(p):
        return JAC_INFINITY
    X1, Y1, Z1 = p
    A = fq2.sqr(X1)
    B = fq2.sqr(Y1)
    C = fq2.sqr(B)
    D = fq2.double(fq2.sub(fq2.sub(fq2.sqr(fq2.add(X1, B)), A), C))
    E = fq2.add(fq2.double(A), A)
    F = fq2.sqr(E)
    X3 = fq2.sub(F, fq2.double(D))
    C8 = fq2.double(fq2.double(fq2.double(C)))
    Y3 = fq2.sub(fq2.mul(E, fq2.sub(D, X3)), C8)
    Z3 = fq2.double(fq2.mul(Y1, Z1))
    return X3, Y3, Z3


@njit
def jac_add(p, q):
    """P + Q for Jacobian P, Q, add-2007-bl; all special cases handled."""
    if jac_is_infinity(p):
        return q
    if jac_is_infinity(q):
        return p
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    Z1Z1 = fq2.sqr(Z1)
    Z2Z2 = fq2.sqr(Z2)
    U1 = fq2.mul(X1, Z2Z2)
    U2 = fq2.mul(X2, Z1Z1)
    S1 = fq2.mul(fq2.mul(Y1, Z2), Z2Z2)
    S2 = fq2.mul(fq2.mul(Y2, Z1), Z1Z1)
    H = fq2.sub(U2, U1)
    R = fq2.double(fq2.sub(S2, S1))
    if fq2.is_zero(H):
        if fq2.is_zero(R):
            return jac_double(p)
        return JAC_INFINITY
    I = fq2.sqr(fq2.double(H))  # noqa: E741
    J = fq2.mul(H, I)
    V = fq2.mul(U1, I)
    X3 = fq2.sub(fq2.sub(fq2.sqr(R), J), fq2.double(V))
    Y3 = fq2.sub(fq2.mul(R, fq2.sub(V, X3)), fq2.double(fq2.mul(S1, J)))
    Z3 = fq2.mul(fq2.sub(fq2.sub(fq2.sqr(fq2.add(Z1, Z2)), Z1Z1), Z2Z2), H)
    return X3, Y3, Z3


@njit
def jac_add_mixed(p, q):
    """P + Q for Jacobian P and affine Q (all-zero Q = infinity), madd-2007-bl."""
    if affine_is_infinity(q):
        return p
    if jac_is_infinity(p):
        return q[0], q[1], FQ2_ONE
    X1, Y1, Z1 = p
    X2, Y2 = q
    Z1Z1 = fq2.sqr(Z1)
    U2 = fq2.mul(X2, Z1Z1)
    S2 = fq2.mul(fq2.mul(Y2, Z1), Z1Z1)
    H = fq2.sub(U2, X1)
    R = fq2.double(fq2.sub(S2, Y1))
    if fq2.is_zero(H):
        if fq2.is_zero(R):
            return jac_double(p)
        return JAC_INFINITY
    HH = fq2.sqr(H)
    I = fq2.double(fq2.double(HH))  # noqa: E741
    J = fq2.mul(H, I)
    V = fq2.mul(X1, I)
    X3 = fq2.sub(fq2.sub(fq2.sqr(R), J), fq2.double(V))
    Y3 = fq2.sub(fq2.mul(R, fq2.sub(V, X3)), fq2.double(fq2.mul(Y1, J)))
    Z3 = fq2.sub(fq2.sub(fq2.sqr(fq2.add(Z1, H)), Z1Z1), HH)
    return X3, Y3, Z3


@njit
def jac_mul_affine(q, e):
    """e * Q for affine Q and e given as four little-endian uint64 limbs (left-to-right
    double-and-add with mixed additions; variable time, for public scalars)."""
    acc = JAC_INFINITY
    for limb in range(3, -1, -1):
        word = e[limb]
        for bit in range(63, -1, -1):
            acc = jac_double(acc)
            if (word >> np.uint64(bit)) & np.uint64(1):
                acc = jac_add_mixed(acc, q)
    return acc


@njit
def jac_eq_affine(p, q):
    """Jacobian P == affine Q: X == x Z^2 and Y == y Z^3 (infinity only equals infinity)."""
    if jac_is_infinity(p):
        return affine_is_infinity(q)
    if affine_is_infinity(q):
        return False
    z2 = fq2.sqr(p[2])
    return fq2.eq(p[0], fq2.mul(q[0], z2)) and fq2.eq(p[1], fq2.mul(q[1], fq2.mul(z2, p[2])))


@njit
def affine_psi(q):
    """psi(x, y) = (conj(x) cx, conj(y) cy): untwist-Frobenius-twist (see ``ref.g2_psi``)."""
    if affine_is_infinity(q):
        return q
    return fq2.mul(fq2.conj(q[0]), PSI_COEFF_X_M), fq2.mul(fq2.conj(q[1]), PSI_COEFF_Y_M)


@njit
def affine_in_subgroup(q):
    """For Q on the twist: Q in G2 iff psi(Q) == [6u^2] Q (El Housni-Guillevic-Piellard 2022);
    a 127-bit multiplication instead of the 254-bit [r] Q."""
    if affine_is_infinity(q):
        return True
    return jac_eq_affine(jac_mul_affine(q, PSI_EIGENVALUE_LIMBS), affine_psi(q))


@njit
def jac_to_affine_with(p, zinv):
    """(X zinv^2, Y zinv^3) given zinv = 1/Z; infinity (Z = 0) -> all zeros."""
    if jac_is_infinity(p):
        return FQ2_ZERO, FQ2_ZERO
    z2 = fq2.sqr(zinv)
    return fq2.mul(p[0], z2), fq2.mul(p[1], fq2.mul(z2, zinv))


@njit
def affine_status(q):
    """STATUS_OK, STATUS_NOT_CANONICAL or STATUS_NOT_ON_CURVE for an affine point."""
    x, y = q
    if not (fq2.is_canonical(x) and fq2.is_canonical(y)):
        return STATUS_NOT_CANONICAL
    if affine_is_infinity(q):
        return STATUS_OK
    rhs = fq2.add(fq2.mul(fq2.sqr(x), x), TWIST_B_M)
    if not fq2.eq(fq2.sqr(y), rhs):
        return STATUS_NOT_ON_CURVE
    return STATUS_OK


# --- array kernels ------------------------------------------------------------------------------
# prange bodies call per-element helpers: Numba's parfor array analysis trips on nested tuples
# unpacked inside a prange body (an AssertionError "Dimension mismatch").


@njit
def _double_at(a_jac, out_jac, i):
    store_jac(out_jac, i, jac_double(load_jac(a_jac, i)))


@njit
def _add_at(a_jac, b_jac, out_jac, i):
    store_jac(out_jac, i, jac_add(load_jac(a_jac, i), load_jac(b_jac, i)))


@njit
def _add_mixed_at(a_jac, b_aff, out_jac, i):
    store_jac(out_jac, i, jac_add_mixed(load_jac(a_jac, i), load_affine(b_aff, i)))


@njit
def _to_jac_at(a_aff, out_jac, i):
    store_jac(out_jac, i, affine_to_jac(load_affine(a_aff, i)))


@njit
def _neg_at(a_aff, out_aff, i):
    store_affine(out_aff, i, affine_neg(load_affine(a_aff, i)))


@njit
def _status_at(a_aff, i, subgroup):
    q = load_affine(a_aff, i)
    status = affine_status(q)
    if status == STATUS_OK and subgroup and not affine_in_subgroup(q):
        return STATUS_NOT_IN_SUBGROUP
    return status


@njit(parallel=True, cache=True)
def jac_double_m(a_jac, out_jac):
    for i in prange(a_jac.shape[0]):
        _double_at(a_jac, out_jac, i)


@njit(parallel=True, cache=True)
def jac_add_m(a_jac, b_jac, out_jac):
    for i in prange(a_jac.shape[0]):
        _add_at(a_jac, b_jac, out_jac, i)


@njit(parallel=True, cache=True)
def jac_add_mixed_m(a_jac, b_aff, out_jac):
    for i in prange(a_jac.shape[0]):
        _add_mixed_at(a_jac, b_aff, out_jac, i)


@njit(parallel=True, cache=True)
def affine_to_jac_m(a_aff, out_jac):
    for i in prange(a_aff.shape[0]):
        _to_jac_at(a_aff, out_jac, i)


@njit(parallel=True, cache=True)
def affine_neg_m(a_aff, out_aff):
    for i in prange(a_aff.shape[0]):
        _neg_at(a_aff, out_aff, i)


@njit(cache=True)
def _to_affine_chunk(a_jac, out_aff, scratch, lo, hi):
    """Normalise rows [lo, hi) with one Fq2 inversion; scratch is (n, 2, 4) holding prefixes."""
    acc = FQ2_ONE
    for i in range(lo, hi):
        fq2.store(scratch, i, acc)
        z = load_fq2(a_jac, i, 2)
        if not fq2.is_zero(z):
            acc = fq2.mul(acc, z)
    acc_inv = fq2.inv(acc)
    for i in range(hi - 1, lo - 1, -1):
        p = load_jac(a_jac, i)
        if jac_is_infinity(p):
            store_affine(out_aff, i, (FQ2_ZERO, FQ2_ZERO))
            continue
        zinv = fq2.mul(fq2.load(scratch, i), acc_inv)
        acc_inv = fq2.mul(acc_inv, p[2])
        store_affine(out_aff, i, jac_to_affine_with(p, zinv))


@njit(parallel=True, cache=True)
def jac_to_affine_m(a_jac, out_aff):
    """Batch normalisation to affine, parallel chunks, one Fq2 inversion per chunk."""
    n = a_jac.shape[0]
    if n == 0:
        return
    scratch = np.empty((n, 2, 4), dtype=np.uint64)
    chunks = min(n, 64)
    step = (n + chunks - 1) // chunks
    for c in prange(chunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            _to_affine_chunk(a_jac, out_aff, scratch, lo, hi)


_KIND_NONE = 0  # settled in pass 1 (an operand at infinity, or P + (-P))
_KIND_ADD = 1  # chord: lambda = (y2 - y1) / (x2 - x1)
_KIND_DOUBLE = 2  # tangent (P == Q): lambda = 3 x1^2 / (2 y1)


@njit
def affine_add_chunk(a_aff, q_aff, out_aff, lo, hi, den, prefix, kind):
    """out[i] = a[i] + q[i] for i in [lo, hi), all affine, with ONE Fq2 inversion (Montgomery's
    trick over the slopes' denominators). out may alias a or q. Scratch: den and prefix
    (>= hi rows of (2, 4)), kind (>= hi int8). Cost 5M + 1S (Fq2) per addition; all special
    cases (infinity, P + P, P + (-P)) are handled."""
    acc = FQ2_ONE
    for i in range(lo, hi):
        kind[i] = _KIND_NONE
        a = load_affine(a_aff, i)
        q = load_affine(q_aff, i)
        if affine_is_infinity(q):
            store_affine(out_aff, i, a)
            continue
        if affine_is_infinity(a):
            store_affine(out_aff, i, q)
            continue
        dx = fq2.sub(q[0], a[0])
        if fq2.is_zero(dx):
            if not fq2.eq(q[1], a[1]):  # a == -q
                store_affine(out_aff, i, (FQ2_ZERO, FQ2_ZERO))
                continue
            kind[i] = _KIND_DOUBLE
            dx = fq2.double(a[1])
        else:
            kind[i] = _KIND_ADD
        fq2.store(prefix, i, acc)
        fq2.store(den, i, dx)
        acc = fq2.mul(acc, dx)
    inv = fq2.inv(acc)
    for i in range(hi - 1, lo - 1, -1):
        k = kind[i]
        if k == _KIND_NONE:
            continue
        dinv = fq2.mul(fq2.load(prefix, i), inv)
        inv = fq2.mul(inv, fq2.load(den, i))
        a = load_affine(a_aff, i)
        q = load_affine(q_aff, i)
        if k == _KIND_ADD:
            lam = fq2.mul(fq2.sub(q[1], a[1]), dinv)
        else:
            x2 = fq2.sqr(a[0])
            lam = fq2.mul(fq2.add(fq2.double(x2), x2), dinv)
        x3 = fq2.sub(fq2.sub(fq2.sqr(lam), a[0]), q[0])
        y3 = fq2.sub(fq2.mul(lam, fq2.sub(a[0], x3)), a[1])
        store_affine(out_aff, i, (x3, y3))


@njit(parallel=True, cache=True)
def affine_add_m(a_aff, q_aff, chunk, out_aff):
    """out = a + q elementwise, all affine (out may alias a or q); parallel chunks of
    ``chunk`` points, one Fq2 inversion each."""
    n = a_aff.shape[0]
    den = np.empty((n, 2, 4), dtype=np.uint64)
    prefix = np.empty((n, 2, 4), dtype=np.uint64)
    kind = np.empty(n, dtype=np.int8)
    chunks = (n + chunk - 1) // chunk
    for c in prange(chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        affine_add_chunk(a_aff, q_aff, out_aff, lo, hi, den, prefix, kind)


@njit(parallel=True, cache=True)
def affine_status_m(a_aff, subgroup, out_status):
    """out_status[i] = STATUS_* of point i: canonical coordinates, on the twist (or infinity),
    and, if ``subgroup``, in G2."""
    for i in prange(a_aff.shape[0]):
        out_status[i] = _status_at(a_aff, i, subgroup)


# --- Python API -----------------------------------------------------------------------------------


def _check_shape(a: np.ndarray, coords: int, name: str) -> np.ndarray:
    if (
        not isinstance(a, np.ndarray)
        or a.dtype != np.uint64
        or a.ndim != 4
        or a.shape[1:] != (coords, 2, 4)
    ):
        raise ValueError(
            f"{name} must be an (n, {coords}, 2, 4) uint64 array, got {getattr(a, 'shape', a)!r}"
        )
    return np.ascontiguousarray(a)


_STATUS_TEXT = {
    STATUS_NOT_CANONICAL: "a coordinate is >= p",
    STATUS_NOT_ON_CURVE: "not on the twist y^2 = x^3 + 3/(9+u)",
    STATUS_NOT_IN_SUBGROUP: "on the twist but not in the order-r subgroup",
}


def check_affine(a_aff: np.ndarray, subgroup: bool = False) -> np.ndarray:
    """Raise ValueError unless every point is canonical and on the twist (or infinity) and, if
    ``subgroup``, in G2 (about 0.2 ms per point and core). Returns the (contiguous) array."""
    a_aff = _check_shape(a_aff, 2, "a_aff")
    status = np.empty(a_aff.shape[0], dtype=np.uint8)
    if a_aff.shape[0]:
        affine_status_m(a_aff, subgroup, status)
    bad = np.flatnonzero(status)
    if bad.size:
        i = int(bad[0])
        why = _STATUS_TEXT[int(status[i])]
        raise ValueError(f"invalid G2 point at index {i}: {why} ({bad.size} invalid in all)")
    return a_aff


def affine_from_ints(points: Sequence[ref.G2Point]) -> np.ndarray:
    """Int G2 points (``ref`` convention, infinity all zeros) -> (n, 2, 2, 4) Montgomery."""
    out = np.zeros((len(points), 2, 2, 4), dtype=np.uint64)
    for i, pt in enumerate(points):
        x, y = ref._g2_shape(pt)
        out[i, 0] = fq2.to_mont([x])[0]
        out[i, 1] = fq2.to_mont([y])[0]
    return out


def affine_to_ints(a_aff: np.ndarray) -> list[ref.G2Point]:
    a_aff = _check_shape(a_aff, 2, "a_aff")
    xs = fq2.from_mont(np.ascontiguousarray(a_aff[:, 0]))
    ys = fq2.from_mont(np.ascontiguousarray(a_aff[:, 1]))
    return list(zip(xs, ys, strict=True))


def affine_from_lem(data: bytes, validate: bool = True, subgroup: bool = False) -> np.ndarray:
    """snarkjs LEM bytes (128 per point) -> a fresh writeable (n, 2, 2, 4) array, checked
    (canonical, on the twist; in G2 too if ``subgroup``) unless ``validate=False``."""
    if len(data) % ref.G2_BYTES:
        raise ValueError(f"G2 LEM data length {len(data)} is not a multiple of {ref.G2_BYTES}")
    a = np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(-1, 2, 2, 4)
    return check_affine(a, subgroup=subgroup) if validate else a


def affine_to_lem(a_aff: np.ndarray) -> bytes:
    return _check_shape(a_aff, 2, "a_aff").astype("<u8", copy=False).tobytes()


def add_affine(a_aff: np.ndarray, q_aff: np.ndarray, chunk: int = 256) -> np.ndarray:
    """a + q elementwise (affine in, affine out) by batched affine additions."""
    a_aff = _check_shape(a_aff, 2, "a_aff")
    q_aff = _check_shape(q_aff, 2, "q_aff")
    if a_aff.shape != q_aff.shape:
        raise ValueError(f"shape mismatch: {a_aff.shape} vs {q_aff.shape}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    out = np.empty_like(a_aff)
    if a_aff.shape[0]:
        affine_add_m(a_aff, q_aff, chunk, out)
    return out


def to_affine(a_jac: np.ndarray) -> np.ndarray:
    a_jac = _check_shape(a_jac, 3, "a_jac")
    out = np.empty((a_jac.shape[0], 2, 2, 4), dtype=np.uint64)
    jac_to_affine_m(a_jac, out)
    return out


def to_jacobian(a_aff: np.ndarray) -> np.ndarray:
    a_aff = _check_shape(a_aff, 2, "a_aff")
    out = np.empty((a_aff.shape[0], 3, 2, 4), dtype=np.uint64)
    affine_to_jac_m(a_aff, out)
    return out
