"""Pippenger MSM on G1 (prover.curve.msm): against (sum_i k_i s_i) G computed with py_ecc for
points k_i G of known discrete log, and against the plain-Python twin, for every window size,
batch-affine and XYZZ bucket paths, the eight-lane IFMA path and the scalar one, conflicts, edge
scalars, fixed bases (MSMBases, prefixes of them) and malformed input."""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as bn

from prover import params
from prover.curve import g1, msm, twin_g1
from prover.field import convert, ifma
from prover.field.kernels import FR_M

R = params.R_ORDER
needs_ifma = pytest.mark.skipif(not ifma.HAVE_IFMA, reason="this CPU has no AVX-512 IFMA")
# msm.IFMA on (the eight-lane kernels) or off (the scalar batch-affine kernels)
PATHS = [pytest.param(True, id="ifma", marks=needs_ifma), pytest.param(False, id="scalar")]


@contextmanager
def msm_path(use_ifma: bool):
    saved = msm.IFMA
    msm.IFMA = use_ifma and ifma.HAVE_IFMA
    try:
        yield
    finally:
        msm.IFMA = saved


EDGE_SCALARS = [0, 1, 2, R - 1, R - 2, (R - 1) // 2, (R + 1) // 2, 1 << 253, (1 << 128) - 1]


def plain(p) -> tuple[int, int]:
    if bn.is_inf(p):
        return (0, 0)
    x, y = bn.normalize(p)
    return int(x), int(y)


def mul_g(k: int) -> tuple[int, int]:
    return plain(bn.multiply(bn.G1, k % R))


def small_multiples(count: int) -> list[tuple[int, int]]:
    """[G, 2G, ..., count G] by repeated addition (cheap)."""
    out, acc = [], None
    for _ in range(count):
        acc = bn.G1 if acc is None else bn.add(acc, bn.G1)
        out.append(plain(acc))
    return out


class Case:
    """Points k_i G (k_i = 0 means infinity) and scalars s_i; expected = (sum k_i s_i) G."""

    def __init__(self, logs: list[int], scalars: list[int], table: dict[int, tuple[int, int]]):
        self.logs, self.scalars = logs, scalars
        self.points_m = g1.ints_to_affine_m([table[k] if k else (0, 0) for k in logs])
        self.scalars_m = convert.to_mont(FR_M, scalars)
        self.expected = mul_g(sum(k * s for k, s in zip(logs, scalars, strict=True)))


@pytest.fixture(scope="module")
def table() -> dict[int, tuple[int, int]]:
    """Discrete logs -> points: small multiples (repeats and P + P cases) and random logs."""
    rnd = random.Random(5)
    tab = {k + 1: pt for k, pt in enumerate(small_multiples(40))}
    for _ in range(14):
        k = rnd.randrange(1, R)
        tab[k] = mul_g(k)
    return tab


@pytest.fixture(scope="module")
def mixed(table) -> Case:
    """24 points: random, repeated, negated (-P = (r-1) P), infinity; edge and random scalars."""
    rnd = random.Random(6)
    big = [k for k in table if k > 40]
    logs = big[:10] + [3, 3, 3, 7, 7, 0, 0, 5, big[0], 11, 12, 13, 14, 1]
    scalars = EDGE_SCALARS + [rnd.randrange(R) for _ in range(len(logs) - len(EDGE_SCALARS))]
    scalars[11] = scalars[10]  # the same point with the same scalar: P + P in one bucket
    scalars[13] = R - scalars[14]  # 7 * s + 7 * (-s): P + (-P)
    return Case(logs, scalars, table)


@pytest.fixture(scope="module")
def conflicts(table) -> Case:
    """600 points among 40 small multiples, scalars with few distinct digits: every bucket is
    hit many times in a row, so batches conflict, the queue fills and overflows into XYZZ."""
    rnd = random.Random(7)
    logs = [rnd.randrange(0, 41) for _ in range(600)]
    pool = [rnd.randrange(R) for _ in range(3)] + [1, 2, R - 1]
    scalars = [rnd.choice(pool) for _ in logs]
    return Case(logs, scalars, table)


@pytest.mark.parametrize("glv", [True, False])
@pytest.mark.parametrize("window", range(msm.MIN_WINDOW, msm.MAX_WINDOW + 1))
def test_every_window(mixed, window, glv):
    got = msm.msm_g1(mixed.points_m, mixed.scalars_m, window=window, glv=glv)
    assert got == mixed.expected


@pytest.mark.parametrize("use_ifma", PATHS)
@pytest.mark.parametrize("window", [2, 5, 8, 11, 13, 16])
@pytest.mark.parametrize("batch", [None, 0, 1, 2, 7, 64])
def test_batch_affine_paths(conflicts, window, batch, use_ifma):
    """Forced batch sizes (1: a batch per addition, 16 on the IFMA path; 0: XYZZ buckets) and
    the replicas that a batch larger than the window's buckets brings. The IFMA path meets
    every lane kind here: chords, copies into empty buckets, P + P and P + (-P) in a batch,
    deferrals, a full queue."""
    with msm_path(use_ifma):
        got = msm.msm_g1(conflicts.points_m, conflicts.scalars_m, window=window, batch=batch)
        assert got == conflicts.expected
        if batch in (None, 2):
            got = msm.msm_g1(
                conflicts.points_m, conflicts.scalars_m, window=window, batch=batch, glv=False
            )
            assert got == conflicts.expected


@needs_ifma
@pytest.mark.parametrize("glv", [True, False])
@pytest.mark.parametrize("window", range(msm.MIN_WINDOW, msm.MAX_WINDOW + 1))
def test_ifma_every_window(mixed, window, glv):
    """The IFMA path (forced by a batch size) on random, repeated, negated and infinity points
    with edge scalars, for every window."""
    with msm_path(True):
        assert msm.msm_g1(mixed.points_m, mixed.scalars_m, window=window, batch=16, glv=glv) == (
            mixed.expected
        )


GLV_EDGE = EDGE_SCALARS + [msm.g1.GLV_LAMBDA, R - msm.g1.GLV_LAMBDA, (1 << 127) - 1, 1 << 127]


def test_glv_split():
    """s = k1 + k2 lambda (mod r) with |k1|, |k2| < 2^127, against Python ints and the twin."""
    rnd = random.Random(12)
    for s in GLV_EDGE + [rnd.randrange(R) for _ in range(300)]:
        m1, n1, m2, n2, overflow = msm.glv_split(tuple(np.uint64(w) for w in params.to_limbs(s)))
        k1 = -int(m1[0] | m1[1] << 64) if n1 else int(m1[0] | m1[1] << 64)
        k2 = -int(m2[0] | m2[1] << 64) if n2 else int(m2[0] | m2[1] << 64)
        assert not overflow and int(m1[2] | m1[3] | m2[2] | m2[3]) == 0
        assert (k1 + k2 * msm.g1.GLV_LAMBDA - s) % R == 0
        assert abs(k1) < 1 << 127 and abs(k2) < 1 << 127
        assert (k1, k2) == twin_g1.glv_split(s)


def test_glv_endomorphism(table):
    """phi(x, y) = (beta x, y) is [lambda] on G1 (py_ecc), and the kernel matches its twin."""
    pts = [table[k] for k in (1, 2, 3, 41 if 41 in table else 4)] + [(0, 0)]
    arr = g1.ints_to_affine_m(pts)
    out, twin = np.empty_like(arr), np.empty_like(arr)
    g1.endomorphism_m(arr, out)
    twin_g1.endomorphism_m(arr, twin)
    assert np.array_equal(out, twin)
    got = g1.affine_m_to_ints(out)
    for pt, phi in zip(pts, got, strict=True):
        if pt == (0, 0):
            assert phi == (0, 0)
            continue
        assert phi == plain(bn.multiply((bn.FQ(pt[0]), bn.FQ(pt[1]), bn.FQ(1)), msm.g1.GLV_LAMBDA))
        assert phi == (pt[0] * msm.g1.GLV_BETA % params.P, pt[1])


@pytest.mark.parametrize("window", [1, 4, 13, 16])
def test_glv_digits_and_points_against_twin(window, table):
    rnd = random.Random(window + 50)
    scalars = GLV_EDGE + [rnd.randrange(R) for _ in range(16)]
    scalars_m = convert.to_mont(FR_M, scalars)
    m = 2 * len(scalars)
    codes = np.empty((msm.windows_for(window, msm.GLV_BITS), m), np.uint16)
    twin = np.empty_like(codes)
    neg, twin_neg = np.empty(m, np.bool_), np.empty(m, np.bool_)
    assert msm.signed_digits_glv_m(scalars_m, True, window, codes, neg) == 0
    twin_g1.signed_digits_glv_m(scalars_m, True, window, twin, twin_neg)
    assert np.array_equal(codes, twin) and np.array_equal(neg, twin_neg)
    assert neg.any() and not neg.all()
    pts = g1.ints_to_affine_m([table[k % 40 + 1] for k in range(len(scalars))])
    out, twin_out = np.empty((m, 2, 4), np.uint64), np.empty((m, 2, 4), np.uint64)
    msm.glv_points_m(pts, neg, out)
    twin_g1.glv_points_m(pts, neg, twin_out)
    assert np.array_equal(out, twin_out)


def test_glv_negative_half_with_digit_half():
    """A negative GLV half with a digit +2^(c-1) at c = 16: its sign goes into the point (the
    flipped digit -2^15 would have the code of SKIP). Found by the 2^18-point benchmark."""
    rnd = random.Random(99)
    for _ in range(200_000):
        s = rnd.randrange(R)
        halves = twin_g1.glv_split(s)
        if any(k < 0 and 1 << 15 in twin_g1._signed_digits(-k, 16, 127) for k in halves):
            break
    else:
        pytest.fail("no scalar with a negative half and a digit 2^15 found")
    case = Case([1, 2], [s, 1], {1: mul_g(1), 2: mul_g(2)})
    for batch in (None, 0):
        got = msm.msm_g1(case.points_m, case.scalars_m, window=16, batch=batch)
        assert got == case.expected


def test_plan_choice():
    """The cost model picks batch-affine buckets (with replicas when buckets are few) for many
    points, and XYZZ buckets for few."""
    plan = msm.WindowPlan.choose(1 << 8, 1 << 15)
    assert plan.batch and plan.replicas > 1
    assert msm.WindowPlan.choose(1 << 8, 600).batch == 0
    assert msm.WindowPlan.choose(1 << 12, 1 << 16) == msm.WindowPlan(1 << 12, 1, msm.MAX_BATCH)
    assert msm.WindowPlan.choose(8, 1 << 16, batch=64).replicas == 32


def test_against_twin(mixed):
    twin = twin_g1.msm_g1(mixed.points_m, mixed.scalars_m, window=5)
    assert twin == mixed.expected
    assert msm.msm_g1(mixed.points_m, mixed.scalars_m, window=5) == twin


@pytest.mark.parametrize("use_ifma", PATHS)
def test_large_random_against_py_ecc(table, use_ifma):
    """2^11 random multiples of a few points: default plan, and a window whose automatic plan
    is batch-affine."""
    rnd = random.Random(8)
    logs = [rnd.choice(list(table)) for _ in range(1 << 11)]
    case = Case(logs, [rnd.randrange(R) for _ in logs], table)
    with msm_path(use_ifma):
        _check_large(case)


def _check_large(case: Case) -> None:
    assert msm.msm_g1(case.points_m, case.scalars_m) == case.expected
    logs = case.logs
    m = 2 * len(logs)
    assert msm.WindowPlan.choose(1 << 10, m).batch
    assert msm.msm_g1(case.points_m, case.scalars_m, window=11) == case.expected
    assert msm.WindowPlan.choose(1 << 10, len(logs)).batch
    assert msm.msm_g1(case.points_m, case.scalars_m, window=11, glv=False) == case.expected
    bases = msm.MSMBases.prepare(case.points_m)
    assert msm.msm_g1_bases(bases, case.scalars_m) == case.expected
    n = len(logs) - 6  # a prefix of the bases, default plan
    assert msm.msm_g1_bases(bases, case.scalars_m[:n]) == msm.msm_g1(
        case.points_m[:n], case.scalars_m[:n], glv=False, window=7, batch=0
    )


def test_n_zero_and_one(table):
    empty = np.empty((0, 2, 4), np.uint64), np.empty((0, 4), np.uint64)
    assert msm.msm_g1(*empty) == (0, 0)
    assert not msm.msm_g1_m(*empty).any()
    for s in (0, 1, R - 1, 123456789):
        case = Case([5], [s], table)
        for window in (1, 7, 16):
            assert msm.msm_g1(case.points_m, case.scalars_m, window=window) == case.expected
    zero = Case([5, 7], [0, 0], table)
    assert msm.msm_g1(zero.points_m, zero.scalars_m) == (0, 0)
    inf = Case([0, 0], [3, 4], table)
    assert msm.msm_g1(inf.points_m, inf.scalars_m) == (0, 0)


def test_raw_and_montgomery_outputs(mixed):
    raw = convert.ints_to_raw(mixed.scalars, R)
    assert msm.msm_g1_raw(mixed.points_m, raw) == mixed.expected
    assert msm.msm_g1_raw(mixed.points_m, raw, glv=False) == mixed.expected
    out_m = msm.msm_g1_m(mixed.points_m, mixed.scalars_m)
    assert out_m.shape == (2, 4) and out_m.dtype == np.uint64
    assert g1.affine_m_to_ints(out_m) == [mixed.expected]


@pytest.mark.parametrize("window", [1, 3, 13, 16])
def test_signed_digits_against_twin(window):
    rnd = random.Random(window)
    scalars = EDGE_SCALARS + [rnd.randrange(R) for _ in range(20)]
    scalars_m = convert.to_mont(FR_M, scalars)
    w = msm.windows_for(window)
    codes = np.empty((w, len(scalars)), np.uint16)
    twin = np.empty_like(codes)
    msm.signed_digits_m(scalars_m, True, window, codes)
    twin_g1.signed_digits_m(scalars_m, True, window, twin)
    assert np.array_equal(codes, twin)
    # decode: sum_j d_j 2^(c j) == s, digits within (-2^(c-1), 2^(c-1)]
    for i, s in enumerate(scalars):
        total = 0
        for j in range(w):
            code = int(codes[j, i])
            d = 0 if code == msm.SKIP else ((code >> 1) + 1) * (-1 if code & 1 else 1)
            assert -(1 << (window - 1)) < d <= 1 << (window - 1)
            total += d << (window * j)
        assert total == s
    raw_codes = np.empty_like(codes)
    msm.signed_digits_m(convert.ints_to_raw(scalars, R), False, window, raw_codes)
    assert np.array_equal(raw_codes, codes)


def test_combine_windows_against_twin(table):
    pts = [table[k] for k in (3, 9, 17)]
    sums = np.zeros((3, 4, 4), np.uint64)
    for j, pt in enumerate(pts):
        twin_g1.store_xyzz(sums, j, twin_g1.affine_to_xyzz(twin_g1.ints_to_affine_m([pt])[0]))
    got = msm.combine_windows(sums, 5)
    assert tuple(map(tuple, np.array(got, dtype=np.uint64).tolist())) == tuple(
        tuple(int(v) for v in c) for c in twin_g1.combine_windows(sums, 5)
    )
    assert g1.affine_tuple_to_int(got) == mul_g(3 + 9 * 32 + 17 * 1024)


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(EDGE_SCALARS) | st.integers(0, R - 1)),
        min_size=1,
        max_size=40,
    ),
    st.integers(msm.MIN_WINDOW, msm.MAX_WINDOW),
    st.sampled_from([None, 0, 1, 3, 16]),
    st.booleans(),
    st.booleans(),
)
@settings(deadline=None, max_examples=40)
def test_msm_hypothesis(table, pairs, window, batch, glv, use_ifma):
    case = Case([k for k, _ in pairs], [s for _, s in pairs], table)
    with msm_path(use_ifma):
        got = msm.msm_g1(case.points_m, case.scalars_m, window=window, batch=batch, glv=glv)
        assert got == case.expected
        bases = msm.MSMBases.prepare(case.points_m)
        assert msm.msm_g1_bases(bases, case.scalars_m, window=window, batch=batch) == (
            case.expected
        )


# --- malformed input ----------------------------------------------------------------------------


def test_rejects_malformed_input(mixed):
    pts, sc = mixed.points_m, mixed.scalars_m
    with pytest.raises(ValueError, match="24 points but 23 scalars"):
        msm.msm_g1(pts, sc[:23])
    with pytest.raises(ValueError, match=r"\(n, 4\) uint64"):
        msm.msm_g1(pts, sc.astype(np.int64))
    with pytest.raises(ValueError, match=r"\(n, 2, 4\) uint64"):
        msm.msm_g1(pts.reshape(-1, 4), sc)
    with pytest.raises(ValueError, match="C-contiguous"):
        msm.msm_g1(np.asfortranarray(pts), sc)
    bad = sc.copy()
    bad[4] = np.array(params.to_limbs(R), dtype=np.uint64)
    with pytest.raises(ValueError, match="canonical Fr"):
        msm.msm_g1(pts, bad)
    with pytest.raises(ValueError, match="canonical Fr"):
        msm.msm_g1_raw(pts, bad)
    for window in (0, 17, 2.5, "13"):
        with pytest.raises(ValueError, match="window"):
            msm.msm_g1(pts, sc, window=window)
    for batch in (-1, 1.5, 1 << 21):
        with pytest.raises(ValueError, match="batch"):
            msm.msm_g1(pts, sc, batch=batch)


def test_rejects_invalid_points(mixed):
    bad = mixed.points_m.copy()
    bad[6, 1, 0] ^= np.uint64(1)  # off the curve
    with pytest.raises(ValueError, match=r"points_m\[6\].*not on the curve"):
        msm.msm_g1(bad, mixed.scalars_m)
    bad = mixed.points_m.copy()
    bad[2, 0] = np.array(params.to_limbs(params.P), dtype=np.uint64)
    with pytest.raises(ValueError, match=r"points_m\[2\].*>= p"):
        msm.msm_g1(bad, mixed.scalars_m)
    with pytest.raises(ValueError, match="not a valid G1 point"):
        twin_g1.msm_g1(bad, mixed.scalars_m)
    # validate=False skips the check (for points already validated): no error raised
    msm.msm_g1(mixed.points_m, mixed.scalars_m, validate=False)


def test_window_choice():
    for n in (0, 1, 2, 10, 100, 1 << 10, 1 << 16, 1 << 20, 1 << 24):
        for glv in (True, False):
            assert msm.MIN_WINDOW <= msm.optimal_window(n, glv=glv) <= msm.MAX_WINDOW
    assert msm.optimal_window(1 << 16, threads=2) in (12, 13, 14)
    assert msm.optimal_window(1 << 20, threads=2) >= msm.optimal_window(1 << 16, threads=2)
    assert msm.optimal_window(4) <= 4
    for bits in (msm.SCALAR_BITS, msm.GLV_BITS):
        assert all(msm.windows_for(c, bits) * c >= bits + 1 for c in range(1, 17))
        assert all(msm.top_window_buckets(c, bits) <= 1 << (c - 1) for c in range(1, 17))
    assert msm.WindowPlan.choose(1 << 12, 100).batch == 0  # too few points to fill a batch


# --- fixed bases ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srs_like(table) -> tuple[list[int], np.ndarray]:
    """70 bases of known discrete log: random multiples, repeats and two points at infinity."""
    rnd = random.Random(21)
    keys = list(table)
    logs = [rnd.choice(keys) for _ in range(64)] + [0, 3, 3, 5, 0, 7]
    return logs, g1.ints_to_affine_m([table[k] if k else (0, 0) for k in logs])


@pytest.mark.parametrize("use_ifma", PATHS)
def test_bases_prefixes(srs_like, use_ifma):
    """An MSM over the first n prepared bases, for n = 0 .. all of them (the PLONK prover's
    n, n + 1, n + 2, n + 6 over one SRS), equals msm_g1 on points[:n], the twin and py_ecc."""
    logs, points = srs_like
    rnd = random.Random(22)
    with msm_path(use_ifma):
        bases = msm.MSMBases.prepare(points)
        assert len(bases) == bases.size == len(logs)
        for n in (0, 1, 2, 17, len(logs) - 6, len(logs) - 1, len(logs)):
            scalars = [rnd.randrange(R) for _ in range(n)]
            s_m = convert.to_mont(FR_M, scalars)
            expected = mul_g(sum(k * s for k, s in zip(logs, scalars, strict=False)))
            assert msm.msm_g1_bases(bases, s_m) == expected
            assert msm.msm_g1(points[:n], s_m) == expected
            assert msm.msm_g1_bases(bases, s_m, window=6, batch=16) == expected  # batch-affine
            assert msm.msm_g1_bases(bases, s_m, window=9, batch=0) == expected  # XYZZ buckets
            out_m = msm.msm_g1_bases_m(bases, s_m)
            assert out_m.shape == (2, 4) and out_m.dtype == np.uint64
            assert g1.affine_m_to_ints(out_m) == [expected]
            if 0 < n <= 17:
                assert twin_g1.msm_g1(points[:n], s_m, window=5) == expected


@pytest.mark.parametrize("use_ifma", PATHS)
def test_bases_edge_scalars(srs_like, use_ifma):
    """Zero scalars, all scalars equal (every point in the same bucket of every window: P + P
    and P + (-P) meet in the batches), r - 1, and the edge list."""
    logs, points = srs_like
    n = len(logs)
    with msm_path(use_ifma):
        bases = msm.MSMBases.prepare(points)
        for scalars in ([0] * n, [1] * n, [R - 1] * n, [2**127 + 3] * n, (EDGE_SCALARS * 8)[:n]):
            s_m = convert.to_mont(FR_M, scalars)
            expected = mul_g(sum(k * s for k, s in zip(logs, scalars, strict=True)))
            for batch in (None, 1, 64):
                assert msm.msm_g1_bases(bases, s_m, batch=batch) == expected, (scalars[0], batch)
            assert msm.msm_g1_bases(bases, s_m, window=16, batch=16) == expected


def test_bases_checks(mixed):
    """prepare validates (unless told not to) and copies; the MSM checks its scalars and their
    number."""
    bad = mixed.points_m.copy()
    bad[6, 1, 0] ^= np.uint64(1)
    with pytest.raises(ValueError, match=r"points_m\[6\].*not on the curve"):
        msm.MSMBases.prepare(bad)
    msm.MSMBases.prepare(bad, validate=False)  # skipped on request
    with pytest.raises(ValueError, match=r"\(n, 2, 4\) uint64"):
        msm.MSMBases.prepare(mixed.points_m.reshape(-1, 4))
    pts = mixed.points_m.copy()
    bases = msm.MSMBases.prepare(pts)
    pts[:] = 0  # the bases are a copy
    assert msm.msm_g1_bases(bases, mixed.scalars_m) == mixed.expected
    assert not bases.points_m.flags.writeable
    sc = mixed.scalars_m
    with pytest.raises(ValueError, match="25 scalars but only 24 prepared bases"):
        msm.msm_g1_bases(bases, np.vstack([sc, sc[:1]]))
    with pytest.raises(TypeError, match="MSMBases"):
        msm.msm_g1_bases(mixed.points_m, sc)
    with pytest.raises(ValueError, match=r"\(n, 4\) uint64"):
        msm.msm_g1_bases(bases, sc.astype(np.int64))
    over = sc.copy()
    over[4] = np.array(params.to_limbs(R), dtype=np.uint64)
    with pytest.raises(ValueError, match="canonical Fr"):
        msm.msm_g1_bases(bases, over)
    for window in (0, 17):
        with pytest.raises(ValueError, match="window"):
            msm.msm_g1_bases(bases, sc, window=window)
    with pytest.raises(ValueError, match="batch"):
        msm.msm_g1_bases_m(bases, sc, batch=-1)


@needs_ifma
@pytest.mark.parametrize(
    "nb,rep,mode",
    [(64, 1, "random"), (64, 2, "random"), (32, 1, "equal"), (16, 4, "negated"), (8, 1, "empty")],
)
def test_ifma_bucket_reduction(table, nb, rep, mode):
    """The eight-lane running sums (_reduce_ifma) against py_ecc and the scalar _reduce on the
    same buckets: random ones, all equal (P + P at each lane's second step: the window goes
    back to the scalar reduction), P and -P alternating, mostly empty; with replicas and a few
    XYZZ overflow accumulators."""
    rnd = random.Random(nb * 7 + rep)
    keys = [k for k in table if k > 40]
    rows = nb * rep
    if mode == "random":
        logs = [rnd.choice(keys) for _ in range(rows)]
    elif mode == "equal":
        logs = [5] * rows
    elif mode == "negated":
        logs = [9 if r % 2 else R - 9 for r in range(rows)]
    else:
        logs = [0] * rows
        logs[3] = 11
    ovf_logs = {r: rnd.choice(keys) for r in rnd.sample(range(rows), 3)}
    aff = g1.ints_to_affine_m([(0, 0) if k == 0 else mul_g(k) for k in logs])
    buckets = np.zeros((rows + 1, msm.ROW_WORDS), np.uint64)
    buckets[:rows] = msm._ifma_rows(aff, False)
    ovf = np.zeros((rows + 1, 4, 4), np.uint64)
    has_ovf = np.zeros(rows + 1, np.bool_)
    for r, k in ovf_logs.items():
        pt = twin_g1.ints_to_affine_m([mul_g(k)])[0]
        twin_g1.store_xyzz(ovf, r, twin_g1.affine_to_xyzz(pt))
        has_ovf[r] = True
    expected_log = sum((r // rep + 1) * (logs[r] + ovf_logs.get(r, 0)) for r in range(rows))
    scalar = msm._reduce(aff, ovf[:rows], has_ovf[:rows].copy(), rep)
    got = msm._reduce_ifma(buckets, 0, nb, rep, ovf, has_ovf)
    for xyzz in (scalar, got):
        assert g1.affine_tuple_to_int(twin_g1.xyzz_to_affine(xyzz)) == mul_g(expected_log), mode
