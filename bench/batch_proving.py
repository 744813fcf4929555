"""What batch-proving benchmarks share (``bench/test_bench_batch_prove.py``; the trades-only
memory prototype's bench that also used it is gone with ``circuits/stf_memory.py``, the memory
now being the batch circuit's own): a development ptau reused across the suites' output
folders, and the timed prove of one batch with its figures (best of the rounds, per-round
times, trades proven per second with and without the witness)."""

from __future__ import annotations

import random
from pathlib import Path

import numba


def dev_ptau(power: int, out: Path, also: tuple[Path, ...] = ()) -> Path:
    """An existing ``dev_pot<K>.ptau`` with power <= K <= 20 in ``also`` or ``out`` (another
    suite's, when it made one), else a new, deterministic one of ``power`` in ``out``."""
    from prover.ptau import write_dev_ptau

    for k in range(power, 21):
        for d in (*also, out):
            if (d / f"dev_pot{k}.ptau").is_file():
                return d / f"dev_pot{k}.ptau"
    path = out / f"dev_pot{power}.ptau"
    write_dev_ptau(path, power, rng=random.Random(4000 + power))
    return path


def time_prove(
    benchmark, pk, witness, public, *, rounds: int, trades: int, jit_warmup_s: float,
    witness_s: float,
) -> tuple[dict, object]:  # fmt: skip
    """Prove ``witness`` under ``pk`` ``rounds`` times (the per-key precomputation apart), check
    the best proof with the Python verifier and its public signals; (its figures, the proof)."""
    import time

    from prover.plonk import verifier
    from prover.plonk.prover import ROUND_NAMES, ProverContext, prove_with_timings

    t0 = time.perf_counter()
    ctx = ProverContext.from_key(pk)
    info: dict = {"context_s": round(time.perf_counter() - t0, 3)}
    results = []

    def run():
        results.append(prove_with_timings(pk, witness, context=ctx))

    benchmark.pedantic(run, rounds=rounds, iterations=1)
    best = min(results, key=lambda r: r.timings["total_s"])
    assert best.public_signals == public
    assert verifier.verify(pk.vk, public, best.proof).valid
    tm = best.timings
    ours_s = tm["total_s"]
    info.update(
        threads=numba.get_num_threads(),
        trades=trades,
        jit_warmup_s=round(jit_warmup_s, 2),
        ours_ms=round(ours_s * 1e3, 1),
        ours_rounds_ms={
            str(i): round(tm[f"{name}_s"] * 1e3, 1) for i, name in enumerate(ROUND_NAMES, 1)
        },
        trades_per_s=round(trades / ours_s, 2),
        trades_per_s_with_witness=round(trades / (ours_s + witness_s), 2),
    )
    return info, best.proof
