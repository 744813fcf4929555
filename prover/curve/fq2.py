"""Fq2 = Fq[u]/(u^2 + 1) for Numba kernels: scalar ops on Montgomery tuples and array kernels.

An element is a pair ``(c0, c1)`` of Fq Montgomery 4-tuples (``prover.field.mont``), meaning
c0 + c1*u with c0 the real part. Arrays of elements are ``(n, 2, 4)`` uint64, [element][c0|c1]
[limb], names ending in ``_m``. The scalar functions are the building blocks of the G2 kernels;
the ``*_m`` array kernels are parallel over elements.

The scalar functions are plain ``@njit`` (not ``inline="always"``): LLVM inlines them anyway, and
Numba-level inlining made the G2 kernels compile 3x slower and run ~1.5x slower.

Multiplication is Karatsuba (3 Fq multiplications), squaring the complex method
(a0 + a1)(a0 - a1), 2 a0 a1 (2 multiplications), inversion through the norm
1/a = conj(a) / (a0^2 + a1^2) (one Fq inversion): see Devegili, O hEigeartaigh, Scott, Dahab,
"Multiplication and squaring on pairing-friendly fields" (ePrint 2006/471).
The plain-Python twins, same signatures, are in ``prover.curve.twin_g2``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from prover import params
from prover.field import mont
from prover.field.mont import FQ_MOD, FQ_ONE, ZERO

_MONT_R = 1 << params.MONT_R_BITS


def mont_fq(x: int) -> tuple:
    """The Fq Montgomery 4-tuple (np.uint64 limbs) of a canonical int."""
    if not 0 <= x < params.P:
        raise ValueError(f"Fq element out of range [0, p): {x}")
    return tuple(np.uint64(v) for v in params.to_limbs(x * _MONT_R % params.P))


def mont_fq2(a: tuple[int, int]) -> tuple:
    """The Fq2 Montgomery pair of an int pair (c0, c1)."""
    return mont_fq(a[0]), mont_fq(a[1])


def fq_int(t: tuple) -> int:
    """Canonical int of an Fq Montgomery 4-tuple."""
    v = sum(int(w) << (64 * k) for k, w in enumerate(t))
    return v * pow(_MONT_R, -1, params.P) % params.P


def fq2_int(a: tuple) -> tuple[int, int]:
    return fq_int(a[0]), fq_int(a[1])


FQ2_ZERO = (ZERO, ZERO)
FQ2_ONE = (FQ_ONE, ZERO)
TWIST_B_M = mont_fq2(params.TWIST_B)  # b' = 3 / (9 + u), Montgomery


# --- scalar building blocks ------------------------------------------------------------------


@njit
def add(a, b):
    return mont.add(a[0], b[0], FQ_MOD), mont.add(a[1], b[1], FQ_MOD)


@njit
def sub(a, b):
    return mont.sub(a[0], b[0], FQ_MOD), mont.sub(a[1], b[1], FQ_MOD)


@njit
def double(a):
    return mont.add(a[0], a[0], FQ_MOD), mont.add(a[1], a[1], FQ_MOD)


@njit
def neg(a):
    return mont.neg(a[0], FQ_MOD), mont.neg(a[1], FQ_MOD)


@njit
def conj(a):
    return a[0], mont.neg(a[1], FQ_MOD)


@njit
def mul(a, b):
    """Karatsuba: (a0 b0 - a1 b1) + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u."""
    v0 = mont.mul(a[0], b[0], FQ_MOD)
    v1 = mont.mul(a[1], b[1], FQ_MOD)
    s = mont.mul(mont.add(a[0], a[1], FQ_MOD), mont.add(b[0], b[1], FQ_MOD), FQ_MOD)
    return mont.sub(v0, v1, FQ_MOD), mont.sub(mont.sub(s, v0, FQ_MOD), v1, FQ_MOD)


@njit
def sqr(a):
    """Complex squaring: (a0 + a1)(a0 - a1) + 2 a0 a1 u."""
    t = mont.mul(a[0], a[1], FQ_MOD)
    c0 = mont.mul(mont.add(a[0], a[1], FQ_MOD), mont.sub(a[0], a[1], FQ_MOD), FQ_MOD)
    return c0, mont.add(t, t, FQ_MOD)


@njit
def mul_fq(a, s):
    """a * s for an Fq element s (a Montgomery 4-tuple)."""
    return mont.mul(a[0], s, FQ_MOD), mont.mul(a[1], s, FQ_MOD)


@njit
def inv(a):
    """1 / a = conj(a) / (a0^2 + a1^2); the inverse of 0 is 0 (callers check)."""
    norm = mont.add(mont.mul(a[0], a[0], FQ_MOD), mont.mul(a[1], a[1], FQ_MOD), FQ_MOD)
    t = mont.inv(norm, FQ_ONE, FQ_MOD)
    return mont.mul(a[0], t, FQ_MOD), mont.neg(mont.mul(a[1], t, FQ_MOD), FQ_MOD)


@njit
def is_zero(a):
    return mont.is_zero(a[0]) and mont.is_zero(a[1])


@njit
def eq(a, b):
    return mont.eq(a[0], b[0]) and mont.eq(a[1], b[1])


@njit
def is_canonical(a):
    """Both coordinates (raw Montgomery limbs) below p."""
    _, b0 = mont.sbb(a[0][0], FQ_MOD[0], np.uint64(0))
    _, b0 = mont.sbb(a[0][1], FQ_MOD[1], b0)
    _, b0 = mont.sbb(a[0][2], FQ_MOD[2], b0)
    _, b0 = mont.sbb(a[0][3], FQ_MOD[3], b0)
    _, b1 = mont.sbb(a[1][0], FQ_MOD[0], np.uint64(0))
    _, b1 = mont.sbb(a[1][1], FQ_MOD[1], b1)
    _, b1 = mont.sbb(a[1][2], FQ_MOD[2], b1)
    _, b1 = mont.sbb(a[1][3], FQ_MOD[3], b1)
    return b0 == 1 and b1 == 1


@njit
def load(a, i):
    """Element i of an (n, 2, 4) array."""
    return (
        (a[i, 0, 0], a[i, 0, 1], a[i, 0, 2], a[i, 0, 3]),
        (a[i, 1, 0], a[i, 1, 1], a[i, 1, 2], a[i, 1, 3]),
    )


@njit
def store(a, i, x):
    for c in range(2):
        for k in range(4):
            a[i, c, k] = x[c][k]


# --- array kernels on (n, 2, 4) -----------------------------------------------------------------
# prange bodies call per-element helpers: Numba's parfor array analysis trips on nested tuples
# unpacked inside a prange body (an AssertionError "Dimension mismatch").


@njit
def _add_at(a_m, b_m, out_m, i):
    store(out_m, i, add(load(a_m, i), load(b_m, i)))


@njit
def _sub_at(a_m, b_m, out_m, i):
    store(out_m, i, sub(load(a_m, i), load(b_m, i)))


@njit
def _neg_at(a_m, out_m, i):
    store(out_m, i, neg(load(a_m, i)))


@njit
def _mul_at(a_m, b_m, out_m, i):
    store(out_m, i, mul(load(a_m, i), load(b_m, i)))


@njit
def _sqr_at(a_m, out_m, i):
    store(out_m, i, sqr(load(a_m, i)))


@njit
def _mul_fq_at(a_m, s_m, out_m, i):
    store(out_m, i, mul_fq(load(a_m, i), mont.load(s_m, i)))


@njit
def _inv_at(a_m, out_m, i):
    store(out_m, i, inv(load(a_m, i)))


@njit
def _eq_at(a_m, b_m, i):
    return eq(load(a_m, i), load(b_m, i))


@njit
def _is_zero_at(a_m, i):
    return is_zero(load(a_m, i))


@njit(parallel=True, cache=True)
def add_m(a_m, b_m, out_m):
    for i in prange(a_m.shape[0]):
        _add_at(a_m, b_m, out_m, i)


@njit(parallel=True, cache=True)
def sub_m(a_m, b_m, out_m):
    for i in prange(a_m.shape[0]):
        _sub_at(a_m, b_m, out_m, i)


@njit(parallel=True, cache=True)
def neg_m(a_m, out_m):
    for i in prange(a_m.shape[0]):
        _neg_at(a_m, out_m, i)


@njit(parallel=True, cache=True)
def mul_m(a_m, b_m, out_m):
    for i in prange(a_m.shape[0]):
        _mul_at(a_m, b_m, out_m, i)


@njit(parallel=True, cache=True)
def sqr_m(a_m, out_m):
    for i in prange(a_m.shape[0]):
        _sqr_at(a_m, out_m, i)


@njit(parallel=True, cache=True)
def mul_fq_m(a_m, s_m, out_m):
    """out[i] = a[i] * s[i] with s an (n, 4) Fq Montgomery array."""
    for i in prange(a_m.shape[0]):
        _mul_fq_at(a_m, s_m, out_m, i)


@njit(parallel=True, cache=True)
def inv_m(a_m, out_m):
    """Elementwise inverse (one Fq inversion each; 0 -> 0). Prefer batch_inv_m for arrays."""
    for i in prange(a_m.shape[0]):
        _inv_at(a_m, out_m, i)


@njit(parallel=True, cache=True)
def eq_m(a_m, b_m, out):
    """out[i] = a[i] == b[i] (out: bool array)."""
    for i in prange(a_m.shape[0]):
        out[i] = _eq_at(a_m, b_m, i)


@njit(parallel=True, cache=True)
def is_zero_m(a_m, out):
    for i in prange(a_m.shape[0]):
        out[i] = _is_zero_at(a_m, i)


# --- conversions (the Fq2 analogue of prover.field.convert) ----------------------------------


def to_mont(values: list[tuple[int, int]]) -> np.ndarray:
    """Canonical int pairs -> (n, 2, 4) Montgomery array (ValueError on x >= p)."""
    out = np.zeros((len(values), 2, 4), dtype=np.uint64)
    for i, v in enumerate(values):
        if not isinstance(v, (tuple, list)) or len(v) != 2:
            raise ValueError(f"Fq2 element must be a pair (c0, c1), got {v!r}")
        for c in range(2):
            out[i, c] = mont_fq(v[c])
    return out


def from_mont(a_m: np.ndarray) -> list[tuple[int, int]]:
    """(n, 2, 4) Montgomery array -> canonical int pairs."""
    if a_m.ndim != 3 or a_m.shape[1:] != (2, 4) or a_m.dtype != np.uint64:
        raise ValueError(f"expected an (n, 2, 4) uint64 array, got {a_m.shape} {a_m.dtype}")
    return [(fq_int(tuple(a_m[i, 0])), fq_int(tuple(a_m[i, 1]))) for i in range(a_m.shape[0])]


@njit(cache=True)
def _batch_inv_chunk(a_m, out_m, prefix_m, lo, hi):
    """Montgomery's trick on rows [lo, hi); zeros map to zero. out_m may alias a_m."""
    acc = FQ2_ONE
    for i in range(lo, hi):
        store(prefix_m, i, acc)
        x = load(a_m, i)
        if not is_zero(x):
            acc = mul(acc, x)
    acc_inv = inv(acc)
    for i in range(hi - 1, lo - 1, -1):
        x = load(a_m, i)
        if is_zero(x):
            store(out_m, i, x)
            continue
        store(out_m, i, mul(load(prefix_m, i), acc_inv))
        acc_inv = mul(acc_inv, x)


@njit(parallel=True, cache=True)
def batch_inv_m(a_m, out_m):
    """Elementwise inverse (0 -> 0) by Montgomery's trick in parallel chunks."""
    n = a_m.shape[0]
    if n == 0:
        return
    prefix_m = np.empty_like(a_m)
    chunks = min(n, 64)
    step = (n + chunks - 1) // chunks
    for c in prange(chunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            _batch_inv_chunk(a_m, out_m, prefix_m, lo, hi)
