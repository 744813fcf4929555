"""Fixed-base G2 multiplication: one point times many Fr scalars (powers of tau, Lagrange bases).

Method: the fixed-base comb with signed windows (the "fixed-base windowing" of Menezes, van
Oorschot, Vanstone, Handbook of Applied Cryptography, Algorithm 14.109, with signed digits as in
Brickell, Gordon, McCurley, Wilson, "Fast exponentiation with precomputation", EUROCRYPT '92).
For a window of w bits, the table holds T[j][d - 1] = d * 2^(w j) * B for d in 1..2^(w-1) and
every window j, in affine coordinates. A scalar k is recoded into signed digits
k = sum_j d_j 2^(w j) with d_j in [-(2^(w-1) - 1), 2^(w-1)], and k * B = sum_j +-T[j][|d_j| - 1]:
one addition per window and NO doublings.

The additions are affine and batched (``fixed_base_mul_affine_m``): the scalars go in chunks,
and window after window every accumulator of a chunk takes its table point at once, the slopes'
denominators inverted together by Montgomery's trick (one Fq2 inversion per chunk and window):
5M + 1S in Fq2 per addition instead of 7M + 4S for a mixed Jacobian addition, and the results
come out affine with no normalisation pass. ``fixed_base_mul_m`` is the plain per-scalar
Jacobian version (kept as a cross-check). Chunks / scalars run in parallel (prange).

The table itself is built in log2(2^(w-1)) batched affine additions (``build_table``). The
window minimises n * W + c * W * 2^(w-1) (W = floor(254 / w) + 1 windows, c ~ the cost of one
table entry relative to one addition); build a ``FixedBaseTableG2`` once to reuse it for several
scalar arrays on the same base (the powers of tau and the Lagrange points share G2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange, types

from prover import params
from prover.curve import fq2, g2, ref
from prover.field import kernels, mont
from prover.field.mont import FR_MOD, RAW_ONE

_U64 = types.uint64
SCALAR_BITS = 254  # r < 2^254
MAX_WINDOW = 16
CHUNK = 512
_TABLE_ENTRY_COST = 1.6  # measured: entries ~ additions, plus cache misses of big tables


def windows_for(window: int) -> int:
    """Number of signed windows: W * w > 254, so the top digit never carries out."""
    return SCALAR_BITS // window + 1


def default_chunk(n: int) -> int:
    """Scalars per batched-affine chunk: big enough to amortise one Fq2 inversion per window,
    small enough for the accumulators to stay in cache and to spread over the threads."""
    threads = max(1, numba.get_num_threads())
    return max(16, min(CHUNK, -(-n // (4 * threads))))


def optimal_window(n: int) -> int:
    """The window minimising (additions per scalar) * n + (table entries) * their cost."""

    def cost(w: int) -> float:
        return windows_for(w) * (n + _TABLE_ENTRY_COST * (1 << (w - 1)))

    return min(range(2, MAX_WINDOW + 1), key=cost)


# --- kernels ----------------------------------------------------------------------------------


@njit(cache=True)
def window_bases_m(base_aff, window, windows, out_jac):
    """out[j] = 2^(w j) * base for j < windows (sequential doublings); base_aff is (1, 2, 2, 4)."""
    p = g2.affine_to_jac(g2.load_affine(base_aff, 0))
    for j in range(windows):
        g2.store_jac(out_jac, j, p)
        for _ in range(window):
            p = g2.jac_double(p)


@njit
def window_value(s, bit, window):
    """Bits [bit, bit + window) of a 256-bit scalar given as four little-endian uint64 limbs."""
    limb = bit >> 6
    if limb >= 4:
        return 0
    off = bit & 63
    v = s[limb] >> _U64(off)
    if off + window > 64 and limb < 3:
        v |= s[limb + 1] << _U64(64 - off)
    return np.int64(v & ((_U64(1) << _U64(window)) - _U64(1)))


@njit
def _fixed_base_at(table_aff, window, windows, scalars_m, out_jac, i):
    s = mont.mul(mont.load(scalars_m, i), RAW_ONE, FR_MOD)  # out of Montgomery form
    half = 1 << (window - 1)
    full = 1 << window
    acc = g2.JAC_INFINITY
    carry = 0
    for j in range(windows):
        d = window_value(s, j * window, window) + carry
        if d > half:
            d -= full
            carry = 1
        else:
            carry = 0
        if d > 0:
            acc = g2.jac_add_mixed(acc, g2.load_affine(table_aff, j * half + d - 1))
        elif d < 0:
            q = g2.load_affine(table_aff, j * half - d - 1)
            acc = g2.jac_add_mixed(acc, g2.affine_neg(q))
    g2.store_jac(out_jac, i, acc)


@njit(parallel=True, cache=True)
def fixed_base_mul_m(table_aff, window, windows, scalars_m, out_jac):
    """out[i] = scalars[i] * B (Jacobian) from the signed-window table of B; scalars in Fr
    Montgomery form, (n, 4)."""
    for i in prange(scalars_m.shape[0]):
        _fixed_base_at(table_aff, window, windows, scalars_m, out_jac, i)


@njit
def _recode(scalars_m, lo, hi, window, windows, digits):
    """digits[t, j] = the j-th signed digit of scalar lo + t (in [-(2^(w-1) - 1), 2^(w-1)])."""
    half = 1 << (window - 1)
    full = 1 << window
    for t in range(hi - lo):
        s = mont.mul(mont.load(scalars_m, lo + t), RAW_ONE, FR_MOD)  # out of Montgomery form
        carry = 0
        for j in range(windows):
            d = window_value(s, j * window, window) + carry
            if d > half:
                d -= full
                carry = 1
            else:
                carry = 0
            digits[t, j] = d


@njit
def _gather(table_aff, half, j, digits, qbuf):
    """qbuf[t] = sign(d) * T[j][|d| - 1] for d = digits[t, j]; all zeros (infinity) if d == 0."""
    for t in range(qbuf.shape[0]):
        d = digits[t, j]
        if d > 0:
            g2.store_affine(qbuf, t, g2.load_affine(table_aff, j * half + d - 1))
        elif d < 0:
            g2.store_affine(qbuf, t, g2.affine_neg(g2.load_affine(table_aff, j * half - d - 1)))
        else:
            g2.store_affine(qbuf, t, (fq2.FQ2_ZERO, fq2.FQ2_ZERO))


@njit
def _affine_chunk(table_aff, window, windows, scalars_m, out_aff, lo, hi):
    """Scalars [lo, hi): affine accumulators in out_aff, one batched addition per window."""
    m = hi - lo
    half = 1 << (window - 1)
    digits = np.empty((m, windows), dtype=np.int32)
    _recode(scalars_m, lo, hi, window, windows, digits)
    acc = out_aff[lo:hi]
    acc[:] = 0  # infinity
    qbuf = np.empty((m, 2, 2, 4), dtype=np.uint64)
    den = np.empty((m, 2, 4), dtype=np.uint64)
    prefix = np.empty((m, 2, 4), dtype=np.uint64)
    kind = np.empty(m, dtype=np.int8)
    for j in range(windows):
        _gather(table_aff, half, j, digits, qbuf)
        g2.affine_add_chunk(acc, qbuf, acc, 0, m, den, prefix, kind)


@njit(parallel=True, cache=True)
def fixed_base_mul_affine_m(table_aff, window, windows, scalars_m, chunk, out_aff):
    """out[i] = scalars[i] * B (affine, infinity all zeros) by batched affine additions.

    The scalars go in chunks of ``chunk`` (in parallel); inside a chunk, window after window,
    all accumulators take their table point at once with Montgomery's trick for the slopes'
    denominators: 5M + 1S in Fq2 per addition against 7M + 4S for a mixed Jacobian addition,
    and no final normalisation."""
    n = scalars_m.shape[0]
    chunks = (n + chunk - 1) // chunk
    for c in prange(chunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        _affine_chunk(table_aff, window, windows, scalars_m, out_aff, lo, hi)


def build_table(base: ref.G2Point, window: int) -> np.ndarray:
    """The (windows * 2^(w-1), 2, 2, 4) affine table of a (validated) base point.

    Row j starts at B_j = 2^(w j) B (sequential doublings) and doubles its length at each step,
    T[m + i] = T[i] + T[m - 1], every window at once in one batched affine addition."""
    windows = windows_for(window)
    half = 1 << (window - 1)
    bases_jac = np.empty((windows, 3, 2, 4), dtype=np.uint64)
    window_bases_m(g2.affine_from_ints([base]), window, windows, bases_jac)
    table = np.empty((windows, half, 2, 2, 4), dtype=np.uint64)
    table[:, 0] = g2.to_affine(bases_jac)
    m = 1
    while m < half:
        k = min(m, half - m)
        a = np.ascontiguousarray(table[:, :k]).reshape(-1, 2, 2, 4)
        q = np.ascontiguousarray(np.repeat(table[:, m - 1 : m], k, axis=1)).reshape(-1, 2, 2, 4)
        table[:, m : m + k] = g2.add_affine(a, q).reshape(windows, k, 2, 2, 4)
        m += k
    return table.reshape(windows * half, 2, 2, 4)


# --- Python API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedBaseTableG2:
    """The signed-window table of one G2 point: ``table_m[j * 2^(w-1) + d - 1] = d 2^(wj) B``."""

    base: ref.G2Point
    window: int
    windows: int
    table_m: np.ndarray  # (windows * 2^(window-1), 2, 2, 4) affine Montgomery

    @classmethod
    def build(cls, base: ref.G2Point, window: int | None = None, n_hint: int = 1 << 16):
        """Validate ``base`` (on the twist, in G2) and precompute its table; the window defaults
        to the best one for about ``n_hint`` scalars."""
        base = ref.check_g2(base, subgroup=False)
        g2.check_affine(g2.affine_from_ints([base]), subgroup=True)  # psi test: 0.2 ms, not 40
        if window is None:
            window = optimal_window(n_hint)
        if not 2 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be in [2, {MAX_WINDOW}], got {window}")
        windows = windows_for(window)
        return cls(base, window, windows, build_table(base, window))

    def multiply_jacobian(self, scalars_m: np.ndarray) -> np.ndarray:
        scalars_m = _check_scalars(scalars_m)
        out = np.empty((scalars_m.shape[0], 3, 2, 4), dtype=np.uint64)
        if scalars_m.shape[0]:
            fixed_base_mul_m(self.table_m, self.window, self.windows, scalars_m, out)
        return out

    def multiply(self, scalars_m: np.ndarray, chunk: int | None = None) -> np.ndarray:
        """(n, 2, 2, 4) affine Montgomery points scalars[i] * B (infinity all zeros)."""
        scalars_m = _check_scalars(scalars_m)
        n = scalars_m.shape[0]
        out = np.empty((n, 2, 2, 4), dtype=np.uint64)
        if n:
            if chunk is None:
                chunk = default_chunk(n)
            fixed_base_mul_affine_m(self.table_m, self.window, self.windows, scalars_m, chunk, out)
        return out


def _check_scalars(scalars_m: np.ndarray) -> np.ndarray:
    if (
        not isinstance(scalars_m, np.ndarray)
        or scalars_m.dtype != np.uint64
        or scalars_m.ndim != 2
        or scalars_m.shape[1] != 4
    ):
        raise ValueError(
            f"scalars_m must be an (n, 4) uint64 Fr Montgomery array, "
            f"got {getattr(scalars_m, 'shape', scalars_m)!r}"
        )
    scalars_m = np.ascontiguousarray(scalars_m)
    if scalars_m.shape[0] and not kernels.all_canonical(scalars_m, FR_MOD):
        raise ValueError("scalars_m holds a word >= r (not a canonical Fr Montgomery element)")
    return scalars_m


def fixed_base_g2(
    base_int: ref.G2Point, scalars_m: np.ndarray, window: int | None = None
) -> np.ndarray:
    """scalars[i] * base for every i, as an (n, 2, 2, 4) affine Montgomery array.

    ``base_int`` is an int G2 point (``prover.curve.ref`` convention), validated including the
    subgroup check; ``scalars_m`` an (n, 4) Fr Montgomery array."""
    scalars_m = _check_scalars(scalars_m)
    n = scalars_m.shape[0]
    table = FixedBaseTableG2.build(base_int, window=window, n_hint=max(n, 1))
    return table.multiply(scalars_m)


assert params.R_ORDER.bit_length() == SCALAR_BITS
