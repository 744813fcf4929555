"""PLONK proving: ours (``prover.plonk.prover``) beside snarkjs 0.7.6 ``plonk prove`` on the SAME
zkey and witness, in the same run.

Run: ``pytest bench/test_bench_plonk.py`` (``make bench`` includes it). Sizes 2^14 and 2^16;
``ZKPERP_BENCH_LARGE=1`` adds 2^18 (the switch the other benchmarks use for their largest sizes:
at 2^18 snarkjs alone takes minutes and the dev ptau, setup and zkey take a few more).

The circuit is a circom chain of multiplications, ``t[i] <== t[i-1] * t[i-1] + x`` (two PLONK
gates and one snarkjs "addition" per link), sized to fill ~98% of the domain, compiled by circom2
(``--O1``) and its witness computed by ``snarkjs wtns calculate``. The SRS is a development ptau
written by ``prover.ptau.write_dev_ptau`` (snarkjs's own ``prepare phase2`` is far too slow at
these powers); the zkey comes from our setup (``prover.plonk.setup`` + ``prover.zkey``), which
snarkjs reads as its own. Everything is cached under ``bench/out/plonk/``.

Timings (best of the rounds for ours, one round for snarkjs, which takes seconds to minutes):
JIT warm-up (loading or compiling the Numba kernels) and the per-key precomputation
(``ProverContext.from_key``: selector/permutation evaluations on H and the 4n coset) are
excluded from ``ours_ms`` and reported apart; so are reading the files. snarkjs's figure excludes
building its curve (wasm + workers, ``snarkjs_warmup_ms``) and includes reading the zkey (its
prover reads sections as it goes). extra_info holds both totals, their ratio, the time per round
for both, ours per kernel family (MSM, NTT, quotient, ...), the Python verifier's time, and the
peak RSS of a fresh process proving the same files (ours) beside snarkjs's (its own maxRSS).
Each proof is cross-checked: ours by snarkjs's verifier, snarkjs's by ours.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numba
import pytest

from bench.anchor import REPO, node_available, run_anchor

LARGE = os.environ.get("ZKPERP_BENCH_LARGE", "").strip() not in ("", "0")
SIZES = [14, 16] + ([18] if LARGE else [])
ROUNDS = {14: 5, 16: 3, 18: 2}
# links N of the chain: 2N + 1 gates plus 2 public rows, just under the domain size
CHAIN_N = {k: int((1 << k) * 0.49) for k in (12, 14, 16, 18)}

CHAIN = """pragma circom 2.0.0;
template Chain(N) {
    signal input x;
    signal input y;
    signal output out;
    signal t[N];
    t[0] <== x * y;
    for (var i = 1; i < N; i++) {
        t[i] <== t[i-1] * t[i-1] + x;
    }
    out <== t[N-1];
}
component main {public [x]} = Chain(NN);
"""
INPUTS = {"x": 3, "y": 5}

# Peak memory: VmHWM of the process's own address space (/proc/self/status). Not getrusage's
# ru_maxrss: on Linux that keeps the high-water mark of the address space replaced by exec, i.e.
# of the forked copy of this (large) pytest process. The snarkjs anchor reads VmHWM too.
PEAK_SCRIPT = """
import json, resource, sys
from prover.plonk.prover import ProverContext, prove_with_timings, warm_up
from prover.wtns import read_wtns
from prover.zkey import read_zkey
warm_up()
pk = read_zkey(sys.argv[1]); w = read_wtns(sys.argv[2])
ctx = ProverContext.from_key(pk)
r = prove_with_timings(pk, w, context=ctx)
try:
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except OSError:
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_kib": hwm, "total_s": r.timings["total_s"]}))
"""


def _need(module: str, attr: str) -> object:
    import importlib

    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"{module}.{attr} is not available yet ({exc}): no ptau for the benchmark")


def plonk_case(k: int, out: Path) -> dict:
    """Circuit, witness, dev ptau, zkey and vk.json for domain 2^k (cached in bench/out/plonk)."""
    from prover import formats
    from prover.plonk.constraint_system import from_r1cs
    from prover.plonk.setup import setup
    from prover.r1cs import read_r1cs
    from prover.zkey import read_verifying_key, write_zkey
    from tests.interop import circom_witness, compile_circom

    write_dev_ptau = _need("prover.ptau", "write_dev_ptau")
    read_ptau = _need("prover.ptau", "read_ptau")
    d = out / "plonk"
    d.mkdir(parents=True, exist_ok=True)
    info: dict = {}
    t0 = time.perf_counter()
    build = compile_circom(CHAIN.replace("NN", str(CHAIN_N[k])), f"bench_chain_2p{k}")
    wtns = circom_witness(build, INPUTS)
    info["circom_and_witness_s"] = time.perf_counter() - t0
    ptau = d / f"dev_pot{k}.ptau"
    if not ptau.is_file():
        t0 = time.perf_counter()
        write_dev_ptau(ptau, k, rng=random.Random(1000 + k))
        info["dev_ptau_write_s"] = time.perf_counter() - t0
    zkey = d / f"{build.dir.name}.zkey"
    if not zkey.is_file():
        t0 = time.perf_counter()
        pk = setup(from_r1cs(read_r1cs(build.r1cs), labels=False), read_ptau(ptau))
        assert pk.power == k, f"the chain gave a domain of 2^{pk.power}, not 2^{k}"
        tmp = zkey.with_name(zkey.name + ".tmp")
        write_zkey(pk, tmp)
        os.replace(tmp, zkey)
        info["setup_and_zkey_write_s"] = time.perf_counter() - t0
    vk_path = d / f"{build.dir.name}.vk.json"
    formats.write_json(vk_path, formats.vk_to_json(read_verifying_key(zkey)))
    return {"zkey": zkey, "wtns": wtns, "vk": vk_path, "dir": d, "prep": info}


@pytest.fixture(scope="module")
def jit_warmup_s() -> float:
    """Loading (or compiling) every prover kernel, on a tiny key: excluded from the timings."""
    from prover.plonk.prover import warm_up

    return warm_up()


def _peak_rss_ours(case: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # first fill the Numba cache (a compilation would count in the peak), then measure
    warm = "from prover.plonk.prover import warm_up; warm_up()"
    subprocess.run([sys.executable, "-c", warm], cwd=REPO, env=env, check=True, timeout=1800)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(case["zkey"]), str(case["wtns"])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


_SNARKJS: dict[int, dict] = {}


def snarkjs_anchor(k: int, case: dict, public: list[int]) -> dict:
    """snarkjs's prove of the case (once per size), cross-checked by our verifier."""
    from prover import formats
    from prover.plonk import verifier
    from prover.zkey import read_verifying_key

    if k not in _SNARKJS:
        d = case["dir"]
        s_proof, s_public = d / f"snarkjs_proof_2p{k}.json", d / f"snarkjs_public_2p{k}.json"
        anchor = run_anchor(
            "plonk_prove_snarkjs.mjs", case["zkey"], case["wtns"], s_proof, s_public
        )
        theirs = formats.parse_proof_json(json.loads(s_proof.read_text()))
        their_public = formats.parse_public_json(json.loads(s_public.read_text()))
        assert their_public == public
        assert verifier.verify(read_verifying_key(case["zkey"]), their_public, theirs).valid
        _SNARKJS[k] = anchor
    return _SNARKJS[k]


@pytest.mark.parametrize("k", SIZES)
def test_plonk_prove(benchmark, bench_out, jit_warmup_s, k):
    from prover import formats
    from prover.plonk import verifier
    from prover.plonk.prover import ROUND_NAMES, ProverContext, prove_with_timings
    from prover.wtns import read_wtns
    from prover.zkey import read_zkey
    from tests.interop import snarkjs_ok

    case = plonk_case(k, bench_out)
    t0 = time.perf_counter()
    pk = read_zkey(case["zkey"])
    witness = read_wtns(case["wtns"])
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ctx = ProverContext.from_key(pk)
    context_s = time.perf_counter() - t0

    results = []

    def run():
        results.append(prove_with_timings(pk, witness, context=ctx))

    benchmark.pedantic(run, rounds=ROUNDS[k], iterations=1)
    best = min(results, key=lambda r: r.timings["total_s"])
    tm = best.timings
    t0 = time.perf_counter()
    assert verifier.verify(pk.vk, best.public_signals, best.proof).valid
    verify_s = time.perf_counter() - t0

    ours_ms = tm["total_s"] * 1e3
    info = {
        "n": 1 << k,
        "gates": pk.n_constraints,
        "additions": len(pk.additions),
        "threads": numba.get_num_threads(),
        "ours_ms": round(ours_ms, 1),
        "ours_rounds_ms": {
            str(i): round(tm[f"{name}_s"] * 1e3, 1) for i, name in enumerate(ROUND_NAMES, 1)
        },
        "ours_kernels_ms": {
            key[len("kernel_") : -2]: round(v * 1e3, 1)
            for key, v in tm.items()
            if key.startswith("kernel_")
        },
        "msm_count": int(tm["msm_count"]),
        "msm_points": int(tm["msm_points"]),
        "jit_warmup_s": round(jit_warmup_s, 2),
        "context_s": round(context_s, 3),
        "read_s": round(read_s, 3),
        "python_verify_s": round(verify_s, 3),
        **{key: round(v, 2) for key, v in case["prep"].items()},
    }
    info.update({f"ours_{key}": v for key, v in _peak_rss_ours(case).items()})
    d = case["dir"]
    if node_available():
        ours_proof, ours_public = d / f"ours_proof_2p{k}.json", d / f"ours_public_2p{k}.json"
        formats.write_json(ours_proof, formats.proof_to_json(best.proof))
        formats.write_json(ours_public, formats.public_to_json(best.public_signals))
        assert snarkjs_ok("plonk", "verify", case["vk"], ours_public, ours_proof)
        anchor = snarkjs_anchor(k, case, best.public_signals)
        info.update(
            snarkjs_ms=round(anchor["total_ms"], 1),
            snarkjs_read_ms=round(anchor["read_ms"], 1),
            snarkjs_rounds_ms={key: round(v, 1) for key, v in anchor["rounds_ms"].items()},
            snarkjs_warmup_ms=round(anchor["warmup_ms"], 1),
            snarkjs_threads=anchor["threads"],
            snarkjs_peak_rss_kib=anchor["peak_rss_kib"],
            ratio_snarkjs_over_ours=round(anchor["total_ms"] / ours_ms, 2),
        )
    benchmark.extra_info.update(info)
