"""Domains and NTTs (prover.poly.domain, prover.poly.ntt) against independent oracles: naive
evaluation at powers of omega on Python ints, galois's NTT, the plain-Python twins."""

from __future__ import annotations

import random

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from prover import params
from prover.field import convert
from prover.field import mont as fmont
from prover.field.kernels import FR_M
from prover.poly import ntt, twin
from prover.poly.domain import Domain, clear_twiddle_cache, geometric_m

R = params.R_ORDER


@pytest.fixture(scope="module")
def gf():
    # A given primitive element skips galois's (very slow) search; 5 is snarkjs's generator,
    # so galois's omega = 5^((r-1)/n) is exactly snarkjs's w_k.
    return galois.GF(R, primitive_element=5, verify=False)


def rand_ints(n: int, seed: int) -> list[int]:
    rnd = random.Random(seed)
    return [rnd.randrange(R) for _ in range(n)]


def mont(xs: list[int]) -> np.ndarray:
    return convert.to_mont(FR_M, xs)


def ints(a: np.ndarray) -> list[int]:
    return convert.from_mont(FR_M, a)


def naive_eval(xs: list[int], points: list[int]) -> list[int]:
    out = []
    for x in points:
        acc = 0
        for c in reversed(xs):
            acc = (acc * x + c) % R
        out.append(acc)
    return out


# --- Domain ------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 2, 5, 16, 28])
def test_domain_roots(k):
    d = Domain(k)
    assert d.n == 1 << k and d.omega == params.fr_root_of_unity(k)
    assert pow(d.omega, d.n, R) == 1
    if k:
        assert pow(d.omega, d.n // 2, R) == R - 1  # primitive
    assert d.omega * d.omega_inv % R == 1 and d.n * d.n_inv % R == 1
    assert d.shift == params.COSET_SHIFT == 5 and d.shift * d.shift_inv % R == 1
    assert Domain.of_size(d.n) == d and Domain.at_least(d.n) == d


def test_domain_snarkjs_omega():
    # snarkjs's vk.json "w" of a circuit with a 2^3 domain.
    assert Domain(3).omega == (
        19540430494807482326159819597004422086093766032135589407132600596362845576832
    )


@pytest.mark.parametrize("bad", [-1, 29, 1.0, "3", True, None])
def test_domain_rejects_bad_k(bad):
    with pytest.raises((ValueError, TypeError)):
        Domain(bad)


@pytest.mark.parametrize("bad", [0, 3, 6, 1000, -4, 1 << 29])
def test_domain_of_size_rejects(bad):
    with pytest.raises(ValueError):
        Domain.of_size(bad)


def test_domain_at_least():
    assert [Domain.at_least(n).n for n in (1, 2, 3, 4, 5, 1000, 1024, 1025)] == [
        1,
        2,
        4,
        4,
        8,
        1024,
        1024,
        2048,
    ]
    with pytest.raises(ValueError):
        Domain.at_least(0)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 6, 9])
def test_twiddle_table_layout(k):
    d = Domain(k)
    tw = ints(np.ascontiguousarray(d.twiddles_m))
    assert len(tw) == d.n and tw[0] == 1
    h = 1
    while h < d.n:
        w = params.fr_root_of_unity(h.bit_length())  # omega_{2h}
        assert tw[h : 2 * h] == [pow(w, j, R) for j in range(h)]
        h *= 2
    assert not d.twiddles_m.flags.writeable
    # A smaller domain's table is a prefix of a larger one's.
    assert np.array_equal(Domain(k + 2).twiddles_m[: d.n], d.twiddles_m)


def test_twiddle_cache_shares_the_largest_table():
    clear_twiddle_cache()
    small = Domain(4).twiddles_m
    big = Domain(7).twiddles_m  # replaces the cached table
    again = Domain(4).twiddles_m  # now a prefix view of the big one
    assert np.array_equal(small, again) and np.shares_memory(again, big)
    assert not again.flags.writeable
    clear_twiddle_cache()
    assert np.array_equal(Domain(7).twiddles_m, big)


def test_domain_elements():
    d = Domain(5)
    assert ints(d.coset_powers_m()) == [pow(5, i, R) for i in range(d.n)]
    assert ints(d.elements_m()) == [pow(d.omega, i, R) for i in range(d.n)]
    assert ints(d.coset_elements_m()) == [5 * pow(d.omega, i, R) % R for i in range(d.n)]
    assert d.element(-1) == d.omega_inv


def test_vanishing():
    d = Domain(4)
    for i in range(d.n):
        assert d.vanishing_at(d.element(i)) == 0
    assert d.vanishing_at(7) == (pow(7, 16, R) - 1) % R
    for ext in (d, Domain(6)):
        period = d.vanishing_on_coset(ext)
        assert len(period) == ext.n // d.n
        pts = [5 * pow(ext.omega, i, R) % R for i in range(ext.n)]
        direct = [d.vanishing_at(x) for x in pts]
        assert direct == [period[i % len(period)] for i in range(ext.n)]
        assert all(period)
    with pytest.raises(ValueError):
        Domain(6).vanishing_on_coset(Domain(4))


def test_lagrange():
    d = Domain(3)
    for i in range(d.n):
        for j in range(d.n):
            assert d.lagrange_at(i, d.element(j)) == (1 if i == j else 0)
    x = 123456789
    ls = d.lagrange_range_at(x)
    assert ls == [d.lagrange_at(i, x) for i in range(d.n)]
    assert sum(ls) % R == 1  # the L_i are a partition of unity
    # L_i interpolates: sum y_i L_i(x) is the polynomial through (omega^i, y_i), here x^5 + 2.
    ys = [(pow(d.element(i), 5, R) + 2) % R for i in range(d.n)]
    assert sum(y * li for y, li in zip(ys, ls, strict=True)) % R == (pow(x, 5, R) + 2) % R
    assert d.lagrange_range_at(x, 3) == ls[:3]
    assert d.lagrange_range_at(d.element(5), 8) == [0, 0, 0, 0, 0, 1, 0, 0]
    assert d.lagrange_range_at(x, 0) == []
    with pytest.raises(ValueError):
        d.lagrange_at(8, x)
    with pytest.raises(ValueError):
        d.lagrange_range_at(x, 9)


# --- NTT against oracles -----------------------------------------------------------------------


@pytest.mark.parametrize("k", range(0, 8))
def test_ntt_vs_naive(k):
    d = Domain(k)
    xs = rand_ints(d.n, k)
    a = mont(xs)
    ntt.ntt(a, d)
    assert ints(a) == naive_eval(xs, [d.element(i) for i in range(d.n)])
    b = mont(xs)
    ntt.coset_ntt(b, d)
    assert ints(b) == naive_eval(xs, [5 * d.element(i) % R for i in range(d.n)])


@pytest.mark.parametrize("k", [1, 2, 4, 8, 10, 12])
def test_ntt_vs_galois(gf, k):
    n = 1 << k
    xs = rand_ints(n, 100 + k)
    a = mont(xs)
    ntt.ntt(a)
    assert ints(a) == [int(v) for v in np.fft.fft(gf(xs))]
    ntt.intt(a)
    assert ints(a) == xs
    ys = rand_ints(n, 200 + k)
    assert ints(ntt.intt(mont(ys))) == [int(v) for v in np.fft.ifft(gf(ys))]


@pytest.mark.parametrize("k", [0, 1, 3, 9, 10, 11, 13])
def test_round_trips(k):
    xs = rand_ints(1 << k, 300 + k)
    a = mont(xs)
    ntt.intt(ntt.ntt(a))
    assert ints(a) == xs
    ntt.coset_intt(ntt.coset_ntt(a))
    assert ints(a) == xs
    ntt.ntt(ntt.intt(a))  # the other way round
    assert ints(a) == xs


def test_ntt_2p16():
    """The largest test size: round trips, the twin, and spot values by Horner on ints."""
    d = Domain(16)
    xs = rand_ints(d.n, 16)
    a = mont(xs)
    ntt.ntt(a, d)
    ys = ints(a)
    idx = [0, 1, 2, 12345, d.n // 2, d.n - 1]
    assert [ys[i] for i in idx] == naive_eval(xs, [d.element(i) for i in idx])
    t = mont(xs)
    twin.ntt_m(t, d.twiddles_m)
    assert np.array_equal(t, a)
    ntt.intt(a, d)
    assert ints(a) == xs
    ntt.coset_ntt(a, d)
    zs = ints(a)
    assert [zs[i] for i in idx[:3]] == naive_eval(xs, [5 * d.element(i) % R for i in idx[:3]])
    ntt.coset_intt(a, d)
    assert ints(a) == xs


def test_all_zero_and_constant():
    d = Domain(6)
    a = np.zeros((d.n, 4), dtype=np.uint64)
    assert not ntt.ntt(a).any()
    a = mont([7] + [0] * (d.n - 1))  # the constant 7
    assert ints(ntt.coset_ntt(a)) == [7] * d.n


# --- kernels against their twins --------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 2, 5, 9, 10, 11])
def test_kernels_vs_twins(k):
    d = Domain(k)
    xs = rand_ints(d.n, 400 + k)
    cases = [
        ("bit_reverse_m", ()),
        ("ntt_m", (d.twiddles_m,)),
        ("intt_m", (d.twiddles_m, d.n_inv_m)),
        ("coset_ntt_m", (d.twiddles_m, d.shift_m)),
        ("coset_intt_m", (d.twiddles_m, d.n_inv_m, d.shift_inv_m)),
        ("butterflies_m", (d.twiddles_m, ntt.PASS_BITS, ntt.LATE_PASS_BITS)),
    ]
    for name, args in cases:
        fast, slow = mont(xs), mont(xs)
        getattr(ntt, name)(fast, *args)
        getattr(twin, name)(slow, *args)
        assert np.array_equal(fast, slow), name


@pytest.mark.parametrize("first_bits, late_bits", [(1, 1), (2, 3), (3, 2), (4, 5), (12, 1)])
def test_pass_schedules(first_bits, late_bits):
    """Every split of the stages into passes (tile widths 1..16, partial last pass) agrees."""
    d = Domain(12)
    xs = rand_ints(d.n, first_bits * 10 + late_bits)
    ref = mont(xs)
    ntt.ntt(ref, d)
    a = mont(xs)
    ntt.bit_reverse_m(a)
    ntt.butterflies_m(a, d.twiddles_m, first_bits, late_bits)
    assert np.array_equal(a, ref)


def test_ntt_with_larger_table():
    """A larger domain's twiddle table serves a smaller transform (its prefix is the same)."""
    xs = rand_ints(64, 5)
    a, b = mont(xs), mont(xs)
    ntt.ntt_m(a, Domain(6).twiddles_m)
    ntt.ntt_m(b, Domain(10).twiddles_m)
    assert np.array_equal(a, b)


def test_geometric_vs_twin():
    for n in (0, 1, 5, 64, 65, 1000):
        fast = np.zeros((n, 4), dtype=np.uint64)
        slow = np.zeros((n, 4), dtype=np.uint64)
        start, ratio = FR_M.element(3), FR_M.element(R - 2)
        geometric_m(start, ratio, fast)
        twin.geometric_m(start, ratio, slow)
        assert np.array_equal(fast, slow)


# --- properties --------------------------------------------------------------------------------

field_elems = st.integers(min_value=0, max_value=R - 1)


@settings(deadline=None, max_examples=25)
@given(
    k=st.integers(min_value=0, max_value=6),
    data=st.data(),
)
def test_ntt_linearity(k, data):
    n = 1 << k
    xs = data.draw(st.lists(field_elems, min_size=n, max_size=n))
    ys = data.draw(st.lists(field_elems, min_size=n, max_size=n))
    c1, c2 = data.draw(field_elems), data.draw(field_elems)
    lhs = ints(ntt.ntt(mont([(c1 * x + c2 * y) % R for x, y in zip(xs, ys, strict=True)])))
    fx, fy = ints(ntt.ntt(mont(xs))), ints(ntt.ntt(mont(ys)))
    assert lhs == [(c1 * x + c2 * y) % R for x, y in zip(fx, fy, strict=True)]


@settings(deadline=None, max_examples=25)
@given(k=st.integers(min_value=0, max_value=5), data=st.data())
def test_convolution_theorem(k, data):
    n = 1 << k
    xs = data.draw(st.lists(field_elems, min_size=n, max_size=n))
    ys = data.draw(st.lists(field_elems, min_size=n, max_size=n))
    cyclic = [sum(xs[j] * ys[(i - j) % n] for j in range(n)) % R for i in range(n)]
    fx, fy = ints(ntt.ntt(mont(xs))), ints(ntt.ntt(mont(ys)))
    assert ints(ntt.intt(mont([a * b % R for a, b in zip(fx, fy, strict=True)]))) == cyclic
    assert ints(ntt.ntt(mont(cyclic))) == [a * b % R for a, b in zip(fx, fy, strict=True)]


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3, 4), dtype=np.uint64),  # not a power of two
        np.zeros((0, 4), dtype=np.uint64),  # empty
        np.zeros((8, 3), dtype=np.uint64),  # wrong width
        np.zeros((8, 4), dtype=np.int64),  # wrong dtype
        np.zeros(32, dtype=np.uint64),  # wrong rank
        np.zeros((16, 4), dtype=np.uint64)[::2],  # not contiguous
        [[0, 0, 0, 0]] * 4,  # not an array
    ],
)
@pytest.mark.parametrize("fn", [ntt.ntt, ntt.intt, ntt.coset_ntt, ntt.coset_intt])
def test_bad_arrays_rejected(fn, bad):
    with pytest.raises(ValueError):
        fn(bad)


def test_read_only_rejected():
    a = np.zeros((8, 4), dtype=np.uint64)
    a.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        ntt.ntt(a)


def test_domain_mismatch_rejected():
    a = mont(rand_ints(8, 1))
    with pytest.raises(ValueError, match="does not match"):
        ntt.ntt(a, Domain(4))
    with pytest.raises(TypeError):
        ntt.intt(a, 8)


@njit
def _add_sub_rows(x_m, y_m, s_m, d_m):
    for i in range(x_m.shape[0]):
        x, y = fmont.load(x_m, i), fmont.load(y_m, i)
        fmont.store(s_m, i, ntt.add_wide(x, y, fmont.FR_MOD))
        fmont.store(d_m, i, ntt.sub_wide(x, y, fmont.FR_MOD))


def test_wide_add_sub_edges():
    """The butterflies' add/sub on every pair of edge values (limb boundaries, 0, r-1, r/2)."""
    edge = [0, 1, 2, R - 1, R - 2, R // 2, R // 2 + 1, 2**64 - 1, 2**64, 2**128, 2**192, R - 2**64]
    edge += rand_ints(4, 77)
    xs = [x for x in edge for _ in edge]
    ys = [y for _ in edge for y in edge]
    x_m, y_m = convert.ints_to_raw(xs, R), convert.ints_to_raw(ys, R)
    s_m, d_m = np.empty_like(x_m), np.empty_like(x_m)
    _add_sub_rows(x_m, y_m, s_m, d_m)
    assert convert.raw_to_ints(s_m) == [(x + y) % R for x, y in zip(xs, ys, strict=True)]
    assert convert.raw_to_ints(d_m) == [(x - y) % R for x, y in zip(xs, ys, strict=True)]


def test_raw_kernel_checks_table_size():
    """The unchecked kernels still refuse a twiddle table too small (no out-of-bounds reads)."""
    a = mont(rand_ints(64, 3))
    with pytest.raises(ValueError, match="twiddle"):
        ntt.ntt_m(a, Domain(5).twiddles_m)
    with pytest.raises(ValueError, match="power of two"):
        ntt.intt_m(a[:48].copy(), Domain(6).twiddles_m, Domain(6).n_inv_m)
