"""Multiplicative evaluation domains H = <omega> of size n = 2^k in Fr, with their NTT tables.

The roots of unity are snarkjs's (``prover.params.fr_root_of_unity``): omega_k = w_28^(2^(28-k))
with w_28 = 5^((r-1)/2^28), so domains, evaluations and proofs agree with snarkjs bit for bit.
The coset used for quotient evaluations is shift * H with shift = ``params.COSET_SHIFT`` = 5, a
quadratic non-residue, so shift * H is disjoint from every 2-adic subgroup (PLONK, Gabizon,
Williamson, Ciobotaru, ePrint 2019/953, section 8.3; the vanishing polynomial of H is
Z_H(x) = x^n - 1, and L_i(x) = omega^i (x^n - 1) / (n (x - omega^i)) is its Lagrange basis).

Twiddle table layout (``Domain.twiddles_m``): an (n, 4) Montgomery array ``tw`` with
``tw[h + j] = omega_{2h}^j`` for every stage half-size h = 1, 2, 4, ..., n/2 and 0 <= j < h
(row 0 holds 1). Each stage of a radix-2 NTT reads one contiguous slice ``tw[h:2h]``, and the
table of a domain of size n is a prefix of the table of any larger domain.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from prover import params
from prover.field import mont
from prover.field.kernels import FR_M

R = params.R_ORDER
MAX_LOG_SIZE = params.FR_TWO_ADICITY  # 28


@njit(inline="always")
def pow_small(x, e):
    """x^e for a non-negative int64 exponent e (Montgomery tuples, square and multiply)."""
    acc = mont.FR_ONE
    while e > 0:
        if e & 1:
            acc = mont.mul(acc, x, mont.FR_MOD)
        x = mont.mul(x, x, mont.FR_MOD)
        e >>= 1
    return acc


@njit(cache=True)
def geometric_starts(start, ratio, n, chunks):
    """Row c: start * ratio^(c * step) with step = ceil(n / chunks), for chunked geometric scans."""
    step = (n + chunks - 1) // chunks
    ratio_step = pow_small(ratio, step)
    starts = np.empty((chunks, 4), dtype=np.uint64)
    acc = start
    for c in range(chunks):
        mont.store(starts, c, acc)
        acc = mont.mul(acc, ratio_step, mont.FR_MOD)
    return starts


@njit(parallel=True, cache=True)
def geometric_m(start, ratio, out_m):
    """out[i] = start * ratio^i (Montgomery tuples), in parallel chunks."""
    n = out_m.shape[0]
    if n == 0:
        return
    chunks = min(n, 64)
    step = (n + chunks - 1) // chunks
    starts = geometric_starts(start, ratio, n, chunks)
    for c in prange(chunks):
        x = mont.load(starts, c)
        for i in range(c * step, min(n, (c + 1) * step)):
            mont.store(out_m, i, x)
            x = mont.mul(x, ratio, mont.FR_MOD)


# The largest twiddle table built so far: every smaller domain's table is a prefix of it, so PLONK's
# n and 4n domains share one table (a read-only view serves the smaller one).
_twiddle_table: np.ndarray | None = None
_twiddle_lock = threading.Lock()


def _build_twiddles(k: int) -> np.ndarray:
    n = 1 << k
    tw = np.empty((n, 4), dtype=np.uint64)
    tw[0] = FR_M.element(1)
    if n >= 2:
        half = n // 2
        # Top stage: omega_n^j for j < n/2; every lower stage is a strided copy of it.
        geometric_m(FR_M.element(1), FR_M.element(params.fr_root_of_unity(k)), tw[half:])
        h = half // 2
        while h >= 1:
            tw[h : 2 * h] = tw[2 * h : 4 * h : 2]
            h //= 2
    tw.setflags(write=False)
    return tw


def twiddles(k: int) -> np.ndarray:
    """The read-only twiddle table of the 2^k domain (a prefix view of the largest one built)."""
    global _twiddle_table
    with _twiddle_lock:
        table = _twiddle_table
        if table is None or table.shape[0] < 1 << k:
            table = _twiddle_table = _build_twiddles(k)
    view = table[: 1 << k]
    view.setflags(write=False)
    return view


def clear_twiddle_cache() -> None:
    """Drop the cached twiddle table (it is rebuilt on the next transform)."""
    global _twiddle_table
    with _twiddle_lock:
        _twiddle_table = None


@dataclass(frozen=True)
class Domain:
    """The subgroup H of the 2^k-th roots of unity in Fr, with its coset shift * H.

    Build one with ``Domain(k)`` or ``Domain.of_size(n)``; equality is by size.
    """

    k: int
    n: int = field(init=False, compare=False)
    omega: int = field(init=False, compare=False, repr=False)
    omega_inv: int = field(init=False, compare=False, repr=False)
    n_inv: int = field(init=False, compare=False, repr=False)
    shift: int = field(init=False, compare=False, repr=False)
    shift_inv: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer):
            raise TypeError(f"domain log-size must be an int, got {type(self.k).__name__}")
        if not 0 <= self.k <= MAX_LOG_SIZE:
            raise ValueError(f"domain size 2^{self.k} unsupported: 0 <= k <= {MAX_LOG_SIZE}")
        k = int(self.k)
        omega = params.fr_root_of_unity(k)
        values = {
            "k": k,
            "n": 1 << k,
            "omega": omega,
            "omega_inv": pow(omega, -1, R),
            "n_inv": pow(1 << k, -1, R),
            "shift": params.COSET_SHIFT,
            "shift_inv": pow(params.COSET_SHIFT, -1, R),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def of_size(cls, n: int) -> Domain:
        """The domain of exactly n points (n a power of two)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 or n & (n - 1):
            raise ValueError(f"domain size must be a power of two >= 1, got {n!r}")
        return cls(int(n).bit_length() - 1)

    @classmethod
    def at_least(cls, n: int) -> Domain:
        """The smallest domain with at least n points."""
        if n < 1:
            raise ValueError(f"domain size must be >= 1, got {n!r}")
        return cls((int(n) - 1).bit_length())

    # --- Montgomery tables, for the kernels -----------------------------------------------------

    @property
    def twiddles_m(self) -> np.ndarray:
        """The read-only (n, 4) twiddle table (layout in the module docstring), computed once:
        the largest table built so far is kept and smaller domains use a prefix of it."""
        return twiddles(self.k)

    @property
    def omega_m(self) -> tuple:
        return FR_M.element(self.omega)

    @property
    def n_inv_m(self) -> tuple:
        return FR_M.element(self.n_inv)

    @property
    def shift_m(self) -> tuple:
        return FR_M.element(self.shift)

    @property
    def shift_inv_m(self) -> tuple:
        return FR_M.element(self.shift_inv)

    def elements_m(self) -> np.ndarray:
        """omega^i for i < n, as a fresh Montgomery array."""
        out = np.empty((self.n, 4), dtype=np.uint64)
        geometric_m(FR_M.element(1), self.omega_m, out)
        return out

    def coset_powers_m(self) -> np.ndarray:
        """shift^i for i < n (the scaling of a coset NTT), as a fresh Montgomery array."""
        out = np.empty((self.n, 4), dtype=np.uint64)
        geometric_m(FR_M.element(1), self.shift_m, out)
        return out

    def coset_elements_m(self) -> np.ndarray:
        """shift * omega^i for i < n, as a fresh Montgomery array."""
        out = np.empty((self.n, 4), dtype=np.uint64)
        geometric_m(self.shift_m, self.omega_m, out)
        return out

    # --- scalar helpers (ints) ------------------------------------------------------------------

    def element(self, i: int) -> int:
        """omega^i."""
        return pow(self.omega, i % self.n, R)

    def vanishing_at(self, x: int) -> int:
        """Z_H(x) = x^n - 1."""
        return (pow(x % R, self.n, R) - 1) % R

    def vanishing_on_coset(self, ext: Domain | None = None) -> list[int]:
        """Z_H on the coset shift * ext (ext >= H, default H), one period of its values.

        Z_H(shift * w_ext^i) = shift^n * w_ext^(i n) - 1 depends only on i mod (ext.n / n), so
        the list has ext.n / n entries (one for ext = H: the constant shift^n - 1); value i holds
        for every point index congruent to i.
        """
        ext = self if ext is None else ext
        if not isinstance(ext, Domain):
            raise TypeError(f"expected a Domain, got {type(ext).__name__}")
        if ext.n < self.n:
            raise ValueError(f"coset domain of size {ext.n} is smaller than H (size {self.n})")
        period = ext.n // self.n
        shift_n = pow(self.shift, self.n, R)
        w = params.fr_root_of_unity(ext.k - self.k)  # w_ext^n generates the period-th roots
        return [(shift_n * pow(w, i, R) - 1) % R for i in range(period)]

    def lagrange_at(self, i: int, x: int) -> int:
        """L_i(x) = omega^i (x^n - 1) / (n (x - omega^i)), the i-th Lagrange basis polynomial."""
        if not 0 <= i < self.n:
            raise ValueError(f"Lagrange index {i} outside 0..{self.n - 1}")
        x %= R
        wi = self.element(i)
        if x == wi:
            return 1
        zh = self.vanishing_at(x)
        return wi * zh % R * pow(self.n * (x - wi) % R, -1, R) % R

    def lagrange_range_at(self, x: int, count: int | None = None) -> list[int]:
        """[L_0(x), ..., L_{count-1}(x)] (default all n) with a single field inversion."""
        count = self.n if count is None else count
        if not 0 <= count <= self.n:
            raise ValueError(f"count {count} outside 0..{self.n}")
        x %= R
        zh = self.vanishing_at(x)
        if zh == 0:  # x is a point of H: L_i(x) is the indicator of its index
            out = [0] * count
            wi = 1
            for i in range(count):
                if wi == x:
                    out[i] = 1
                    break
                wi = wi * self.omega % R
            return out
        # denominators n (x - omega^i), inverted together (Montgomery's trick).
        dens, wis = [], []
        wi = 1
        for _ in range(count):
            wis.append(wi)
            dens.append(self.n * (x - wi) % R)
            wi = wi * self.omega % R
        prefix = [1] * (count + 1)
        for i, d in enumerate(dens):
            prefix[i + 1] = prefix[i] * d % R
        inv = pow(prefix[count], -1, R) if count else 1
        out = [0] * count
        for i in range(count - 1, -1, -1):
            out[i] = wis[i] * zh % R * (inv * prefix[i] % R) % R
            inv = inv * dens[i] % R
        return out
