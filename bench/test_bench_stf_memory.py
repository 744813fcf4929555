"""The trade batch circuit with one account memory (``circuits.stf_memory``, issue E's 40k-gate
prototype): gates per trade and their breakdown, and the prove time and trades proven per
second of real batches on this 2-core machine with our prover.

Run: ``PYTHONPATH=. NUMBA_CACHE_DIR=.numba_cache .venv/bin/python -m pytest
bench/test_bench_stf_memory.py -s`` (writes ``bench/out/stf_memory.json``).

Gates: shapes (T slots, D Merkle units, account 0 included) for T = 4, 8, 12, 16 with D = T/2
and D = T, at account depth 8 and order depth 2 (3 markets), from the builder (no compile);
and the variant with account 0's own path update after the memory (D: traders only).

Prove: a sequencer database (``rollup.sequencer``, demo genesis at depths 8/2, batch shape T)
with T deposits (batch 0) and then T trades (batch 1): ``MAKERS`` makers rest sells that
``TAKERS`` takers fill with orders of 1000 (so the batch touches makers + takers + account 0
<= D accounts). The witness is ``trade_batch_witness`` on the state before batch 1 (timed), the
key a PLONK setup (``prover.plonk.setup``) on a development ptau (``bench/out/batch_prove/
dev_pot<K>.ptau`` when ``bench/test_bench_batch_prove.py`` made one, else written here;
zkeys cached under ``bench/out/stf_memory/`` by circuit digest). Ours is the best of the rounds
of ``prove_with_timings`` (per-key context and JIT warm-up apart); the proof is verified by our
verifier with the public inputs ``rollup.pubdata`` rebuilds from the batch. Shapes above 2^19
need ``ZKPERP_BENCH_LARGE=1`` (a 2^20 setup and ptau take many minutes here).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest

from bench.batch_proving import dev_ptau, time_prove

LARGE = os.environ.get("ZKPERP_BENCH_LARGE", "").strip() not in ("", "0")
MAX_BENCH_POWER = 20 if LARGE else 19
ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS = 8, 2, 3
T0 = 1_700_000_000
# (T, D, account 0's update in the memory)
GATE_SHAPES = [
    *((t, d, True) for t, d in [(4, 2), (4, 4), (8, 4), (8, 8), (12, 6), (16, 8), (16, 16)]),
    *((t, d, False) for t, d in [(8, 3), (8, 4), (12, 5), (16, 7), (16, 8)]),
]
# (T, D, makers, takers): makers + takers + 1 <= D (12 trades fill 2^19: 494,465 gates)
PROVE_SHAPES = [(8, 4, 1, 2), (12, 6, 1, 4), (16, 8, 2, 4)]
ROUNDS = {19: 2, 20: 1}
RESULTS: dict[str, dict] = {}


def _save(bench_out: Path) -> None:
    """Merge this run's results into the file (a run of some shapes keeps the others)."""
    path = bench_out / "stf_memory.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**old, **RESULTS}, indent=1) + "\n")


@pytest.mark.parametrize(("t", "d", "in_memory"), GATE_SHAPES)
def test_trade_batch_gates(bench_out, t, d, in_memory):
    from circuits.stf_memory import TradeShape, build_trade_batch_builder, gate_breakdown

    t0 = time.perf_counter()
    shape = TradeShape(t, d, ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS, insurance_in_memory=in_memory)
    b = build_trade_batch_builder(shape)
    br = gate_breakdown(b)
    info = {
        "n_slots": t,
        "n_units": d,
        "insurance_in_memory": in_memory,
        "gates": b.n_gates,
        "gates_per_trade": round(b.n_gates / t),
        "per_trade": {k: round(v / t) for k, v in br.items()},
        "breakdown": br,
        "build_s": round(time.perf_counter() - t0, 2),
    }
    RESULTS[f"gates_T{t}_D{d}" + ("" if in_memory else "_ins_path")] = info
    _save(bench_out)
    print(json.dumps(info))


def _make_db(path: Path, t: int, makers: int, takers: int):
    """t deposits (batch 0), then t trades (batch 1); returns the genesis."""
    from circuits.gadgets import babyjubjub as bj
    from circuits.gadgets import eddsa
    from rollup.batch import L1Request
    from rollup.orderbook import PlaceOrder
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
    from rollup.types import PRICE_SCALE, Deposit, Order, Side, sign_order

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    g = demo_genesis(T0)
    cfg = dataclasses.replace(g.config, account_depth=ACCOUNT_DEPTH, order_depth=ORDER_DEPTH)
    genesis = dataclasses.replace(g, config=cfg)
    keys = [bytes([0x50 + i]) * 32 for i in range(t)]
    assert makers + takers <= t and t % takers == 0 and 1000 * t % makers == 0
    with Sequencer.create(path, genesis, SequencerConfig(shapes=(t,))) as seq:
        index = []
        for i, key in enumerate(keys):
            pub = bj.pack_point(eddsa.prv2pub(key))
            seq.submit(L1Request(i, Deposit(pub, 0x1000 + i, 10**11)), T0 + 1)
            index.append(seq.account_index("0x" + pub.hex()))

        def order(k: int, side: Side, size: int, oid: int) -> PlaceOrder:
            o = Order(index[k], 0, side, size, 600 * PRICE_SCALE, 10**7, 2**32 - 1, oid)
            return PlaceOrder(sign_order(keys[k], o, cfg.exchange_id))

        for k in range(makers):
            assert seq.submit(order(k, Side.SELL, 1000 * t // makers, 1), T0 + 2).status == (
                "resting"
            )
        for j in range(t // takers):
            for k in range(takers):
                r = seq.submit(order(makers + k, Side.BUY, 1000, 1 + j), T0 + 3)
                assert r.status == "filled"
        assert seq.status()["batches"] == 2, "the trades did not fill one batch"
    return genesis


@pytest.fixture(scope="module")
def jit_warmup_s() -> float:
    from prover.plonk.prover import warm_up

    return warm_up()


@pytest.mark.parametrize(("t", "d", "makers", "takers"), PROVE_SHAPES)
def test_trade_batch_prove(benchmark, bench_out, jit_warmup_s, t, d, makers, takers):
    from circuits.stf_memory import TradeShape, build_trade_batch_circuit, trade_batch_witness
    from cli.batch_cmds import open_batch, public_inputs_of
    from prover.plonk.constraint_system import domain_power
    from prover.plonk.setup import setup
    from prover.ptau import read_ptau
    from prover.zkey import read_zkey, write_zkey
    from rollup.keys import circuit_digest

    out = bench_out / "stf_memory"
    out.mkdir(parents=True, exist_ok=True)
    shape = TradeShape(t, d, ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS)
    info: dict = {"n_slots": t, "n_units": d, "makers": makers, "takers": takers}
    t0 = time.perf_counter()
    cs = build_trade_batch_circuit(shape).circuit.cs
    info["circuit_build_s"] = round(time.perf_counter() - t0, 2)
    power = domain_power(cs)
    info.update(gates=cs.n_gates, gates_per_trade=round(cs.n_gates / t), power=power)
    if power > MAX_BENCH_POWER:
        RESULTS[f"prove_T{t}_D{d}"] = info
        _save(bench_out)
        pytest.skip(f"T={t}: {cs.n_gates} gates, 2^{power} > 2^{MAX_BENCH_POWER}")
    db = out / f"seq_{t}.db"
    _make_db(db, t, makers, takers)
    storage, _, batch = open_batch(db, 1)
    try:
        state = storage.state_before_batch(1)
    finally:
        storage.close()
    trades = sum(type(r).__name__ == "TradeRecord" for r in batch.records)
    assert trades == t
    t0 = time.perf_counter()
    witness, public = trade_batch_witness(state, batch, shape)
    info["witness_s"] = round(time.perf_counter() - t0, 3)
    assert public == public_inputs_of(batch)

    digest = circuit_digest(cs)[:16]
    zkey = out / f"trade_batch_{t}_{d}-{digest}.zkey"
    t0 = time.perf_counter()
    if zkey.is_file():
        pk = read_zkey(zkey)
        info["setup_s"] = "cached"
    else:
        pk = setup(
            cs, read_ptau(dev_ptau(power, out, (out.parent / "batch_prove", out.parent / "plonk")))
        )
        write_zkey(pk, zkey)
        info["setup_s"] = round(time.perf_counter() - t0, 1)
    figures, proof = time_prove(
        benchmark, pk, witness, public, rounds=ROUNDS.get(power, 1), trades=trades,
        jit_warmup_s=jit_warmup_s, witness_s=info["witness_s"],
    )  # fmt: skip
    info.update(figures)
    benchmark.extra_info.update(info)
    RESULTS[f"prove_T{t}_D{d}"] = info
    _save(bench_out)
    print(json.dumps(info))
