"""Forward NTT over Fr: our Numba kernel beside ffjavascript's ``curve.Fr.fft`` (snarkjs's).

Run: ``pytest bench/test_bench_ntt.py`` (sizes 2^12 .. 2^20; ``ZKPERP_BENCH_LARGE=1`` adds
2^22). Both sides transform the same random input, written to ``bench/out/ntt_input_<k>.bin`` as
32-byte little-endian Montgomery words (ffjavascript's layout); the anchor writes its output back
and it must equal ours byte for byte. JIT compilation is excluded from the timings (a warm-up call
first) and measured separately by ``test_ntt_first_call`` in fresh subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numba
import numpy as np
import pytest

from bench.anchor import REPO, node_available, run_anchor
from prover import params
from prover.field import convert
from prover.field.kernels import FR_M
from prover.poly import ntt
from prover.poly.domain import Domain

LARGE = os.environ.get("ZKPERP_BENCH_LARGE", "").strip() not in ("", "0")
SIZES = [12, 14, 16, 18, 20] + ([22] if LARGE else [])
OUT = os.path.join(os.path.dirname(__file__), "out")


def random_mont(k: int, seed: int) -> np.ndarray:
    """2^k uniform-ish canonical Fr elements in Montgomery form (top limb below r's)."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 2**64, size=(1 << k, 4), dtype=np.uint64)
    raw[:, 3] %= np.uint64(params.R_ORDER >> 192)
    return FR_M.from_raw(raw)


def _rounds(k: int) -> int:
    return 20 if k <= 16 else 10 if k <= 18 else 5


@pytest.mark.parametrize("k", SIZES)
def test_ntt_forward(benchmark, k):
    d = Domain(k)
    a_m = random_mont(k, k)
    expected = a_m.copy()
    ntt.ntt(expected, d)  # JIT warm-up (excluded) and our reference output
    extra = {"n": d.n, "log_n": k, "numba_threads": numba.get_num_threads()}
    if node_available():
        os.makedirs(OUT, exist_ok=True)
        src = os.path.join(OUT, f"ntt_input_{k}.bin")
        dst = os.path.join(OUT, f"ntt_output_ffjs_{k}.bin")
        with open(src, "wb") as f:
            f.write(convert.mont_to_le32(FR_M, a_m, montgomery=True))
        anchor = run_anchor("ntt_ffjs.mjs", src, _rounds(k) if k <= 18 else 3, dst)
        with open(dst, "rb") as f:
            theirs = f.read()
        assert theirs == convert.mont_to_le32(FR_M, expected, montgomery=True), (
            "ffjavascript's Fr.fft disagrees with our NTT"
        )
        os.remove(dst)
        os.remove(src)
        extra.update(
            ffjs_ms_min=round(min(anchor["ms"]), 3),
            ffjs_ms=[round(t, 3) for t in anchor["ms"]],
            ffjs_threads=anchor["threads"],
            ffjs_warmup_ms=round(anchor["warmup_ms"], 3),
        )
    work = a_m.copy()
    tw = d.twiddles_m
    # In place, repeatedly: the running time does not depend on the values.
    benchmark.pedantic(ntt.ntt_m, args=(work, tw), rounds=_rounds(k), iterations=1)
    ours_ms = benchmark.stats.stats.min * 1e3
    extra["ours_ms_min"] = round(ours_ms, 3)
    if "ffjs_ms_min" in extra:
        extra["speedup_vs_ffjs"] = round(extra["ffjs_ms_min"] / ours_ms, 2)
    benchmark.extra_info.update(extra)


@pytest.mark.parametrize("kind", ["intt", "coset_ntt", "coset_intt"])
@pytest.mark.parametrize("k", [16, 20])
def test_other_transforms(benchmark, kind, k):
    """The inverse and coset transforms cost one extra scaling pass over the forward NTT."""
    d = Domain(k)
    work = random_mont(k, 100 + k)
    fn = getattr(ntt, kind)
    fn(work.copy(), d)  # JIT warm-up
    benchmark.pedantic(fn, args=(work, d), rounds=_rounds(k), iterations=1)
    ours_ms = round(benchmark.stats.stats.min * 1e3, 3)
    benchmark.extra_info.update(n=d.n, log_n=k, ours_ms_min=ours_ms)


_FIRST_CALL = """
import json, time
t0 = time.perf_counter()
import numpy as np
from prover.poly import ntt
from prover.poly.domain import Domain
t1 = time.perf_counter()
d = Domain(12)
a = np.zeros((d.n, 4), dtype=np.uint64)
ntt.ntt(a, d)
t2 = time.perf_counter()
ntt.ntt(a, d)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "second_call_s": t3 - t2}))
"""


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_ntt_first_call(benchmark, cache):
    """JIT cost, reported apart from the kernel timings: the first 2^12 NTT in a fresh process,
    with an empty Numba cache (``cold``: compile everything) or the repository's (``warm``)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        if cache == "cold":
            env["NUMBA_CACHE_DIR"] = tmp
        else:
            env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
            subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, cwd=REPO, check=True)
        result = {}

        def run() -> None:
            proc = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            result.update(json.loads(proc.stdout.strip().splitlines()[-1]))

        benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({key: round(v, 4) for key, v in result.items()}, cache=cache)
