"""Fq2 and G2 Numba kernels and the fixed-base G2 multiplication, against their plain-Python
twins (bit for bit) and against the int reference / py_ecc."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import params
from prover.curve import fixed_base_g2 as fb
from prover.curve import fq2, g2, ref, twin_g2
from prover.field import convert
from prover.field.kernels import FR_M

P, R = params.P, params.R_ORDER
G2_GEN = ref.G2_GENERATOR
EDGE = [0, 1, 2, P - 1, P - 2, (P - 1) // 2, 1 << 64, 1 << 253]

fq_ints = st.one_of(st.sampled_from(EDGE), st.integers(0, P - 1))
fq2_lists = st.lists(st.tuples(fq_ints, fq_ints), min_size=1, max_size=12)


def twist_point_outside_g2(seed: int) -> ref.G2Point:
    rnd = random.Random(seed)
    while True:
        x = (rnd.randrange(P), rnd.randrange(P))
        y = ref.fq2_sqrt(ref.fq2_add(ref.fq2_mul(ref.fq2_sqr(x), x), ref.TWIST_B))
        if y is not None:
            return (x, y)


@pytest.fixture(scope="module")
def points() -> list[ref.G2Point]:
    rnd = random.Random(11)
    return [ref.g2_mul(G2_GEN, rnd.randrange(1, R)) for _ in range(6)]


def u64(t):
    """Nested tuples of np.uint64: scalar @njit functions called from Python must get uint64
    (a Python int argument is typed int64, and int64 mixed with uint64 becomes float64)."""
    return tuple(u64(x) for x in t) if isinstance(t, tuple) else np.uint64(t)


def affine_tuple(q: ref.G2Point):
    return u64(tuple(fq2.mont_fq2(c) for c in q))


def run_both(name: str, *args, out_shape, out_dtype=np.uint64, module=g2, twin=twin_g2):
    """Run kernel ``name`` and its twin on the same inputs; assert equal outputs; return one."""
    out_k = np.zeros(out_shape, dtype=out_dtype)
    out_t = np.zeros(out_shape, dtype=out_dtype)
    getattr(module, name)(*args, out_k)
    getattr(twin, name)(*args, out_t)
    assert np.array_equal(out_k, out_t), name
    return out_k


# --- Fq2 ------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(fq2_lists, fq2_lists)
def test_fq2_kernels_vs_ints_and_twins(xs, ys):
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    a, b = fq2.to_mont(xs), fq2.to_mont(ys)
    shape = (n, 2, 4)
    cases = [
        ("add_m", (a, b), [ref.fq2_add(x, y) for x, y in zip(xs, ys, strict=True)]),
        ("sub_m", (a, b), [ref.fq2_sub(x, y) for x, y in zip(xs, ys, strict=True)]),
        ("mul_m", (a, b), [ref.fq2_mul(x, y) for x, y in zip(xs, ys, strict=True)]),
        ("neg_m", (a,), [ref.fq2_neg(x) for x in xs]),
        ("sqr_m", (a,), [ref.fq2_sqr(x) for x in xs]),
        ("inv_m", (a,), [ref.fq2_inv(x) if x != (0, 0) else (0, 0) for x in xs]),
        ("batch_inv_m", (a,), [ref.fq2_inv(x) if x != (0, 0) else (0, 0) for x in xs]),
    ]
    for name, args, expect in cases:
        out = run_both(name, *args, out_shape=shape, module=fq2)
        assert fq2.from_mont(out) == expect, name
    s = convert.to_mont(convert.kernels.FQ_M, [y[0] for y in ys])
    out = run_both("mul_fq_m", a, s, out_shape=shape, module=fq2)
    assert fq2.from_mont(out) == [ref.fq2_mul_fq(x, y[0]) for x, y in zip(xs, ys, strict=True)]
    eq = run_both("eq_m", a, b, out_shape=(n,), out_dtype=np.bool_, module=fq2)
    assert eq.tolist() == [x == y for x, y in zip(xs, ys, strict=True)]
    zero = run_both("is_zero_m", a, out_shape=(n,), out_dtype=np.bool_, module=fq2)
    assert zero.tolist() == [x == (0, 0) for x in xs]


@settings(deadline=None, max_examples=30)
@given(st.tuples(fq_ints, fq_ints), st.tuples(fq_ints, fq_ints), st.tuples(fq_ints, fq_ints))
def test_fq2_field_laws(x, y, z):
    a, b, c = fq2.to_mont([x]), fq2.to_mont([y]), fq2.to_mont([z])

    def op(name, *args):
        out = np.empty_like(a)
        getattr(fq2, name)(*args, out)
        return out

    assert np.array_equal(op("mul_m", a, b), op("mul_m", b, a))
    assert np.array_equal(op("mul_m", op("mul_m", a, b), c), op("mul_m", a, op("mul_m", b, c)))
    lhs = op("mul_m", a, op("add_m", b, c))
    assert np.array_equal(lhs, op("add_m", op("mul_m", a, b), op("mul_m", a, c)))
    assert np.array_equal(op("sqr_m", a), op("mul_m", a, a))
    assert np.array_equal(op("sub_m", op("add_m", a, b), b), a)
    if x != (0, 0):
        assert fq2.from_mont(op("mul_m", a, op("inv_m", a))) == [(1, 0)]


def test_fq2_scalar_functions_vs_twins():
    """The scalar building blocks, called directly (tuples in, tuples out)."""
    rnd = random.Random(5)
    vals = [(0, 0), (1, 0), (0, 1), (P - 1, P - 1)] + [
        (rnd.randrange(P), rnd.randrange(P)) for _ in range(4)
    ]
    for x in vals:
        for y in vals[:4] + vals[-2:]:
            a, b = fq2.mont_fq2(x), fq2.mont_fq2(y)
            for name in ("add", "sub", "mul"):
                got = getattr(fq2, name)(a, b)
                assert fq2.fq2_int(got) == fq2.fq2_int(getattr(twin_g2, name)(a, b)), name
            assert fq2.eq(a, b) == twin_g2.eq(a, b) == (x == y)
        a = fq2.mont_fq2(x)
        assert fq2.fq2_int(fq2.conj(a)) == ref.fq2_conj(x)
        assert fq2.fq2_int(fq2.double(a)) == ref.fq2_add(x, x)
        assert fq2.fq2_int(fq2.inv(a)) == fq2.fq2_int(twin_g2.inv(a))
        assert fq2.is_zero(a) == twin_g2.is_zero(a) == (x == (0, 0))
        assert fq2.is_canonical(a) and twin_g2.is_canonical(a)
    big = (tuple(np.uint64(v) for v in params.to_limbs(P)), fq2.FQ2_ZERO[0])
    assert not fq2.is_canonical(big) and not twin_g2.is_canonical(big)


def test_fq2_conversions_reject():
    with pytest.raises(ValueError, match="range"):
        fq2.to_mont([(P, 0)])
    with pytest.raises(ValueError, match="pair"):
        fq2.to_mont([(1, 2, 3)])
    with pytest.raises(ValueError, match=r"\(n, 2, 4\)"):
        fq2.from_mont(np.zeros((2, 4), dtype=np.uint64))


# --- G2 point kernels -----------------------------------------------------------------------------


def test_jacobian_ops_vs_twin_and_py_ecc(points):
    ps = points + [ref.G2_INFINITY, points[0], points[1], ref.G2_INFINITY]
    qs = list(reversed(points)) + [points[2], points[0], ref.g2_neg(points[1]), ref.G2_INFINITY]
    n = len(ps)
    a_aff, b_aff = g2.affine_from_ints(ps), g2.affine_from_ints(qs)
    a_jac = run_both("affine_to_jac_m", a_aff, out_shape=(n, 3, 2, 4))
    b_jac = run_both("affine_to_jac_m", b_aff, out_shape=(n, 3, 2, 4))
    # Scale the Jacobian coordinates of b so that Z != 1 in the general addition
    b_jac = run_both("jac_add_m", b_jac, np.zeros_like(b_jac), out_shape=b_jac.shape)
    b_jac = run_both("jac_double_m", b_jac, out_shape=b_jac.shape)
    b2 = [ref.g2_add(q, q) for q in qs]
    assert g2.affine_to_ints(g2.to_affine(b_jac)) == b2

    sums = [ref.g2_add(p, q) for p, q in zip(ps, qs, strict=True)]
    out = run_both("jac_add_mixed_m", a_jac, b_aff, out_shape=(n, 3, 2, 4))
    assert g2.affine_to_ints(run_both("jac_to_affine_m", out, out_shape=(n, 2, 2, 4))) == sums
    out = run_both(
        "jac_add_m",
        a_jac,
        run_both("affine_to_jac_m", b_aff, out_shape=(n, 3, 2, 4)),
        out_shape=(n, 3, 2, 4),
    )
    assert g2.affine_to_ints(g2.to_affine(out)) == sums
    out = run_both("jac_add_m", a_jac, b_jac, out_shape=(n, 3, 2, 4))
    assert g2.affine_to_ints(g2.to_affine(out)) == [
        ref.g2_add(p, q) for p, q in zip(ps, b2, strict=True)
    ]
    out = run_both("jac_double_m", a_jac, out_shape=(n, 3, 2, 4))
    assert g2.affine_to_ints(g2.to_affine(out)) == [ref.g2_add(p, p) for p in ps]
    neg = run_both("affine_neg_m", a_aff, out_shape=(n, 2, 2, 4))
    assert g2.affine_to_ints(neg) == [ref.g2_neg(p) for p in ps]


def test_point_helpers_vs_twins(points):
    for q in [points[0], ref.G2_INFINITY]:
        qt = affine_tuple(q)
        jac = u64(g2.affine_to_jac(qt))
        assert jac == u64(twin_g2.affine_to_jac(qt))
        assert g2.affine_is_infinity(qt) == twin_g2.affine_is_infinity(qt) == (q == ref.G2_INFINITY)
        assert g2.jac_is_infinity(jac) == twin_g2.jac_is_infinity(jac) == (q == ref.G2_INFINITY)
        assert u64(g2.jac_neg(jac)) == u64(twin_g2.jac_neg(jac))
        assert u64(g2.affine_neg(qt)) == u64(twin_g2.affine_neg(qt)) == affine_tuple(ref.g2_neg(q))
        assert g2.affine_status(qt) == twin_g2.affine_status(qt) == g2.STATUS_OK
        dbl = u64(g2.jac_double(jac))
        assert dbl == u64(twin_g2.jac_double(jac))
        assert u64(g2.jac_add(jac, dbl)) == u64(twin_g2.jac_add(jac, dbl))
        assert u64(g2.jac_add_mixed(dbl, qt)) == u64(twin_g2.jac_add_mixed(dbl, qt))
        assert g2.jac_eq_affine(dbl, affine_tuple(ref.g2_mul(q, 2)))


def test_special_cases_mixed_and_general(points):
    """P + P (doubling), P + (-P) (infinity), O + Q, P + O; with Z = 1 and with Z != 1."""
    p = points[0]
    a_aff = g2.affine_from_ints([p, p, ref.G2_INFINITY, p])
    b_aff = g2.affine_from_ints([p, ref.g2_neg(p), p, ref.G2_INFINITY])
    a_jac = g2.to_jacobian(a_aff)
    expect = [ref.g2_mul(p, 2), ref.G2_INFINITY, p, p]
    out = np.empty_like(a_jac)
    g2.jac_add_mixed_m(a_jac, b_aff, out)
    assert g2.affine_to_ints(g2.to_affine(out)) == expect
    g2.jac_add_m(a_jac, g2.to_jacobian(b_aff), out)
    assert g2.affine_to_ints(g2.to_affine(out)) == expect
    # Z != 1: two = 2P in Jacobian, -two by negating Y
    two = np.empty_like(a_jac)
    g2.jac_double_m(a_jac, two)
    two_aff = g2.to_affine(two)
    neg_two = two.copy()
    y = np.ascontiguousarray(two[:, 1])
    fq2.neg_m(y, y)
    neg_two[:, 1] = y
    four = [ref.g2_mul(p, 4)] * 2 + [ref.G2_INFINITY, ref.g2_mul(p, 4)]
    g2.jac_add_m(two, two, out)
    assert g2.affine_to_ints(g2.to_affine(out)) == four
    g2.jac_add_mixed_m(two, two_aff, out)
    assert g2.affine_to_ints(g2.to_affine(out)) == four
    g2.jac_add_m(two, neg_two, out)
    assert g2.affine_to_ints(g2.to_affine(out)) == [ref.G2_INFINITY] * 4
    neg_two_aff = np.empty_like(two_aff)
    g2.affine_neg_m(two_aff, neg_two_aff)
    g2.jac_add_mixed_m(two, neg_two_aff, out)
    assert g2.affine_to_ints(g2.to_affine(out)) == [ref.G2_INFINITY] * 4


def test_affine_batch_add(points):
    p, q = points[0], points[1]
    ps = [p, p, p, ref.G2_INFINITY, p, ref.G2_INFINITY] + points
    qs = [q, p, ref.g2_neg(p), q, ref.G2_INFINITY, ref.G2_INFINITY] + points[::-1]
    n = len(ps)
    a, b = g2.affine_from_ints(ps), g2.affine_from_ints(qs)
    expect = [ref.g2_add(x, y) for x, y in zip(ps, qs, strict=True)]
    for chunk in (1, 3, 64):
        out = np.zeros((n, 2, 2, 4), dtype=np.uint64)
        g2.affine_add_m(a, b, chunk, out)
        assert g2.affine_to_ints(out) == expect
    twin = np.zeros((n, 2, 2, 4), dtype=np.uint64)
    twin_g2.affine_add_m(a, b, 4, twin)
    assert np.array_equal(out, twin)
    assert g2.affine_to_ints(g2.add_affine(a, b)) == expect
    # in place (out aliases a)
    g2.affine_add_m(a, b, 4, a)
    assert g2.affine_to_ints(a) == expect
    with pytest.raises(ValueError, match="shape mismatch"):
        g2.add_affine(a, b[:2])


def test_scalar_mul_psi_and_subgroup(points):
    outside = [twist_point_outside_g2(s) for s in (1, 2)]
    torsion = ref.g2_mul(outside[0], R)  # order divides the cofactor 2p - r
    cases = points[:2] + [ref.G2_INFINITY, *outside, torsion, ref.g2_add(points[0], torsion)]
    e_limbs = tuple(np.uint64(v) for v in params.to_limbs(12345 + (1 << 200)))
    for q in cases:
        qt = affine_tuple(q)
        jac = u64(g2.jac_mul_affine(qt, e_limbs))
        assert jac == u64(twin_g2.jac_mul_affine(qt, e_limbs))
        expect = affine_tuple(ref.g2_mul(q, 12345 + (1 << 200)))
        assert g2.jac_eq_affine(jac, expect) and twin_g2.jac_eq_affine(jac, expect)
        assert not g2.jac_eq_affine(jac, affine_tuple(ref.g2_add(q, G2_GEN)))
        assert g2.affine_to_ints(g2.affine_from_ints([q]))[0] == q
        psi = tuple(fq2.fq2_int(c) for c in g2.affine_psi(qt))
        assert psi == ref.g2_psi(q) == tuple(fq2.fq2_int(c) for c in twin_g2.affine_psi(qt))
        in_g2 = ref.is_in_g2_subgroup(q)
        assert g2.affine_in_subgroup(qt) == twin_g2.affine_in_subgroup(qt) == in_g2
    assert [ref.is_in_g2_subgroup(q) for q in cases] == [True] * 3 + [False] * 4


def test_check_affine(points):
    good = [*points, ref.G2_INFINITY]
    a = g2.affine_from_ints(good)
    assert g2.check_affine(a, subgroup=True) is not None
    status = run_both("affine_status_m", a, True, out_shape=(len(good),), out_dtype=np.uint8)
    assert not status.any()
    bad = a.copy()
    bad[1, 0, 1] = fq2.to_mont([(0, 0)])[0, 0]  # x.c1 := 0: off the twist
    bad[3, 1, 0] = np.array(params.to_limbs(P), dtype=np.uint64)  # y.c0 := p (raw limbs)
    bad[4] = g2.affine_from_ints([twist_point_outside_g2(3)])[0]
    status = run_both("affine_status_m", bad, True, out_shape=(len(good),), out_dtype=np.uint8)
    assert status.tolist() == [0, 2, 0, 1, 3, 0, 0]
    status = run_both("affine_status_m", bad, False, out_shape=(len(good),), out_dtype=np.uint8)
    assert status.tolist() == [0, 2, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="index 1: not on the twist"):
        g2.check_affine(bad)
    with pytest.raises(ValueError, match="index 1: a coordinate is >= p"):
        g2.check_affine(bad[2:])
    with pytest.raises(ValueError, match="index 0: on the twist but not in the order-r"):
        g2.check_affine(bad[4:], subgroup=True)
    g2.check_affine(bad[4:])  # no subgroup check by default
    with pytest.raises(ValueError, match=r"\(n, 2, 2, 4\)"):
        g2.check_affine(a[:, 0])
    with pytest.raises(ValueError, match=r"\(n, 2, 2, 4\)"):
        g2.check_affine(a.astype(np.int64))


def test_lem_bytes(points):
    pts = [*points, ref.G2_INFINITY]
    a = g2.affine_from_ints(pts)
    data = g2.affine_to_lem(a)
    assert data == b"".join(ref.g2_to_lem(p) for p in pts)
    back = g2.affine_from_lem(data)
    assert back.flags.writeable and np.array_equal(back, a)
    assert np.array_equal(g2.affine_from_lem(data, subgroup=True), a)
    with pytest.raises(ValueError, match="multiple of 128"):
        g2.affine_from_lem(data[:-1])
    tampered = bytearray(data)
    tampered[0] ^= 1
    with pytest.raises(ValueError, match="not on the twist"):
        g2.affine_from_lem(bytes(tampered))
    assert g2.affine_from_lem(bytes(tampered), validate=False).shape == a.shape


# --- fixed-base multiplication --------------------------------------------------------------------


def scalars_for_tests() -> list[int]:
    rnd = random.Random(13)
    specials = [0, 1, 2, 3, R - 1, R - 2, (R - 1) // 2, 1 << 128, (1 << 253) + 1, 4096, 4095]
    return specials + [rnd.randrange(R) for _ in range(9)]


@pytest.fixture(scope="module")
def expected_fixed_base():
    ks = scalars_for_tests()
    return ks, [ref.g2_mul(G2_GEN, k) for k in ks]


@pytest.mark.parametrize("window", [2, 3, 7, 12])
def test_fixed_base_vs_py_ecc(expected_fixed_base, window):
    ks, expect = expected_fixed_base
    sm = convert.to_mont(FR_M, ks)
    table = fb.FixedBaseTableG2.build(G2_GEN, window=window)
    assert table.table_m.shape == (fb.windows_for(window) << (window - 1), 2, 2, 4)
    for chunk in (1, 5, 512):
        assert g2.affine_to_ints(table.multiply(sm, chunk=chunk)) == expect
    assert g2.affine_to_ints(g2.to_affine(table.multiply_jacobian(sm))) == expect


def test_fixed_base_default_api(expected_fixed_base, points):
    ks, expect = expected_fixed_base
    sm = convert.to_mont(FR_M, ks)
    out = fb.fixed_base_g2(G2_GEN, sm)
    assert out.shape == (len(ks), 2, 2, 4) and out.dtype == np.uint64
    assert g2.affine_to_ints(out) == expect
    base = points[3]  # another base
    assert g2.affine_to_ints(fb.fixed_base_g2(base, sm[:5], window=4)) == [
        ref.g2_mul(base, k) for k in ks[:5]
    ]
    assert fb.fixed_base_g2(G2_GEN, np.zeros((0, 4), dtype=np.uint64)).shape == (0, 2, 2, 4)
    assert not fb.fixed_base_g2(ref.G2_INFINITY, sm[:3]).any()


def test_fixed_base_twins_bit_exact():
    window = 4
    ks = [0, 1, R - 1, 0x1234567890ABCDEF << 100, 7]
    sm = convert.to_mont(FR_M, ks)
    table = fb.FixedBaseTableG2.build(G2_GEN, window=window)
    n = len(ks)
    bases = run_both(
        "window_bases_m",
        g2.affine_from_ints([G2_GEN]),
        window,
        table.windows,
        out_shape=(table.windows, 3, 2, 4),
        module=fb,
    )
    assert g2.affine_to_ints(g2.to_affine(bases))[1] == ref.g2_mul(G2_GEN, 1 << window)
    run_both(
        "fixed_base_mul_m",
        table.table_m,
        window,
        table.windows,
        sm,
        out_shape=(n, 3, 2, 4),
        module=fb,
    )
    out = run_both(
        "fixed_base_mul_affine_m",
        table.table_m,
        window,
        table.windows,
        sm,
        2,
        out_shape=(n, 2, 2, 4),
        module=fb,
    )
    assert g2.affine_to_ints(out) == [ref.g2_mul(G2_GEN, k) for k in ks]


def test_fixed_base_special_cases_with_a_repeating_table(points):
    """A table whose windows all hold the multiples of the same point B forces the accumulator to
    meet +-(its table point): digits (1, 1) double, digits (1, -1, 1) pass through infinity."""
    window, b = 3, points[0]
    windows = fb.windows_for(window)
    half = 1 << (window - 1)
    row = g2.affine_from_ints([ref.g2_mul(b, d) for d in range(1, half + 1)])
    table = np.ascontiguousarray(np.tile(row, (windows, 1, 1, 1)))
    w = 1 << window
    ks = [
        1 + w,
        1 - w + w * w,
        2 + 2 * w,
        3 + w * 5,
        4 - 4 * w + 4 * w * w,
    ]  # digits sum: 2,1,4,...

    def digit_sum(k):
        return sum(twin_g2._digits(convert.to_mont(FR_M, [k])[0], window, windows))

    sm = convert.to_mont(FR_M, ks)
    expect = [ref.g2_mul(b, digit_sum(k)) for k in ks]
    assert [digit_sum(k) for k in ks[:3]] == [2, 1, 4]
    n = len(ks)
    out = run_both(
        "fixed_base_mul_affine_m", table, window, windows, sm, 2, out_shape=(n, 2, 2, 4), module=fb
    )
    assert g2.affine_to_ints(out) == expect
    jac = run_both(
        "fixed_base_mul_m", table, window, windows, sm, out_shape=(n, 3, 2, 4), module=fb
    )
    assert g2.affine_to_ints(g2.to_affine(jac)) == expect


@settings(deadline=None, max_examples=50)
@given(st.integers(0, (1 << 256) - 1), st.integers(0, 260), st.integers(2, 16))
def test_window_value(s, bit, window):
    limbs = tuple(np.uint64(v) for v in params.to_limbs(s))
    assert fb.window_value(limbs, bit, window) == twin_g2.window_value(limbs, bit, window)
    assert fb.window_value(limbs, bit, window) == (s >> bit) & ((1 << window) - 1)


def test_fixed_base_rejects(points):
    sm = convert.to_mont(FR_M, [1, 2])
    with pytest.raises(ValueError, match="subgroup"):
        fb.fixed_base_g2(twist_point_outside_g2(4), sm)
    (x0, x1), y = G2_GEN
    with pytest.raises(ValueError, match="not on the twist"):
        fb.fixed_base_g2(((x0, (x1 + 1) % P), y), sm)
    with pytest.raises(ValueError, match="canonical"):
        fb.fixed_base_g2(((x0 + P, x1), y), sm)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        fb.fixed_base_g2(G2_GEN, sm.reshape(-1))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        fb.fixed_base_g2(G2_GEN, sm.astype(np.int64))
    big = sm.copy()
    big[1] = np.array(params.to_limbs(R), dtype=np.uint64)
    with pytest.raises(ValueError, match=">= r"):
        fb.fixed_base_g2(G2_GEN, big)
    with pytest.raises(ValueError, match="window"):
        fb.fixed_base_g2(G2_GEN, sm, window=1)
    with pytest.raises(ValueError, match="window"):
        fb.FixedBaseTableG2.build(G2_GEN, window=fb.MAX_WINDOW + 1)


def test_optimal_window_grows_with_n():
    ws = [fb.optimal_window(1 << k) for k in range(0, 22, 3)]
    assert ws == sorted(ws) and ws[0] >= 2 and ws[-1] <= fb.MAX_WINDOW
    for w in range(2, fb.MAX_WINDOW + 1):
        assert fb.windows_for(w) * w > fb.SCALAR_BITS >= (fb.windows_for(w) - 1) * w
