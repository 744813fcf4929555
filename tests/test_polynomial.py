"""Coeffs / Evals / CosetEvals (prover.poly.polynomial) against Python-int oracles: naive
convolution, Horner, long division by x^n - 1, Lagrange interpolation; and the kernel twins."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import params
from prover.field import convert
from prover.field.kernels import FR_M
from prover.poly import polynomial, twin
from prover.poly.domain import Domain
from prover.poly.polynomial import Coeffs, CosetEvals, Evals, evaluate_many

R = params.R_ORDER


def rand_ints(n: int, seed: int) -> list[int]:
    rnd = random.Random(seed)
    return [rnd.randrange(R) for _ in range(n)]


def horner(xs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(xs):
        acc = (acc * x + c) % R
    return acc


def convolve(xs: list[int], ys: list[int]) -> list[int]:
    out = [0] * (len(xs) + len(ys) - 1)
    for i, a in enumerate(xs):
        for j, b in enumerate(ys):
            out[i + j] = (out[i + j] + a * b) % R
    return out


def padded(xs: list[int], n: int) -> list[int]:
    return xs + [0] * (n - len(xs))


# --- bases and conversions ---------------------------------------------------------------------


def test_from_ints_and_back():
    p = Coeffs.from_ints([1, 2, 3])
    assert p.domain == Domain(2) and p.to_ints() == [1, 2, 3, 0] and len(p) == 4
    assert p.degree() == 2 and Coeffs.zero(Domain(3)).degree() == -1
    assert Coeffs.from_ints([5], Domain(3)).to_ints() == [5] + [0] * 7
    assert not p.values_m.flags.writeable
    with pytest.raises(ValueError):
        p.values_m[0, 0] = 1
    with pytest.raises(ValueError):
        Coeffs.from_ints([1] * 5, Domain(2))
    with pytest.raises(ValueError):
        Evals.from_ints([1, 2, 3])  # evaluations must fill the domain
    with pytest.raises(ValueError):
        Coeffs.from_ints([R])  # not canonical


def test_evals_are_values_on_h_and_coset():
    d, ext = Domain(3), Domain(5)
    xs = rand_ints(6, 1)
    p = Coeffs.from_ints(xs, d)
    ev = p.to_evals()
    assert isinstance(ev, Evals)
    assert ev.to_ints() == [horner(xs, d.element(i)) for i in range(d.n)]
    cev = p.to_coset_evals(ext)
    assert isinstance(cev, CosetEvals) and cev.domain == ext
    assert cev.to_ints() == [horner(xs, 5 * ext.element(i) % R) for i in range(ext.n)]
    assert p.to_coset_evals().to_ints() == [horner(xs, 5 * d.element(i) % R) for i in range(d.n)]
    # and back
    assert ev.to_coeffs() == p
    assert cev.to_coeffs() == p.resize(ext)
    assert ev.to_coset_evals(ext) == cev


def test_lagrange_basis_interpolates():
    """An indicator vector on H interpolates to L_i: agree with Domain.lagrange_at."""
    d = Domain(4)
    x = 987654321
    for i in (0, 3, 15):
        e = Evals.from_ints([1 if j == i else 0 for j in range(d.n)], d)
        assert e.to_coeffs().evaluate(x) == d.lagrange_at(i, x)


def test_resize():
    p = Coeffs.from_ints([1, 2, 0, 0, 0, 0, 0, 0])
    assert p.resize(Domain(1)).to_ints() == [1, 2]
    assert p.resize(Domain(4)).to_ints() == [1, 2] + [0] * 14
    assert p.resize(Domain(3)) is p
    with pytest.raises(ValueError):
        p.resize(Domain(0))
    with pytest.raises(TypeError):
        p.resize(4)


# --- arithmetic --------------------------------------------------------------------------------


def test_linear_ops_each_basis():
    d = Domain(3)
    xs, ys = rand_ints(8, 2), rand_ints(8, 3)
    for cls in (Coeffs, Evals, CosetEvals):
        a, b = cls.from_ints(xs, d), cls.from_ints(ys, d)
        assert (a + b).to_ints() == [(x + y) % R for x, y in zip(xs, ys, strict=True)]
        assert (a - b).to_ints() == [(x - y) % R for x, y in zip(xs, ys, strict=True)]
        assert (-a).to_ints() == [-x % R for x in xs]
        assert a.scale(7).to_ints() == [7 * x % R for x in xs]
        assert (3 * a).to_ints() == (a * 3).to_ints() == [3 * x % R for x in xs]
        assert type(a + b) is cls
    for cls in (Evals, CosetEvals):
        a, b = cls.from_ints(xs, d), cls.from_ints(ys, d)
        assert (a * b).to_ints() == [x * y % R for x, y in zip(xs, ys, strict=True)]


def test_pointwise_mul_is_poly_mul_on_big_enough_domain():
    d, big = Domain(2), Domain(3)
    xs, ys = rand_ints(4, 4), rand_ints(4, 5)
    a, b = Coeffs.from_ints(xs, d), Coeffs.from_ints(ys, d)
    prod = (a.to_coset_evals(big) * b.to_coset_evals(big)).to_coeffs()
    assert prod.to_ints() == padded(convolve(xs, ys), 8)
    assert (a.resize(big).to_evals() * b.resize(big).to_evals()).to_coeffs() == prod


@pytest.mark.parametrize(
    "la, lb, k", [(1, 1, 0), (3, 2, 2), (4, 4, 2), (5, 4, 3), (33, 30, 6), (512, 512, 9)]
)
def test_poly_mul_vs_convolution(la, lb, k):
    xs, ys = rand_ints(la, la), rand_ints(lb, lb + 1)
    d = Domain(k)
    prod = Coeffs.from_ints(xs, d) * Coeffs.from_ints(ys, d)
    expected = convolve(xs, ys)
    assert prod.domain.n >= max(d.n, len(expected))
    assert prod.to_ints() == padded(expected, prod.domain.n)


def test_poly_mul_zero():
    d = Domain(3)
    z = Coeffs.zero(d) * Coeffs.from_ints([1, 2, 3], d)
    assert z.degree() == -1 and z.domain == d


@settings(deadline=None, max_examples=30)
@given(
    xs=st.lists(st.integers(0, R - 1), min_size=1, max_size=20),
    ys=st.lists(st.integers(0, R - 1), min_size=1, max_size=20),
)
def test_poly_mul_property(xs, ys):
    d = Domain(5)
    prod = Coeffs.from_ints(xs, d) * Coeffs.from_ints(ys, d)
    assert prod.to_ints() == padded(convolve(xs, ys), prod.domain.n)
    # and the convolution theorem on evaluations, evaluated at a point
    x = 31337
    assert prod.evaluate(x) == horner(xs, x) * horner(ys, x) % R


# --- division by the vanishing polynomial ------------------------------------------------------


def vanishing_times(q: list[int], n: int) -> list[int]:
    """q(x) * (x^n - 1) on ints."""
    out = [0] * (len(q) + n)
    for i, c in enumerate(q):
        out[i] = (out[i] - c) % R
        out[i + n] = (out[i + n] + c) % R
    return out


@pytest.mark.parametrize("kh, kbig, qlen", [(0, 2, 3), (2, 4, 12), (3, 3, 0), (4, 6, 48)])
def test_divide_by_vanishing_coeffs(kh, kbig, qlen):
    h, big = Domain(kh), Domain(kbig)
    q = rand_ints(qlen, qlen + kh)
    p = Coeffs.from_ints(vanishing_times(q, h.n) if q else [], big)
    quotient = p.divide_by_vanishing(h)
    assert quotient.domain == big and quotient.to_ints() == padded(q, big.n)


def test_divide_by_vanishing_rejects_remainder():
    h, big = Domain(2), Domain(4)
    p = vanishing_times(rand_ints(8, 9), h.n)
    p[1] = (p[1] + 1) % R
    with pytest.raises(ValueError, match="not divisible"):
        Coeffs.from_ints(p, big).divide_by_vanishing(h)
    with pytest.raises(ValueError, match="not divisible"):  # degree < n, non-zero
        Coeffs.from_ints([0, 1], big).divide_by_vanishing(Domain(3))
    with pytest.raises(ValueError):
        Coeffs.from_ints([1], Domain(2)).divide_by_vanishing(Domain(3))
    with pytest.raises(TypeError):
        Coeffs.from_ints([1], Domain(2)).divide_by_vanishing(2)


def test_divide_by_vanishing_on_coset_plonk_shape():
    """PLONK's quotient: a gate a*b - c that vanishes on H, evaluated on the 4n coset, divided
    by Z_H there, interpolated: degree < 2n - ... and equal to the exact coefficient division."""
    h = Domain(3)
    ext = Domain(h.k + 2)
    a = Evals.from_ints(rand_ints(h.n, 11), h)
    b = Evals.from_ints(rand_ints(h.n, 12), h)
    c = a * b  # so a*b - c = 0 on H
    A, B, C = (e.to_coset_evals(ext) for e in (a, b, c))
    t = (A * B - C).divide_by_vanishing(h).to_coeffs()
    assert t.degree() <= 2 * (h.n - 1) - h.n  # deg(ab - c) - n
    gate = a.to_coeffs() * b.to_coeffs() - c.to_coeffs().resize(Domain(h.k + 1))
    assert t == gate.resize(ext).divide_by_vanishing(h)
    x = 424242
    assert t.evaluate(x) * h.vanishing_at(x) % R == gate.evaluate(x)
    # same-size coset: Z_H is the constant shift^n - 1 there
    z = CosetEvals.from_ints([1] * h.n, h).divide_by_vanishing(h).to_ints()
    assert z == [pow(pow(5, h.n, R) - 1, -1, R)] * h.n
    with pytest.raises(ValueError):
        CosetEvals.from_ints([1] * h.n, h).divide_by_vanishing(ext)


# --- evaluation --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 1000, 4096, 1 << 14])
def test_evaluate_vs_horner(n):
    xs = rand_ints(n, n)
    p = Coeffs.from_ints(xs)
    for x in (0, 1, R - 1, 123456789123456789, -5):
        assert p.evaluate(x) == horner(xs, x % R)


def test_evaluate_many():
    ps = [Coeffs.from_ints(rand_ints(n, n + 7)) for n in (1, 17, 300)]
    x = 99991
    assert evaluate_many(ps, x) == [horner(p.to_ints(), x) for p in ps]
    assert evaluate_many([], x) == []
    with pytest.raises(TypeError):
        evaluate_many([ps[0].to_evals()], x)


# --- type and domain discipline ----------------------------------------------------------------


def test_mixed_bases_raise_type_error():
    d = Domain(2)
    c, e, ce = Coeffs.zero(d), Evals.zero(d), CosetEvals.zero(d)
    for x, y in ((c, e), (e, ce), (ce, c), (e, c)):
        for op in (lambda u, v: u + v, lambda u, v: u - v, lambda u, v: u * v):
            with pytest.raises(TypeError):
                op(x, y)
    with pytest.raises(TypeError):
        c.scale(1.5)
    with pytest.raises(TypeError):
        c * True


def test_mixed_domains_raise_value_error():
    for cls in (Coeffs, Evals, CosetEvals):
        a, b = cls.zero(Domain(2)), cls.zero(Domain(3))
        with pytest.raises(ValueError, match="domains"):
            a + b
        with pytest.raises(ValueError, match="domains"):
            a - b
        with pytest.raises(ValueError, match="domains"):
            a * b


def test_bad_construction():
    d = Domain(2)
    with pytest.raises(ValueError):
        Coeffs(np.zeros((8, 4), dtype=np.uint64), d)  # length != domain size
    with pytest.raises(ValueError):
        Evals(np.zeros((4, 4), dtype=np.int64), d)
    with pytest.raises(ValueError):
        Evals(np.zeros((4, 3), dtype=np.uint64), d)
    with pytest.raises(TypeError):
        Coeffs(np.zeros((4, 4), dtype=np.uint64), 4)


def test_frozen_and_equality():
    d = Domain(2)
    p = Coeffs.from_ints([1, 2], d)
    with pytest.raises(AttributeError):
        p.domain = Domain(3)
    assert p == Coeffs.from_ints([1, 2, 0, 0], d)
    assert p != Evals(p.values_m, d) and p != Coeffs.from_ints([1, 2], Domain(3))


# --- kernels against their twins ---------------------------------------------------------------


def test_poly_kernels_vs_twins():
    for n in (0, 1, 7, 256, 1030):
        p_m = convert.to_mont(FR_M, rand_ints(n, n + 1)) if n else np.zeros((0, 4), np.uint64)
        x = FR_M.element(77777)
        assert polynomial.horner_m(p_m, x) == twin.horner_m(p_m, x)
    p_m = convert.to_mont(FR_M, vanishing_times(rand_ints(24, 3), 8))  # 32 rows
    for n in (8, 4, 32, 64):
        fast, slow = np.empty_like(p_m), np.empty_like(p_m)
        ok_fast = polynomial.div_vanishing_m(p_m, n, fast)
        ok_slow = twin.div_vanishing_m(p_m, n, slow)
        assert ok_fast == ok_slow and np.array_equal(fast, slow)
        assert ok_fast == (n == 8 or n == 4)  # x^4 - 1 divides x^8 - 1
    table = convert.to_mont(FR_M, [2, 3, 5, 7])
    a_m = convert.to_mont(FR_M, rand_ints(16, 4))
    fast, slow = np.empty_like(a_m), np.empty_like(a_m)
    polynomial.mul_periodic_m(a_m, table, fast)
    twin.mul_periodic_m(a_m, table, slow)
    assert np.array_equal(fast, slow)
