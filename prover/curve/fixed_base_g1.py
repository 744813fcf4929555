"""Fixed-base G1 multiplication: one point times many Fr scalars (powers of tau, SRS generation).

Method: the fixed-base windowing method (Menezes, van Oorschot, Vanstone, Handbook of Applied
Cryptography, Algorithm 14.109) with signed digits (Brickell, Gordon, McCurley, Wilson, "Fast
exponentiation with precomputation", EUROCRYPT '92). For a window of w bits the table holds
T[j][d - 1] = d * 2^(w j) * B for d in 1..2^(w-1) and every window j < W = ceil(255 / w), in
affine coordinates. A scalar k < r is recoded as k = sum_j d_j 2^(w j) with digits in
(-2^(w-1), 2^(w-1)], so k * B = sum_j sign(d_j) T[j][|d_j| - 1]: W additions, no doublings.

The scalars run in chunks in parallel (``prange``). Inside a chunk, window after window, every
accumulator takes its table point at once, in affine coordinates, with one shared inversion for
all the slopes (Montgomery's trick, ``g1.batch_affine_add``): 5M + 1S per addition and the
results come out affine, with no final normalisation.

The window minimises n * W * (cost of an addition) + W * 2^(w-1) * (cost of a table entry);
build a ``FixedBaseTableG1`` once to reuse the table for several scalar arrays.

The plain-Python twin (same signature, ints inside) is ``prover.curve.twin_g1.fixed_base_g1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from prover.curve import g1
from prover.curve.g1 import G1Point
from prover.curve.msm import check_scalars, window_value, windows_for
from prover.field import mont
from prover.field.mont import FR_MOD, RAW_ONE

MIN_WINDOW = 1
MAX_WINDOW = 16
CHUNK = 1024  # scalars per batched-affine chunk (one inversion per chunk and window)

_COST_ADD = 8.0  # batched affine addition + its share of the inversion and the gather
_COST_ENTRY = 18.0  # a table entry: one mixed XYZZ addition + its batch normalisation


def optimal_window(n: int) -> int:
    """The w minimising the modelled cost of n multiplications, table included."""

    def cost(w: int) -> float:
        return windows_for(w) * (n * _COST_ADD + (1 << (w - 1)) * _COST_ENTRY)

    return min(range(MIN_WINDOW, MAX_WINDOW + 1), key=cost)


def chunk_size(n: int) -> int:
    """Scalars per chunk: CHUNK, or fewer so that every thread gets at least two chunks."""
    threads = max(1, numba.get_num_threads())
    return max(32, min(CHUNK, -(-n // (2 * threads))))


# --- table -------------------------------------------------------------------------------------


@njit(cache=True)
def window_bases_m(base_aff, window, out_xyzz):
    """out[j] = 2^(w j) * base (XYZZ) for j < out.shape[0]; base_aff is a (1, 2, 4) array."""
    p = g1.affine_to_xyzz(g1.load_affine(base_aff, 0))
    for j in range(out_xyzz.shape[0]):
        g1.store_xyzz(out_xyzz, j, p)
        for _ in range(window):
            p = g1.xyzz_double(p)


@njit(parallel=True, cache=True)
def table_rows_m(bases_aff, half, out_xyzz):
    """out[j * half + d - 1] = d * bases[j] (XYZZ) for d in 1..half, rows j in parallel."""
    for j in prange(bases_aff.shape[0]):
        b = g1.load_affine(bases_aff, j)
        acc = g1.affine_to_xyzz(b)
        g1.store_xyzz(out_xyzz, j * half, acc)
        for d in range(1, half):
            acc = g1.xyzz_add_affine(acc, b)
            g1.store_xyzz(out_xyzz, j * half + d, acc)


# --- multiplication ----------------------------------------------------------------------------


@njit(cache=True)
def _recode(scalars, montgomery, lo, hi, window, digits):
    """digits[t, j] = the j-th signed digit of scalar lo + t, in (-2^(w-1), 2^(w-1)]."""
    half = 1 << (window - 1)
    full = 1 << window
    for t in range(hi - lo):
        s = mont.load(scalars, lo + t)
        if montgomery:
            s = mont.mul(s, RAW_ONE, FR_MOD)
        carry = 0
        for j in range(digits.shape[1]):
            d = window_value(s, j * window, window) + carry
            if d > half:
                d -= full
                carry = 1
            else:
                carry = 0
            digits[t, j] = d


@njit(cache=True)
def _chunk(table, window, scalars, montgomery, out, lo, hi, windows):
    m = hi - lo
    half = 1 << (window - 1)
    digits = np.empty((m, windows), dtype=np.int32)
    _recode(scalars, montgomery, lo, hi, window, digits)
    q = np.empty((m, 2, 4), dtype=np.uint64)
    den = np.empty((m, 4), dtype=np.uint64)
    prefix = np.empty((m, 4), dtype=np.uint64)
    kind = np.empty(m, dtype=np.int8)
    for t in range(m):
        g1.store_affine(out, lo + t, g1.AFFINE_INFINITY)
    for j in range(windows):
        for t in range(m):
            d = digits[t, j]
            if d == 0:
                g1.store_affine(q, t, g1.AFFINE_INFINITY)
            else:
                e = g1.load_affine(table, j * half + abs(d) - 1)
                g1.store_affine(q, t, (e[0], g1.fq_cond_neg(e[1], d < 0)))
        g1.batch_affine_add(out[lo:hi], q, 0, m, den, prefix, kind)


@njit(parallel=True, cache=True)
def fixed_base_mul_m(table, window, scalars, montgomery, out, chunk):
    """out[i] = scalars[i] * B (affine, infinity all zeros) from B's table (``table_rows_m``
    normalised). ``montgomery``: the scalars are Fr Montgomery limbs (else canonical limbs)."""
    n = scalars.shape[0]
    windows = table.shape[0] >> (window - 1)
    chunks = (n + chunk - 1) // chunk
    for c in prange(chunks):
        lo = c * chunk
        _chunk(table, window, scalars, montgomery, out, lo, min(n, lo + chunk), windows)


# --- Python API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedBaseTableG1:
    """The signed-window table of one base point: ``table_m[j * 2^(w-1) + d - 1]`` is
    d * 2^(w j) * base, affine Montgomery, for j < windows_for(w) and d in 1..2^(w-1)."""

    base: G1Point
    window: int
    table_m: np.ndarray

    @property
    def windows(self) -> int:
        return windows_for(self.window)

    @staticmethod
    def build(base: G1Point, window: int) -> FixedBaseTableG1:
        """Validates the base (ValueError if it is not a G1 point) and builds its table."""
        if not (isinstance(window, int) and MIN_WINDOW <= window <= MAX_WINDOW):
            raise ValueError(
                f"window must be an int in [{MIN_WINDOW}, {MAX_WINDOW}], got {window!r}"
            )
        base_aff = g1.ints_to_affine_m([base])
        windows, half = windows_for(window), 1 << (window - 1)
        bases = np.empty((windows, 4, 4), dtype=np.uint64)
        window_bases_m(base_aff, window, bases)
        bases_aff = np.empty((windows, 2, 4), dtype=np.uint64)
        g1.xyzz_to_affine_m(bases, bases_aff)
        rows = np.empty((windows * half, 4, 4), dtype=np.uint64)
        table_rows_m(bases_aff, half, rows)
        table = np.empty((windows * half, 2, 4), dtype=np.uint64)
        g1.xyzz_to_affine_m(rows, table)
        return FixedBaseTableG1(tuple(base), window, table)

    def multiply(self, scalars: np.ndarray, *, montgomery: bool = True) -> np.ndarray:
        """scalars[i] * base for an (n, 4) uint64 array of Fr elements (Montgomery limbs, or
        canonical limbs with ``montgomery=False``), each < r; returns (n, 2, 4) affine
        Montgomery points, infinity all zeros."""
        check_scalars(scalars, None, "scalars_m" if montgomery else "scalars")
        n = scalars.shape[0]
        out = np.zeros((n, 2, 4), dtype=np.uint64)
        if n:
            fixed_base_mul_m(self.table_m, self.window, scalars, montgomery, out, chunk_size(n))
        return out


def fixed_base_g1(
    base_affine_int: G1Point, scalars_m: np.ndarray, *, window: int | None = None
) -> np.ndarray:
    """[s_i] base for Fr Montgomery scalars (n, 4): an (n, 2, 4) affine Montgomery array
    (infinity all zeros). The base is a canonical int pair (x, y) ((0, 0): infinity); ValueError
    if it is not a G1 point or a scalar is not a canonical Fr element."""
    check_scalars(scalars_m)
    w = optimal_window(scalars_m.shape[0]) if window is None else window
    return FixedBaseTableG1.build(base_affine_int, w).multiply(scalars_m)
