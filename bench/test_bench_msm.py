"""G1 multi-scalar multiplication: our Pippenger (prover.curve.msm) beside ffjavascript's
``curve.G1.multiExpAffine`` (snarkjs's MSM, WebAssembly, one worker per core) on the same data.

Run: ``pytest bench/test_bench_msm.py`` (``ZKPERP_BENCH_LARGE=1`` adds 2^20 points). Points are
k_i G for random k_i (made with our fixed-base kernel), scalars uniform in Fr. The anchor gets
the points as 64-byte affine Montgomery words (its LEM layout) and the scalars as 32-byte
little-endian canonical words; its result is cross-checked against ours. Each benchmark's
extra_info holds both times (best of the rounds), their ratio, the window and the thread count;
``test_msm_bases`` times the fixed-bases MSM (``MSMBases``: the PLONK prover's nine MSMs over
one SRS) beside the one-shot ``msm_g1``, and each on one thread (CPU time of the thread, which
a busy machine disturbs less than wall time); ``test_msm_profile_2p16`` breaks one MSM into its
stages (single thread), to show where the time goes. ``path`` says which accumulation ran:
"ifma" (eight lanes, AVX-512 IFMA) or "scalar". JIT compilation (or loading the Numba cache)
is timed apart, in ``jit_warmup_s``.
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np
import pytest

from bench.anchor import node_available, run_anchor
from prover import params
from prover.curve import fixed_base_g1 as fb
from prover.curve import g1, msm
from prover.field import mont
from prover.field.kernels import FR_M

PATH = "ifma" if msm.IFMA else "scalar"

LARGE = os.environ.get("ZKPERP_BENCH_LARGE", "").strip() not in ("", "0")
SIZES = [12, 14, 16, 18] + ([20] if LARGE else [])
ROUNDS = {12: 10, 14: 8, 16: 5, 18: 3, 20: 2}
ANCHOR_REPEATS = {12: 5, 14: 4, 16: 3, 18: 2, 20: 1}


def random_scalars_raw(n: int, seed: int) -> np.ndarray:
    """n uniform-ish canonical Fr elements as raw limbs (top limb below r's: each < r)."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 1 << 64, size=(n, 4), dtype=np.uint64)
    raw[:, 3] = rng.integers(0, params.R_ORDER >> 192, size=n, dtype=np.uint64)
    return raw


@pytest.fixture(scope="module")
def jit_warmup_s() -> float:
    """Time of the first calls (Numba compilation, or loading .numba_cache), excluded below."""
    t0 = time.perf_counter()
    tiny = FR_M.from_raw(random_scalars_raw(64, 0))
    pts = fb.fixed_base_g1(params.G1_GENERATOR, tiny)
    msm.msm_g1(pts, tiny)
    msm.msm_g1(pts, tiny, validate=False, window=13, batch=16)
    msm.msm_g1_bases(msm.MSMBases.prepare(pts), tiny, window=13, batch=16)
    return time.perf_counter() - t0


_DATA: dict[int, tuple] = {}


def msm_data(log_n: int, out_dir) -> tuple:
    """(points_m, scalars_m, bases file, scalars file) for 2^log_n points, cached per session."""
    if log_n not in _DATA:
        n = 1 << log_n
        logs_m = FR_M.from_raw(random_scalars_raw(n, 100 + log_n))
        points_m = fb.fixed_base_g1(params.G1_GENERATOR, logs_m)
        scalars_raw = random_scalars_raw(n, 200 + log_n)
        bases_path = out_dir / f"msm_2p{log_n}_bases.bin"
        scalars_path = out_dir / f"msm_2p{log_n}_scalars.bin"
        bases_path.write_bytes(points_m.astype("<u8").tobytes())
        scalars_path.write_bytes(scalars_raw.astype("<u8").tobytes())
        _DATA[log_n] = (points_m, FR_M.from_raw(scalars_raw), bases_path, scalars_path)
    return _DATA[log_n]


@pytest.mark.parametrize("log_n", SIZES)
def test_msm_g1(benchmark, bench_out, jit_warmup_s, log_n):
    points_m, scalars_m, bases_path, scalars_path = msm_data(log_n, bench_out)
    n = 1 << log_n
    window = msm.optimal_window(n)
    result = benchmark.pedantic(
        msm.msm_g1,
        args=(points_m, scalars_m),
        kwargs={"validate": False},
        rounds=ROUNDS[log_n],
        iterations=1,
    )
    ours_ms = benchmark.stats.stats.min * 1e3
    t0 = time.perf_counter()
    g1.validate_g1_affine_m(points_m)
    info = {
        "n": n,
        "window": window,
        "glv": True,
        "path": PATH,
        "threads": numba.get_num_threads(),
        "ours_ms": round(ours_ms, 2),
        "validate_ms": round((time.perf_counter() - t0) * 1e3, 2),
        "jit_warmup_s": round(jit_warmup_s, 2),
    }
    if node_available():
        anchor = run_anchor("msm_ffjs.mjs", bases_path, scalars_path, ANCHOR_REPEATS[log_n])
        assert (int(anchor["x"]), int(anchor["y"])) == result, "ffjavascript disagrees"
        theirs = min(anchor["ms"])
        info.update(
            ffjavascript_ms=round(theirs, 2),
            ffjavascript_threads=anchor["threads"],
            ffjavascript_warmup_ms=round(anchor["warmup_ms"], 1),
            ratio_ffjs_over_ours=round(theirs / ours_ms, 2),
        )
    benchmark.extra_info.update(info)


def test_msm_g1_without_glv_2p16(benchmark, bench_out, jit_warmup_s):
    """The same 2^16 MSM without the GLV split (20 windows of 13 bits instead of 10)."""
    points_m, scalars_m, _, _ = msm_data(16, bench_out)
    benchmark.pedantic(
        msm.msm_g1,
        args=(points_m, scalars_m),
        kwargs={"validate": False, "glv": False},
        rounds=ROUNDS[16],
        iterations=1,
    )
    benchmark.extra_info.update(
        n=1 << 16,
        window=msm.optimal_window(1 << 16, glv=False),
        glv=False,
        ours_ms=round(benchmark.stats.stats.min * 1e3, 2),
    )


def _best_ms(fn, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def _mul_ns() -> float:
    """This machine's Fq Montgomery multiplication latency now (a dependent chain), to express
    the stages in multiplications: the machine's speed drifts between runs."""
    chain = _mul_chain
    x = tuple(np.uint64(v) for v in FR_M.element(7))
    chain(x, 1000)
    t0 = time.perf_counter()
    chain(x, 200_000)
    return (time.perf_counter() - t0) / 200_000 * 1e9


@numba.njit(cache=True)
def _mul_chain(x, n):
    a = x
    for _ in range(n):
        a = mont.mul(a, x, mont.FQ_MOD)
    return a


def _thread_ms(fn, reps: int = 3) -> float:
    """Best CPU time of the calling thread (for single-thread runs)."""
    times = []
    for _ in range(reps):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return min(times) * 1e3


@pytest.mark.parametrize("log_n", [s for s in SIZES if s >= 14])
def test_msm_bases(benchmark, bench_out, jit_warmup_s, log_n):
    """MSM over prepared fixed bases (n + 6 bases, an MSM over the first n, like the prover's
    commitments over its SRS), beside the one-shot msm_g1 on the same data, 2 threads and 1."""
    points_m, scalars_m, _, _ = msm_data(log_n, bench_out)
    n = points_m.shape[0] - 6
    t0 = time.perf_counter()
    bases = msm.MSMBases.prepare(points_m, validate=False)
    prepare_ms = (time.perf_counter() - t0) * 1e3
    result = benchmark.pedantic(
        msm.msm_g1_bases, args=(bases, scalars_m[:n]), rounds=ROUNDS[log_n], iterations=1
    )
    assert result == msm.msm_g1(points_m[:n], scalars_m[:n], validate=False)
    one_shot = _best_ms(lambda: msm.msm_g1(points_m[:n], scalars_m[:n], validate=False), 3)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        bases_1t = _thread_ms(lambda: msm.msm_g1_bases(bases, scalars_m[:n]))
        one_shot_1t = _thread_ms(lambda: msm.msm_g1(points_m[:n], scalars_m[:n], validate=False))
    finally:
        numba.set_num_threads(threads)
    benchmark.extra_info.update(
        n=n,
        bases=points_m.shape[0],
        path=PATH,
        threads=threads,
        bases_ms=round(benchmark.stats.stats.min * 1e3, 2),
        one_shot_ms=round(one_shot, 2),
        bases_ms_1_thread=round(bases_1t, 2),
        one_shot_ms_1_thread=round(one_shot_1t, 2),
        prepare_ms=round(prepare_ms, 2),
        jit_warmup_s=round(jit_warmup_s, 2),
    )


def test_msm_profile_2p16(benchmark, bench_out, jit_warmup_s):
    """Where one 2^16-point MSM over prepared bases (default plan: GLV) spends its time, stage
    by stage on one thread (CPU time of the thread); the benchmark itself times the whole MSM on
    one thread."""
    points_m, scalars_m, _, _ = msm_data(16, bench_out)
    n = points_m.shape[0]
    m = 2 * n
    c = msm.optimal_window(n)
    w = msm.windows_for(c, msm.GLV_BITS)
    plan = msm.WindowPlan.choose(1 << (c - 1), m)
    top = msm.WindowPlan.choose(msm.top_window_buckets(c, msm.GLV_BITS), m)
    codes = np.empty((w, m), dtype=np.uint16)
    negative = np.empty(m, dtype=np.bool_)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        mul_ns = _mul_ns()
        prepare = _thread_ms(lambda: msm.MSMBases.prepare(points_m, validate=False), 2)
        bases = msm.MSMBases.prepare(points_m, validate=False)
        rows = bases._rows_of(msm.IFMA, True)
        split = _thread_ms(lambda: msm.signed_digits_glv_m(scalars_m, True, c, codes, negative))
        if msm.IFMA:
            acc, red = _profile_ifma(rows, n, codes, negative, w, plan, top)
        else:
            acc, red = _profile_scalar(rows, n, codes, negative, w, plan, top)
        validate = _thread_ms(lambda: g1.validate_g1_affine_m(points_m))
        benchmark.pedantic(msm.msm_g1_bases, args=(bases, scalars_m), rounds=2)
    finally:
        numba.set_num_threads(threads)
    stages = {
        "glv split + signed digits": split,
        "accumulate (batch-affine buckets)": acc,
        "reduce (running sums)": red,
    }
    total = sum(stages.values())
    benchmark.extra_info.update(
        n=n,
        window=c,
        windows=w,
        path=PATH,
        plan_full=str(plan),
        plan_top=str(top),
        mul_ns=round(mul_ns, 1),
        accumulate_ns_per_point=round(acc * 1e6 / (m * w), 1),
        accumulate_muls_per_point=round(acc * 1e6 / (m * w) / mul_ns, 2),
        reduce_ns_per_bucket=round(red * 1e6 / (w * plan.buckets), 1),
        stage_ms={k: round(v, 2) for k, v in stages.items()},
        stage_share={k: round(v / total, 3) for k, v in stages.items()},
        prepare_bases_ms_1_thread=round(prepare, 2),
        validate_ms_1_thread=round(validate, 2),
        sum_of_stages_ms_1_thread=round(total, 1),
        jit_warmup_s=round(jit_warmup_s, 2),
    )


def _profile_ifma(rows, n, codes, negative, w, plan, top):
    """(accumulate, reduce) ms of all windows in one group (as one thread runs them)."""
    plans = [top if j == w - 1 else plan for j in range(w)]
    offs = np.cumsum([0] + [p.buckets * p.replicas for p in plans]).astype(np.int64)
    reps = np.array([p.replicas for p in plans], dtype=np.int64)

    def fresh():
        b = msm._aligned(int(offs[-1]) + 1, msm.ROW_WORDS)
        b[:] = 0
        return b, np.empty((b.shape[0], 4, 4), np.uint64), np.zeros(b.shape[0], np.bool_)

    def accumulate():
        b, o, h = fresh()
        args = (rows, n, 0, codes, negative, 0, w, offs[:-1].copy(), reps, msm.IFMA_BATCH)
        msm._accumulate_ifma(*args, b, o, h)
        return b, o, h

    acc = _thread_ms(accumulate)
    state = accumulate()

    def reduce():
        b, o, h = (a.copy() for a in state)
        for j, p in enumerate(plans):
            msm._reduce_ifma(b, int(offs[j]), p.buckets, p.replicas, o, h)

    return acc, _thread_ms(reduce)


def _profile_scalar(rows, n, codes, negative, w, plan, top):
    acc = red = 0.0
    for j, p in ((0, plan), (w - 1, top)):
        count = w - 1 if j == 0 else 1
        r = p.buckets * p.replicas

        def accumulate(p=p, j=j, r=r):
            b, o = np.zeros((r, 2, 4), np.uint64), np.empty((r, 4, 4), np.uint64)
            h = np.zeros(r, np.bool_)
            if p.batch:
                args = (rows, n, 0, codes[j], negative, p.batch, p.replicas, b, o, h)
                msm._accumulate_affine(*args)
            else:
                msm._accumulate_xyzz(rows, n, 0, codes[j], negative, o, h)
            return b, o, h

        acc += count * _thread_ms(accumulate)
        b, o, h = accumulate()
        red += count * _thread_ms(lambda b=b, o=o, h=h, p=p: msm._reduce(b, o, h, p.replicas))
    return acc, red


def test_fixed_base_g1_2p17(benchmark, jit_warmup_s):
    """[tau^i] G1 for i < 2^17 (a powers-of-tau section), table included."""
    powers_m = FR_M.powers(0x1234567, 1 << 17)
    out = benchmark.pedantic(
        fb.fixed_base_g1, args=(params.G1_GENERATOR, powers_m), rounds=3, iterations=1
    )
    assert g1.affine_m_to_ints(out[1]) == g1.affine_m_to_ints(
        fb.fixed_base_g1(params.G1_GENERATOR, powers_m[1:2])
    )
    benchmark.extra_info.update(
        n=1 << 17,
        window=fb.optimal_window(1 << 17),
        ms=round(benchmark.stats.stats.min * 1e3, 1),
        jit_warmup_s=round(jit_warmup_s, 2),
    )
