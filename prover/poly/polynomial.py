"""Polynomials over Fr whose basis is their type: ``Coeffs``, ``Evals`` (on H), ``CosetEvals``
(on shift * H).

Each is a frozen dataclass holding an (n, 4) Montgomery array and the ``Domain`` of size n it
lives on. Converting between bases runs the NTTs of ``prover.poly.ntt``; arithmetic between two
polynomials of different bases raises TypeError, and between two domains ValueError, so an
evaluation vector can never be mistaken for coefficients (or for evaluations on another domain).

This is the polynomial toolbox of the PLONK prover (Gabizon, Williamson, Ciobotaru, ePrint
2019/953): interpolate witness columns (``Evals.to_coeffs``), extend them to the 4n coset
(``Coeffs.to_coset_evals(Domain(k + 2))``), combine pointwise, divide by Z_H(x) = x^n - 1 on the
coset (``CosetEvals.divide_by_vanishing``) or exactly on coefficients
(``Coeffs.divide_by_vanishing``), and open at a challenge (``Coeffs.evaluate``,
``evaluate_many``).

The held array is made read-only; every operation returns a new polynomial. Kernels that are
specific to this module (parallel Horner, division by x^n - 1, periodic scaling) have
plain-Python twins in ``prover.poly.twin``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numba import njit, prange

from prover import params
from prover.field import convert, kernels, mont
from prover.field.kernels import FR_M
from prover.poly import ntt
from prover.poly.domain import Domain, pow_small

R = params.R_ORDER


# --- kernels ----------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def horner_m(p_m, x):
    """sum_i p[i] x^i (x a Montgomery tuple): Horner on up to 64 chunks in parallel, then
    Horner over the chunk values with x^step."""
    n = p_m.shape[0]
    if n == 0:
        return (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    chunks = max(1, min(64, n // 256))
    step = (n + chunks - 1) // chunks
    partial = np.zeros((chunks, 4), dtype=np.uint64)
    for c in prange(chunks):
        lo = c * step
        hi = min(n, lo + step)
        acc = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
        for i in range(hi - 1, lo - 1, -1):
            acc = mont.add(mont.mul(acc, x, mont.FR_MOD), mont.load(p_m, i), mont.FR_MOD)
        mont.store(partial, c, acc)
    x_step = pow_small(x, step)
    acc = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    for c in range(chunks - 1, -1, -1):
        acc = mont.add(mont.mul(acc, x_step, mont.FR_MOD), mont.load(partial, c), mont.FR_MOD)
    return acc


@njit(parallel=True, cache=True)
def div_vanishing_m(p_m, n, q_m):
    """q <- p div (x^n - 1), i.e. q[i] = sum_{t >= 1} p[i + t n]; True iff the remainder
    p[i] + q[i] (i < n) is zero. q_m has p_m's length (rows past len - n are zero)."""
    size = p_m.shape[0]
    zero = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
    for i in prange(size):
        acc = zero
        j = i + n
        while j < size:
            acc = mont.add(acc, mont.load(p_m, j), mont.FR_MOD)
            j += n
        mont.store(q_m, i, acc)
    bad = 0
    for i in prange(min(n, size)):
        r = mont.add(mont.load(p_m, i), mont.load(q_m, i), mont.FR_MOD)
        if not mont.is_zero(r):
            bad += 1
    return bad == 0


@njit(parallel=True, cache=True)
def mul_periodic_m(a_m, table_m, out_m):
    """out[i] = a[i] * table[i mod len(table)] (len(table) a power of two)."""
    mask = table_m.shape[0] - 1
    for i in prange(a_m.shape[0]):
        mont.store(out_m, i, mont.mul(mont.load(a_m, i), mont.load(table_m, i & mask), mont.FR_MOD))


# --- the three bases --------------------------------------------------------------------------

P = TypeVar("P", bound="_Poly")


def _element(x: int) -> tuple:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise TypeError(f"expected an int field element, got {type(x).__name__}")
    return FR_M.element(int(x) % R)


@dataclass(frozen=True, eq=False)
class _Poly:
    values_m: np.ndarray
    domain: Domain

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            raise TypeError(f"domain must be a Domain, got {type(self.domain).__name__}")
        a = self.values_m
        if not isinstance(a, np.ndarray) or a.dtype != np.uint64 or a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(
                f"values_m must be an (n, 4) uint64 array, got {getattr(a, 'dtype', type(a))} "
                f"{getattr(a, 'shape', '')}"
            )
        if a.shape[0] != self.domain.n:
            raise ValueError(f"{a.shape[0]} values do not match a domain of size {self.domain.n}")
        view = np.ascontiguousarray(a).view()
        view.setflags(write=False)
        object.__setattr__(self, "values_m", view)

    # construction and export

    @classmethod
    def from_ints(cls: type[P], xs: Sequence[int], domain: Domain | None = None) -> P:
        """From canonical ints; the domain defaults to the smallest that holds them (for
        ``Coeffs`` shorter input is zero-padded up to the domain)."""
        xs = list(xs)
        domain = Domain.at_least(max(1, len(xs))) if domain is None else domain
        if cls is not Coeffs and len(xs) != domain.n:
            raise ValueError(f"{cls.__name__} needs exactly {domain.n} values, got {len(xs)}")
        if len(xs) > domain.n:
            raise ValueError(f"{len(xs)} coefficients do not fit a domain of size {domain.n}")
        values = np.zeros((domain.n, 4), dtype=np.uint64)
        if xs:
            values[: len(xs)] = convert.to_mont(FR_M, xs)
        return cls(values, domain)

    @classmethod
    def zero(cls: type[P], domain: Domain) -> P:
        return cls(np.zeros((domain.n, 4), dtype=np.uint64), domain)

    def to_ints(self) -> list[int]:
        return convert.from_mont(FR_M, self.values_m)

    def __len__(self) -> int:
        return self.domain.n

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and self.domain == other.domain  # type: ignore[attr-defined]
            and bool(np.array_equal(self.values_m, other.values_m))  # type: ignore[attr-defined]
        )

    __hash__ = None  # type: ignore[assignment]

    # linear algebra (any basis, same basis and domain on both sides)

    def _same(self, other: object, op: str) -> None:
        if type(other) is not type(self):
            raise TypeError(
                f"cannot {op} {type(self).__name__} and {type(other).__name__}: convert one first"
            )
        if other.domain != self.domain:  # type: ignore[attr-defined]
            raise ValueError(
                f"cannot {op} {type(self).__name__} on domains of size {self.domain.n} and "
                f"{other.domain.n}"  # type: ignore[attr-defined]
            )

    def _new(self: P, values_m: np.ndarray) -> P:
        return type(self)(values_m, self.domain)

    def __add__(self: P, other: P) -> P:
        self._same(other, "add")
        return self._new(FR_M.add(self.values_m, other.values_m))

    def __sub__(self: P, other: P) -> P:
        self._same(other, "subtract")
        return self._new(FR_M.sub(self.values_m, other.values_m))

    def __neg__(self: P) -> P:
        return self._new(FR_M.neg(self.values_m))

    def scale(self: P, c: int) -> P:
        """c * self for a field element c (an int)."""
        out = np.empty_like(self.values_m)
        kernels.scale_m(self.values_m, _element(c), out, FR_M.mod)
        return self._new(out)

    def __rmul__(self: P, c: int) -> P:
        if isinstance(c, _Poly):
            return NotImplemented
        return self.scale(c)

    def _pointwise_mul(self: P, other: object) -> P:
        if isinstance(other, int | np.integer) and not isinstance(other, bool):
            return self.scale(int(other))
        self._same(other, "multiply")
        return self._new(FR_M.mul(self.values_m, other.values_m))  # type: ignore[attr-defined]

    def _work_copy(self) -> np.ndarray:
        return np.array(self.values_m, dtype=np.uint64, order="C", copy=True)


@dataclass(frozen=True, eq=False)
class Coeffs(_Poly):
    """A polynomial of degree < domain.n by its coefficients (index i: coefficient of x^i)."""

    def degree(self) -> int:
        """Index of the highest non-zero coefficient; -1 for the zero polynomial."""
        nz = np.flatnonzero(self.values_m.any(axis=1))
        return int(nz[-1]) if nz.size else -1

    def resize(self, domain: Domain) -> Coeffs:
        """The same polynomial on another domain: zero-padded, or truncated if only zeros go."""
        if not isinstance(domain, Domain):
            raise TypeError(f"expected a Domain, got {type(domain).__name__}")
        if domain == self.domain:
            return self
        if self.degree() >= domain.n:
            raise ValueError(
                f"degree-{self.degree()} polynomial does not fit a domain of size {domain.n}"
            )
        values = np.zeros((domain.n, 4), dtype=np.uint64)
        m = min(domain.n, self.domain.n)
        values[:m] = self.values_m[:m]
        return Coeffs(values, domain)

    def to_evals(self) -> Evals:
        """Evaluations on H (forward NTT)."""
        a = self._work_copy()
        ntt.ntt(a, self.domain)
        return Evals(a, self.domain)

    def to_coset_evals(self, ext: Domain | None = None) -> CosetEvals:
        """Evaluations on shift * ext (default: this domain); ext may be larger (e.g. the 4n
        domain of PLONK's quotient): the coefficients are zero-padded first."""
        p = self if ext is None else self.resize(ext)
        a = p._work_copy()
        ntt.coset_ntt(a, p.domain)
        return CosetEvals(a, p.domain)

    def __mul__(self, other: Coeffs | int) -> Coeffs:
        """Polynomial product (via NTTs on a domain that holds the product), or scaling by an int.

        The result lives on the larger of this domain and the smallest one of at least
        deg(a) + deg(b) + 1 points."""
        if isinstance(other, int | np.integer) and not isinstance(other, bool):
            return self.scale(int(other))
        self._same(other, "multiply")
        da, db = self.degree(), other.degree()
        if da < 0 or db < 0:
            return Coeffs.zero(self.domain)
        big = Domain.at_least(da + db + 1)
        big = big if big.n > self.domain.n else self.domain
        ea = self.resize(big)._work_copy()
        eb = other.resize(big)._work_copy()
        ntt.ntt(ea, big)
        ntt.ntt(eb, big)
        kernels.mul_m(ea, eb, ea, FR_M.mod)
        ntt.intt(ea, big)
        return Coeffs(ea, big)

    def evaluate(self, x: int) -> int:
        """p(x) by parallel Horner."""
        return FR_M.element_int(horner_m(self.values_m, _element(x)))

    def divide_by_vanishing(self, h: Domain) -> Coeffs:
        """p / Z_H exactly (Z_H = x^h.n - 1); ValueError unless Z_H divides p. The quotient
        stays on this domain."""
        if not isinstance(h, Domain):
            raise TypeError(f"expected a Domain, got {type(h).__name__}")
        if h.n > self.domain.n:
            raise ValueError(f"H of size {h.n} is larger than the domain {self.domain.n}")
        q = np.empty_like(self.values_m)
        if not div_vanishing_m(self.values_m, h.n, q):
            raise ValueError(f"polynomial is not divisible by x^{h.n} - 1 (non-zero remainder)")
        return Coeffs(q, self.domain)


@dataclass(frozen=True, eq=False)
class Evals(_Poly):
    """A polynomial of degree < n by its values at omega^i, i < n (natural order)."""

    def to_coeffs(self) -> Coeffs:
        a = self._work_copy()
        ntt.intt(a, self.domain)
        return Coeffs(a, self.domain)

    def to_coset_evals(self, ext: Domain | None = None) -> CosetEvals:
        """Values on shift * ext (ext >= this domain): interpolate, then evaluate."""
        return self.to_coeffs().to_coset_evals(ext)

    def __mul__(self, other: Evals | int) -> Evals:
        """Pointwise product (the product polynomial only if its degree stays < n)."""
        return self._pointwise_mul(other)


@dataclass(frozen=True, eq=False)
class CosetEvals(_Poly):
    """A polynomial of degree < n by its values at shift * omega^i, i < n (natural order)."""

    def to_coeffs(self) -> Coeffs:
        a = self._work_copy()
        ntt.coset_intt(a, self.domain)
        return Coeffs(a, self.domain)

    def __mul__(self, other: CosetEvals | int) -> CosetEvals:
        """Pointwise product (the product polynomial only if its degree stays < n)."""
        return self._pointwise_mul(other)

    def divide_by_vanishing(self, h: Domain) -> CosetEvals:
        """Pointwise division by Z_H (H no larger than this domain) on the coset, where Z_H never
        vanishes. Exact as a polynomial identity only if Z_H divides the polynomial; check that
        with ``Coeffs.divide_by_vanishing`` or the degree of the result's coefficients."""
        if not isinstance(h, Domain):
            raise TypeError(f"expected a Domain, got {type(h).__name__}")
        if h.n > self.domain.n:
            raise ValueError(f"H of size {h.n} is larger than the coset domain {self.domain.n}")
        period = h.vanishing_on_coset(self.domain)
        if any(z == 0 for z in period):  # impossible for shift = 5, a non-residue
            raise ValueError("Z_H vanishes on the coset")
        inv_m = FR_M.batch_inv(convert.to_mont(FR_M, period))
        out = np.empty_like(self.values_m)
        mul_periodic_m(self.values_m, inv_m, out)
        return CosetEvals(out, self.domain)


def evaluate_many(polys: Iterable[Coeffs], x: int) -> list[int]:
    """[p(x) for p in polys], sharing the conversion of x; each evaluation is parallel."""
    xm = _element(x)
    out = []
    for p in polys:
        if not isinstance(p, Coeffs):
            raise TypeError(f"evaluate_many needs Coeffs, got {type(p).__name__}")
        out.append(FR_M.element_int(horner_m(p.values_m, xm)))
    return out
