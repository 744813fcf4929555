"""Array kernels on (n, 4) uint64 Montgomery arrays, parallel over elements (``prange``).

Each kernel takes its output array explicitly (it may alias an input) and the modulus tuple of
``prover.field.mont`` (``FR_MOD`` or ``FQ_MOD``). ``MontField`` wraps them in a friendlier,
allocating API. The plain-Python twins, with the same signatures, are in ``prover.field.twin``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from prover import params
from prover.field import mont


@njit(parallel=True, cache=True)
def add_m(a_m, b_m, out_m, mod):
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.add(mont.load(a_m, i), mont.load(b_m, i), mod))


@njit(parallel=True, cache=True)
def sub_m(a_m, b_m, out_m, mod):
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.sub(mont.load(a_m, i), mont.load(b_m, i), mod))


@njit(parallel=True, cache=True)
def neg_m(a_m, out_m, mod):
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.neg(mont.load(a_m, i), mod))


@njit(parallel=True, cache=True)
def mul_m(a_m, b_m, out_m, mod):
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.mul(mont.load(a_m, i), mont.load(b_m, i), mod))


@njit(parallel=True, cache=True)
def sqr_m(a_m, out_m, mod):
    for i in prange(a_m.shape[0]):
        x = mont.load(a_m, i)
        mont.store(out_m, i, mont.mul(x, x, mod))


@njit(parallel=True, cache=True)
def scale_m(a_m, s, out_m, mod):
    """out = a * s for one Montgomery element s (a 4-tuple)."""
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.mul(mont.load(a_m, i), s, mod))


@njit(parallel=True, cache=True)
def pow_m(a_m, e, out_m, one, mod):
    """out = a^e elementwise, e as four little-endian uint64 limbs."""
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.pow_limbs(mont.load(a_m, i), e, one, mod))


@njit(parallel=True, cache=True)
def inv_m(a_m, out_m, one, mod):
    """out = a^-1 elementwise by Fermat (0 -> 0). Prefer batch_inv_m for arrays."""
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.inv(mont.load(a_m, i), one, mod))


@njit(cache=True)
def _batch_inv_chunk(a_m, out_m, prefix_m, lo, hi, one, mod):
    """Montgomery's trick on rows [lo, hi): one inversion, 3 multiplications per element.
    Zeros are skipped and map to zero. out_m may alias a_m (prefix_m is scratch)."""
    acc = one
    for i in range(lo, hi):
        mont.store(prefix_m, i, acc)  # product of the non-zero rows before i
        x = mont.load(a_m, i)
        if not mont.is_zero(x):
            acc = mont.mul(acc, x, mod)
    acc_inv = mont.inv(acc, one, mod)
    for i in range(hi - 1, lo - 1, -1):
        x = mont.load(a_m, i)
        if mont.is_zero(x):
            mont.store(out_m, i, x)
            continue
        mont.store(out_m, i, mont.mul(mont.load(prefix_m, i), acc_inv, mod))
        acc_inv = mont.mul(acc_inv, x, mod)


@njit(parallel=True, cache=True)
def batch_inv_m(a_m, out_m, one, mod):
    """Elementwise inverse (0 -> 0) in parallel chunks, each with Montgomery's trick."""
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
            _batch_inv_chunk(a_m, out_m, prefix_m, lo, hi, one, mod)


@njit(parallel=True, cache=True)
def all_canonical(raw, mod):
    """True if every row (plain limbs) is < the modulus."""
    bad = 0
    for i in prange(raw.shape[0]):
        _, borrow = mont.sbb(raw[i, 0], mod[0], np.uint64(0))
        _, borrow = mont.sbb(raw[i, 1], mod[1], borrow)
        _, borrow = mont.sbb(raw[i, 2], mod[2], borrow)
        _, borrow = mont.sbb(raw[i, 3], mod[3], borrow)
        if borrow == 0:
            bad += 1
    return bad == 0


@njit(cache=True)
def sum_m(a_m, mod):
    acc = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    for i in range(a_m.shape[0]):
        acc = mont.add(acc, mont.load(a_m, i), mod)
    return acc


@njit(cache=True)
def powers_m(base, n, one, out_m, mod):
    """out[i] = base^i for i < n (sequential)."""
    acc = one
    for i in range(n):
        mont.store(out_m, i, acc)
        acc = mont.mul(acc, base, mod)


def _as_tuple(x: int) -> tuple:
    return tuple(np.uint64(v) for v in params.to_limbs(x))


def _check(a: np.ndarray, name: str) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.uint64 or a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name} must be an (n, 4) uint64 array, got {getattr(a, 'shape', a)!r}")
    if not a.flags.c_contiguous or not a.flags.writeable and name == "out":
        raise ValueError(f"{name} must be C-contiguous (and writeable for outputs)")


@dataclass(frozen=True)
class MontField:
    """A prime field's kernels bound to its modulus; every method allocates its output."""

    name: str
    modulus: int
    mod: tuple  # (m0, m1, m2, m3, -m^-1 mod 2^64) as np.uint64
    one: tuple  # R mod m: the Montgomery form of 1
    r2: tuple  # R^2 mod m

    def _out(self, a: np.ndarray, *others: np.ndarray) -> np.ndarray:
        _check(a, "a_m")
        for b in others:
            _check(b, "b_m")
            if b.shape != a.shape:
                raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
        return np.empty_like(a)

    def element(self, x: int) -> tuple:
        """The Montgomery tuple of a canonical int (for scalar kernel arguments)."""
        if not 0 <= x < self.modulus:
            raise ValueError(f"{self.name} element out of range: {x}")
        return _as_tuple(x * (1 << params.MONT_R_BITS) % self.modulus)

    def element_int(self, t: tuple) -> int:
        v = sum(int(w) << (64 * k) for k, w in enumerate(t))
        return v * pow(1 << params.MONT_R_BITS, -1, self.modulus) % self.modulus

    def add(self, a_m, b_m):
        out = self._out(a_m, b_m)
        add_m(a_m, b_m, out, self.mod)
        return out

    def sub(self, a_m, b_m):
        out = self._out(a_m, b_m)
        sub_m(a_m, b_m, out, self.mod)
        return out

    def neg(self, a_m):
        out = self._out(a_m)
        neg_m(a_m, out, self.mod)
        return out

    def mul(self, a_m, b_m):
        out = self._out(a_m, b_m)
        mul_m(a_m, b_m, out, self.mod)
        return out

    def sqr(self, a_m):
        out = self._out(a_m)
        sqr_m(a_m, out, self.mod)
        return out

    def scale(self, a_m, s: int):
        out = self._out(a_m)
        scale_m(a_m, self.element(s), out, self.mod)
        return out

    def pow(self, a_m, e: int):
        if e < 0:
            return self.pow(self.batch_inv(a_m), -e)
        out = self._out(a_m)
        pow_m(a_m, _as_tuple(e), out, self.one, self.mod)
        return out

    def inv(self, a_m):
        """Elementwise inverse by Fermat; a zero element raises ZeroDivisionError."""
        out = self._out(a_m)
        inv_m(a_m, out, self.one, self.mod)
        self._no_zero(a_m)
        return out

    def batch_inv(self, a_m):
        """Elementwise inverse by Montgomery's trick; a zero element raises ZeroDivisionError."""
        self._no_zero(a_m)
        out = self._out(a_m)
        batch_inv_m(a_m, out, self.one, self.mod)
        return out

    def _no_zero(self, a_m) -> None:
        if a_m.shape[0] and not a_m.any(axis=1).all():
            raise ZeroDivisionError(f"inverse of zero in {self.name}")

    def from_raw(self, raw):
        """Plain limbs (< m) -> Montgomery form."""
        out = self._out(raw)
        scale_m(raw, self.r2, out, self.mod)
        return out

    def to_raw(self, a_m):
        """Montgomery form -> plain limbs."""
        out = self._out(a_m)
        scale_m(a_m, mont.RAW_ONE, out, self.mod)
        return out

    def sum(self, a_m) -> tuple:
        _check(a_m, "a_m")
        return sum_m(a_m, self.mod)

    def powers(self, base: int, n: int):
        out = np.empty((n, 4), dtype=np.uint64)
        powers_m(self.element(base), n, self.one, out, self.mod)
        return out


FR_M = MontField("Fr", params.R_ORDER, mont.FR_MOD, mont.FR_ONE, mont.FR_R2)
FQ_M = MontField("Fq", params.P, mont.FQ_MOD, mont.FQ_ONE, mont.FQ_R2)
