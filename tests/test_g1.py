"""G1 Numba kernels (prover.curve.g1) and fixed-base G1 multiplication: against their
plain-Python twins (bit for bit) and against py_ecc (the independent oracle)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as bn

from prover import params
from prover.curve import fixed_base_g1 as fb
from prover.curve import g1, twin_g1
from prover.field import convert
from prover.field.kernels import FR_M

P, R = params.P, params.R_ORDER
MONT = 1 << 256


def u64(t):
    """Nested tuples of np.uint64: a scalar @njit function called from Python must get uint64
    (a Python int is typed int64, and int64 mixed with uint64 becomes float64)."""
    return tuple(u64(x) for x in t) if isinstance(t, tuple) else np.uint64(t)


def ints(t):
    return tuple(ints(x) for x in t) if isinstance(t, tuple) else int(t)


def mont(x: int):
    return u64(params.to_limbs(x * MONT % P))


def affine_t(pt: tuple[int, int]):
    """A canonical int point as the kernels' affine tuple (infinity (0, 0) -> zeros)."""
    return mont(pt[0]), mont(pt[1])


def xyzz_t(pt: tuple[int, int], z: int):
    """An XYZZ tuple of a finite affine point with a chosen Z (X = x z^2, Y = y z^3)."""
    x, y = pt
    return tuple(mont(v % P) for v in (x * z * z, y * z**3, z * z, z**3))


def ecc(pt: tuple[int, int]):
    return bn.Z1 if pt == (0, 0) else (bn.FQ(pt[0]), bn.FQ(pt[1]), bn.FQ(1))


def plain(p) -> tuple[int, int]:
    """py_ecc Jacobian point -> canonical affine ints, (0, 0) for infinity."""
    if p is None or bn.is_inf(p):
        return (0, 0)
    x, y = bn.normalize(p)
    return int(x), int(y)


def mul_g(k: int) -> tuple[int, int]:
    return plain(bn.multiply(bn.G1, k % R))


def from_affine_t(t) -> tuple[int, int]:
    return g1.affine_tuple_to_int(ints(t))


def from_xyzz_t(t) -> tuple[int, int]:
    return from_affine_t(twin_g1.xyzz_to_affine(t))


@pytest.fixture(scope="module")
def pts() -> list[tuple[int, int]]:
    rnd = random.Random(1)
    return [mul_g(rnd.randrange(1, R)) for _ in range(6)]


# --- Fq helpers ---------------------------------------------------------------------------------

FQ_EDGE = [0, 1, 2, P - 1, P - 2, (P - 1) // 2, (P + 1) // 2, 1 << 64, (1 << 192) + 5]


@given(st.sampled_from(FQ_EDGE) | st.integers(0, P - 1), st.sampled_from(FQ_EDGE))
@settings(deadline=None, max_examples=60)
def test_fq_add_sub_neg(a, b):
    ta, tb = mont(a), mont(b)
    assert ints(g1.fq_add(ta, tb)) == ints(mont((a + b) % P))
    assert ints(g1.fq_sub(ta, tb)) == ints(mont((a - b) % P))
    assert ints(g1.fq_sub(tb, ta)) == ints(mont((b - a) % P))
    assert ints(g1.fq_neg(ta)) == ints(mont(-a % P))
    assert ints(g1.fq_cond_neg(ta, True)) == ints(mont(-a % P))
    assert ints(g1.fq_cond_neg(ta, False)) == ints(ta)
    assert ints(g1.fq_mul(ta, tb)) == ints(mont(a * b % P))
    assert ints(g1.fq_sqr(ta)) == ints(mont(a * a % P)) == ints(g1.fq_mul(ta, ta))
    for name in ("fq_add", "fq_sub", "fq_mul"):
        assert ints(getattr(g1, name)(ta, tb)) == ints(getattr(twin_g1, name)(ta, tb))


# --- point operations -----------------------------------------------------------------------------


def test_conversions_roundtrip(pts):
    arr = g1.ints_to_affine_m(pts + [(0, 0)])
    assert arr.shape == (7, 2, 4) and arr.dtype == np.uint64
    assert not arr[6].any()  # infinity is all zeros
    assert g1.affine_m_to_ints(arr) == pts + [(0, 0)]
    assert g1.affine_m_to_ints(arr[2]) == [pts[2]]  # one (2, 4) point
    assert g1.ints_to_affine_m([None]).tolist() == [[[0] * 4] * 2]
    assert twin_g1.affine_m_to_ints(arr) == pts + [(0, 0)]
    assert np.array_equal(twin_g1.ints_to_affine_m(pts), arr[:6])
    # The LEM byte layout of snarkjs/ffjavascript: x || y, 32-byte little-endian Montgomery words.
    x, y = pts[0]
    assert arr[0].tobytes() == (x * MONT % P).to_bytes(32, "little") + (y * MONT % P).to_bytes(
        32, "little"
    )


def test_add_double_against_py_ecc(pts):
    p, q = pts[0], pts[1]
    for z1, z2 in ((1, 1), (7, 1), (5, 11), (P - 3, 2)):
        a, b = xyzz_t(p, z1), xyzz_t(q, z2)
        expected_sum = plain(bn.add(ecc(p), ecc(q)))
        expected_dbl = plain(bn.double(ecc(p)))
        assert from_xyzz_t(g1.xyzz_add(a, b)) == expected_sum
        assert from_xyzz_t(g1.xyzz_add_affine(a, affine_t(q))) == expected_sum
        assert from_xyzz_t(g1.xyzz_double(a)) == expected_dbl
        # bit for bit with the twins
        assert ints(g1.xyzz_add(a, b)) == ints(twin_g1.xyzz_add(a, b))
        assert ints(g1.xyzz_add_affine(a, affine_t(q))) == ints(
            twin_g1.xyzz_add_affine(a, affine_t(q))
        )
        assert ints(g1.xyzz_double(a)) == ints(twin_g1.xyzz_double(a))
        assert ints(g1.xyzz_to_affine(a)) == ints(twin_g1.xyzz_to_affine(a))
        assert from_xyzz_t(a) == p
    assert from_xyzz_t(g1.xyzz_double_affine(affine_t(p))) == plain(bn.double(ecc(p)))
    assert ints(g1.xyzz_double_affine(affine_t(p))) == ints(twin_g1.xyzz_double_affine(affine_t(p)))


def test_edge_cases(pts):
    p = pts[2]
    neg_p = (p[0], P - p[1])
    inf_a = u64(ints(g1.AFFINE_INFINITY))
    inf_x = u64(ints(g1.XYZZ_INFINITY))
    dbl = plain(bn.double(ecc(p)))
    for z in (1, 3):
        a = xyzz_t(p, z)
        # P + P (both forms) is a doubling, P + (-P) is infinity.
        assert from_xyzz_t(g1.xyzz_add(a, xyzz_t(p, 5))) == dbl
        assert from_xyzz_t(g1.xyzz_add_affine(a, affine_t(p))) == dbl
        assert g1.xyzz_is_infinity(g1.xyzz_add(a, xyzz_t(neg_p, 2)))
        assert g1.xyzz_is_infinity(g1.xyzz_add_affine(a, affine_t(neg_p)))
        assert g1.xyzz_is_infinity(g1.xyzz_add(a, u64(g1.xyzz_neg(a))))
        # infinity on either side
        assert from_xyzz_t(g1.xyzz_add(inf_x, a)) == p
        assert from_xyzz_t(g1.xyzz_add(a, inf_x)) == p
        assert from_xyzz_t(g1.xyzz_add_affine(a, inf_a)) == p
    assert from_xyzz_t(g1.xyzz_add_affine(inf_x, affine_t(p))) == p
    assert g1.xyzz_is_infinity(g1.xyzz_add(inf_x, inf_x))
    assert g1.xyzz_is_infinity(g1.xyzz_add_affine(inf_x, inf_a))
    assert g1.xyzz_is_infinity(g1.xyzz_double(inf_x))
    assert g1.xyzz_is_infinity(g1.xyzz_double_affine(inf_a))
    assert ints(g1.xyzz_to_affine(inf_x)) == ints(inf_a)
    assert ints(g1.affine_to_xyzz(inf_a)) == ints(inf_x)
    assert from_affine_t(g1.affine_neg(affine_t(p))) == neg_p
    assert ints(g1.affine_neg(inf_a)) == ints(inf_a)
    assert g1.affine_is_infinity(inf_a) and not g1.affine_is_infinity(affine_t(p))
    assert g1.affine_is_on_curve(affine_t(p)) and not g1.affine_is_on_curve(inf_a)
    for f in ("xyzz_double", "xyzz_to_affine"):
        assert ints(getattr(g1, f)(inf_x)) == ints(getattr(twin_g1, f)(inf_x))


@given(st.integers(1, R - 1), st.integers(1, R - 1), st.integers(1, P - 1))
@settings(deadline=None, max_examples=15)
def test_point_ops_hypothesis(k1, k2, z):
    p, q = mul_g(k1), mul_g(k2)
    a = xyzz_t(p, z)
    assert from_xyzz_t(g1.xyzz_add_affine(a, affine_t(q))) == mul_g(k1 + k2)
    assert from_xyzz_t(g1.xyzz_add(a, xyzz_t(q, z % (P - 1) + 1))) == mul_g(k1 + k2)
    assert from_xyzz_t(g1.xyzz_double(a)) == mul_g(2 * k1)
    assert ints(g1.xyzz_add(a, xyzz_t(q, 2))) == ints(twin_g1.xyzz_add(a, xyzz_t(q, 2)))


# --- array kernels ------------------------------------------------------------------------------


def test_batch_affine_add_all_cases(pts):
    p, q, r = pts[0], pts[1], pts[3]
    neg = (p[0], P - p[1])
    pairs = [(p, q), ((0, 0), q), (p, (0, 0)), ((0, 0), (0, 0)), (p, p), (p, neg), (r, q), (q, r)]
    acc = g1.ints_to_affine_m([a for a, _ in pairs])
    add = g1.ints_to_affine_m([b for _, b in pairs])
    twin_acc = acc.copy()
    m = len(pairs)
    scratch = (np.empty((m, 4), np.uint64), np.empty((m, 4), np.uint64), np.empty(m, np.int8))
    g1.batch_affine_add(acc, add, 0, m, *scratch)
    twin_g1.batch_affine_add(twin_acc, add, 0, m, *scratch)
    expected = [plain(bn.add(ecc(a), ecc(b))) if a != (0, 0) else b for a, b in pairs]
    assert g1.affine_m_to_ints(acc) == expected
    assert np.array_equal(acc, twin_acc)
    # a sub-range leaves the rest alone
    acc2 = g1.ints_to_affine_m([a for a, _ in pairs])
    g1.batch_affine_add(acc2, add, 2, 5, *scratch)
    got = g1.affine_m_to_ints(acc2)
    assert got[:2] == [a for a, _ in pairs[:2]] and got[5:] == [a for a, _ in pairs[5:]]
    assert got[2:5] == expected[2:5]


def test_xyzz_to_affine_m_chunks():
    """Batch normalisation across chunk boundaries, with infinities inside a chunk."""
    n = g1.BATCH_CHUNK + 37
    base = bn.multiply(bn.G1, 987654321)
    xyzz = np.zeros((n, 4, 4), np.uint64)
    expected = []
    acc = None
    rnd = random.Random(4)
    for i in range(n):
        acc = base if acc is None else bn.add(acc, base)
        if i % 97 == 5:
            g1.store_xyzz(xyzz, i, u64(ints(g1.XYZZ_INFINITY)))
            expected.append((0, 0))
            continue
        pt = plain(acc)
        g1.store_xyzz(xyzz, i, xyzz_t(pt, rnd.randrange(1, P)))
        expected.append(pt)
    out = np.empty((n, 2, 4), np.uint64)
    g1.xyzz_to_affine_m(xyzz, out)
    assert g1.affine_m_to_ints(out) == expected
    twin_out = np.empty((40, 2, 4), np.uint64)
    twin_g1.xyzz_to_affine_m(xyzz[:40], twin_out)
    assert np.array_equal(out[:40], twin_out)
    g1.xyzz_to_affine_m(np.empty((0, 4, 4), np.uint64), np.empty((0, 2, 4), np.uint64))


# --- validation -----------------------------------------------------------------------------------


def test_validation_accepts_points_and_infinity(pts):
    arr = g1.ints_to_affine_m(pts + [(0, 0)])
    g1.validate_g1_affine_m(arr)
    g1.validate_g1_affine_m(np.empty((0, 2, 4), np.uint64))
    status = np.empty(arr.shape[0], np.int8)
    twin_status = np.empty(arr.shape[0], np.int8)
    g1.affine_status_m(arr, status)
    twin_g1.affine_status_m(arr, twin_status)
    assert not status.any() and np.array_equal(status, twin_status)


def test_validation_rejects_bad_points(pts):
    good = g1.ints_to_affine_m(pts)
    # A coordinate >= p in the stored limbs: p itself (it would reduce to a valid 0 otherwise),
    # and all-ones limbs.
    for k, value in ((0, P), (1, (1 << 256) - 1), (1, P + pts[3][1] * MONT % P)):
        bad = good.copy()
        bad[3, k] = np.array(params.to_limbs(value), dtype=np.uint64)
        with pytest.raises(ValueError, match=r"points_m\[3\].*>= p"):
            g1.validate_g1_affine_m(bad)
    # Off the curve: y + 1; and (0, y) for y != 0 (x = 0 is not on the curve: 3 is no square).
    bad = good.copy()
    bad[4, 1] = np.array(mont((pts[4][1] + 1) % P), dtype=np.uint64)
    bad[5, 1] = bad[4, 1]
    with pytest.raises(ValueError, match=r"points_m\[4\].*not on the curve.*2 bad"):
        g1.validate_g1_affine_m(bad)
    bad = np.zeros((2, 2, 4), np.uint64)
    bad[1, 1, 0] = 1
    with pytest.raises(ValueError, match=r"\[1\].*not on the curve"):
        g1.validate_g1_affine_m(bad)
    status = np.empty(2, np.int8)
    twin_status = np.empty(2, np.int8)
    g1.affine_status_m(bad, status)
    twin_g1.affine_status_m(bad, twin_status)
    assert status.tolist() == twin_status.tolist() == [0, g1.STATUS_NOT_ON_CURVE]


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((3, 4), np.uint64),  # field-element shape
        np.zeros((3, 2, 4), np.int64),  # wrong dtype
        np.zeros((3, 3, 4), np.uint64),  # Jacobian-like shape
        np.zeros((2, 3, 2, 4), np.uint64)[:, :, 0],  # right shape, not contiguous
        [[0, 0]],  # not an array
    ],
)
def test_validation_rejects_malformed_arrays(arr):
    with pytest.raises(ValueError, match="points_m"):
        g1.validate_g1_affine_m(arr)


def test_ints_to_affine_rejects_bad_input(pts):
    with pytest.raises(ValueError, match="not on the curve"):
        g1.ints_to_affine_m([pts[0], (pts[1][0], pts[1][1] + 1)])
    with pytest.raises(ValueError, match="point 1"):
        g1.ints_to_affine_m([pts[0], (P, 2)])
    with pytest.raises(ValueError, match="point 0"):
        g1.ints_to_affine_m([(1.0, 2)])


# --- fixed-base multiplication ------------------------------------------------------------------

FB_SCALARS = [0, 1, 2, 3, R - 1, R - 2, (R - 1) // 2, 1 << 128, (1 << 253) + 17, 12345]


@pytest.fixture(scope="module")
def fb_case():
    rnd = random.Random(9)
    scalars = FB_SCALARS + [rnd.randrange(R) for _ in range(10)]
    k = 0xC0FFEE
    base = mul_g(k)
    expected = [mul_g(k * s) for s in scalars]
    return base, scalars, convert.to_mont(FR_M, scalars), expected


@pytest.mark.parametrize("window", range(fb.MIN_WINDOW, fb.MAX_WINDOW + 1))
def test_fixed_base_every_window(fb_case, window):
    base, _, scalars_m, expected = fb_case
    out = fb.fixed_base_g1(base, scalars_m, window=window)
    assert out.shape == (len(expected), 2, 4)
    assert g1.affine_m_to_ints(out) == expected


def test_fixed_base_default_window_and_twins(fb_case):
    base, scalars, scalars_m, expected = fb_case
    assert g1.affine_m_to_ints(fb.fixed_base_g1(base, scalars_m)) == expected
    assert np.array_equal(
        twin_g1.fixed_base_g1(base, scalars_m[:6]), fb.fixed_base_g1(base, scalars_m[:6])
    )
    # the kernels against their twins on the same table
    table = fb.FixedBaseTableG1.build(base, 3)
    windows, half = table.windows, 4
    base_aff = g1.ints_to_affine_m([base])
    bases, twin_bases = np.empty((windows, 4, 4), np.uint64), np.empty((windows, 4, 4), np.uint64)
    fb.window_bases_m(base_aff, 3, bases)
    twin_g1.window_bases_m(base_aff, 3, twin_bases)
    assert np.array_equal(bases, twin_bases)
    bases_aff = np.empty((windows, 2, 4), np.uint64)
    g1.xyzz_to_affine_m(bases, bases_aff)
    rows = np.empty((windows * half, 4, 4), np.uint64)
    twin_rows = np.empty((windows * half, 4, 4), np.uint64)
    fb.table_rows_m(bases_aff, half, rows)
    twin_g1.table_rows_m(bases_aff, half, twin_rows)
    assert np.array_equal(rows, twin_rows)
    out, twin_out = np.zeros((8, 2, 4), np.uint64), np.zeros((8, 2, 4), np.uint64)
    fb.fixed_base_mul_m(table.table_m, 3, scalars_m[:8], True, out, 3)
    twin_g1.fixed_base_mul_m(table.table_m, 3, scalars_m[:8], True, twin_out, 3)
    assert np.array_equal(out, twin_out)
    assert g1.affine_m_to_ints(out) == expected[:8]


def test_fixed_base_table_reuse_and_raw_scalars(fb_case):
    base, scalars, scalars_m, expected = fb_case
    table = fb.FixedBaseTableG1.build(base, 6)
    assert table.table_m.shape == (table.windows * 32, 2, 4)
    assert g1.affine_m_to_ints(table.multiply(scalars_m)) == expected
    raw = convert.ints_to_raw(scalars, R)
    assert g1.affine_m_to_ints(table.multiply(raw, montgomery=False)) == expected
    assert table.multiply(np.empty((0, 4), np.uint64)).shape == (0, 2, 4)


def test_fixed_base_generator_chunks():
    """More scalars than one chunk and thread: tau^i G1, the powers-of-tau use."""
    n = 2 * fb.CHUNK + 3
    tau = 0x1234567
    powers_m = FR_M.powers(tau, n)
    out = fb.fixed_base_g1(params.G1_GENERATOR, powers_m)
    for i in (0, 1, 2, fb.CHUNK - 1, fb.CHUNK, n - 1):
        assert g1.affine_m_to_ints(out[i]) == [mul_g(pow(tau, i, R))]
    g1.validate_g1_affine_m(out)


def test_fixed_base_infinity_base():
    out = fb.fixed_base_g1((0, 0), convert.to_mont(FR_M, [0, 1, 5]))
    assert not out.any()


def test_fixed_base_rejects_bad_input(fb_case):
    base, _, scalars_m, _ = fb_case
    with pytest.raises(ValueError, match="not on the curve"):
        fb.fixed_base_g1((base[0], base[1] + 1), scalars_m)
    bad = scalars_m.copy()
    bad[2] = np.array(params.to_limbs(R), dtype=np.uint64)
    with pytest.raises(ValueError, match="canonical Fr"):
        fb.fixed_base_g1(base, bad)
    with pytest.raises(ValueError, match=r"\(n, 4\) uint64"):
        fb.fixed_base_g1(base, scalars_m.astype(np.int64))
    with pytest.raises(ValueError, match="window"):
        fb.fixed_base_g1(base, scalars_m, window=17)
    with pytest.raises(ValueError, match="window"):
        fb.FixedBaseTableG1.build(base, 0)


def test_fixed_base_window_choice():
    for n in (0, 1, 16, 1 << 10, 1 << 17, 1 << 22):
        assert fb.MIN_WINDOW <= fb.optimal_window(n) <= fb.MAX_WINDOW
    assert fb.optimal_window(1 << 17) > fb.optimal_window(1 << 6)


def test_point_ops_scaling_p_minus_1():
    """Regression: a Jacobian scale factor z = p - 1 (hypothesis found the test's own z + 1 = p)."""
    p, q = mul_g(5), mul_g(7)
    a = xyzz_t(p, P - 1)
    assert from_xyzz_t(g1.xyzz_add_affine(a, affine_t(q))) == mul_g(12)
    assert from_xyzz_t(g1.xyzz_add(a, xyzz_t(q, P - 1))) == mul_g(12)
    assert from_xyzz_t(g1.xyzz_double(a)) == mul_g(10)
