"""Proving batches of trades (issue E, "Figures"): prove time per batch size, ours
(``prover.plonk.prover``) and snarkjs 0.7.6's ``plonk prove`` on the SAME zkey and witness in the
same run, and trades proven per second.

Run: ``PYTHONPATH=. NUMBA_CACHE_DIR=.numba_cache .venv/bin/python -m pytest
bench/test_bench_batch_prove.py -s`` (writes ``bench/out/batch_prove.json``).

Each size n (1, 2, 4, 8, 16, 20, 22 trade slots; 22 is the largest in 2^20) is a sequencer
database (``rollup.sequencer``) of the demo genesis at account depth 8 and order depth 2 (the
issue's "full shape" trees; 3 markets) with batch shape n, i.e. a circuit of n slots,
``default_units(n)`` = max(2, n // 2 + 1) account units (the batch circuit loads and stores each
distinct account once, ``circuits.gadgets.account_memory``) and ``default_signatures(n)`` = n +
1 signature units (it verifies each distinct signed order once,
``circuits.gadgets.signature_table``). The workload fits both: a *ladder* in one market (BTC, at
its oracle price). Deposits to one maker and ``takers(n)`` = ceil(n / 2) takers (their own
batches); then the maker rests ``maker_orders(n)`` = n // 2 + 1 sells at one price, of sizes U,
2U, ..., 2U and the last what makes the total n U (``ladder``; n = 1: one sell of U), and taker
j buys 2U (the last taker U when n is odd), so that by price-time priority it fills the rest of
sell j and part of sell j + 1. That is n trades among 1 + ``takers(n)`` distinct accounts (D for
every even n, and for n = 1) and n // 2 + 1 + ``takers(n)`` = n + 1 distinct signed orders (S):
one batch, cut by the sequencer itself when it is full (checked: it holds n Trade transactions;
the info records ``n_signatures`` and the ``distinct_orders`` its trades use). Its witness comes
from ``rollup.proving.batch_witness`` on the state before the batch (``cli.batch_cmds``'s path,
timed: "witness_s"), its keys from ``rollup.keys`` (the ``zkperp batch setup`` path; cached
under ``bench/out/batch_prove/`` by circuit digest), the SRS from a development ptau
(``bench/out/plonk/dev_pot<K>.ptau`` when ``bench/test_bench_plonk.py`` made one, else written
here). Sizes whose domain exceeds 2^18 are skipped (``ZKPERP_BENCH_LARGE=1``: 2^19 too, the
8-slot circuit; ``ZKPERP_BENCH_LARGE=2``: 2^20, the 16-, 20- and 22-slot ones);
``ZKPERP_BENCH_SNARKJS_MAX_POWER=K`` skips the snarkjs prove above 2^K (its figures then say
``"snarkjs": null`` with the reason in ``snarkjs_skipped``), so ours can be measured at 2^20
without snarkjs's many minutes there.

Timings: ours is the best of the rounds of ``prove_with_timings`` with the JIT warm-up (loading
or compiling the Numba kernels, ``warm_up``) and the per-key precomputation
(``ProverContext.from_key``) reported apart; snarkjs one round, its curve build apart (the
anchor ``bench/anchors/plonk_prove_snarkjs.mjs``). Cross-checks: our proof by ``snarkjs plonk
verify``, snarkjs's by our verifier, both with the public inputs ``rollup.pubdata`` rebuilds
from the batch. ``trades_per_s`` = n / ours; ``trades_per_s_with_witness`` adds the witness.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from bench.anchor import REPO, node_available, run_anchor
from bench.batch_proving import dev_ptau, time_prove


def _large_power() -> int:
    """The largest domain power benchmarked: 18; 19 with ZKPERP_BENCH_LARGE=1; 20 with 2."""
    v = os.environ.get("ZKPERP_BENCH_LARGE", "").strip()
    if v in ("", "0"):
        return 18
    return 20 if v == "2" else 19


def _snarkjs_max_power() -> int | None:
    """ZKPERP_BENCH_SNARKJS_MAX_POWER: the largest domain power snarkjs proves (None: all)."""
    v = os.environ.get("ZKPERP_BENCH_SNARKJS_MAX_POWER", "").strip()
    return int(v) if v else None


MAX_BENCH_POWER = _large_power()
SNARKJS_MAX_POWER = _snarkjs_max_power()
SIZES = [1, 2, 4, 8, 16, 20, 22]
ACCOUNT_DEPTH, ORDER_DEPTH = 8, 2
T0 = 1_700_000_000
TRADE_SIZE = 1000  # U: synthetic quanta (satoshi)
MARKET = 0  # BTC
ROUNDS = {16: 3, 17: 3, 18: 2, 19: 1, 20: 1}
RESULTS: dict[str, dict] = {}


def takers(n: int) -> int:
    """The taker accounts of the n-trade ladder: ceil(n / 2), each buying 2U (the last U when n
    is odd)."""
    return (n + 1) // 2


def maker_orders(n: int) -> int:
    """The maker's resting sells of the n-trade ladder: n // 2 + 1 (one when n = 1)."""
    return 1 if n == 1 else n // 2 + 1


def ladder(n: int) -> tuple[list[int], list[int]]:
    """(the maker's sell sizes, the takers' buy sizes) of the n-trade ladder, in units of
    ``TRADE_SIZE``: sells 1, 2, ..., 2 and the last making the total n (n = 1: [1]); buys 2
    each, the last 1 when n is odd. Taker j then fills the rest of sell j and part of sell
    j + 1: n fills in all."""
    m = maker_orders(n)
    sells = [1] if m == 1 else [1] + [2] * (m - 2) + [n - 1 - 2 * (m - 2)]
    buys = [2] * (n // 2) + [1] * (n % 2)
    assert sum(sells) == sum(buys) == n and min(sells) >= 1 and len(buys) == takers(n)
    return sells, buys


def ladder_fills(n: int) -> int:
    """The fills of the ladder by price-time priority (a check of the arithmetic: n)."""
    sells, buys = ladder(n)
    fills, k, left = 0, 0, sells[0]
    for buy in buys:
        while buy:
            take = min(buy, left)
            buy, left, fills = buy - take, left - take, fills + 1
            if not left and k + 1 < len(sells):
                k += 1
                left = sells[k]
    return fills


def _make_db(path: Path, n: int) -> int:
    """A maker and ``takers(n)`` funded accounts, then one batch of the n-trade ladder (module
    docstring); the trade batch's number."""
    from circuits.gadgets import babyjubjub as bj
    from circuits.gadgets import eddsa
    from circuits.state_transition import default_signatures, default_units
    from rollup.batch import L1Request
    from rollup.orderbook import PlaceOrder
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
    from rollup.types import Deposit, Order, Side, sign_order

    assert maker_orders(n) <= 4**ORDER_DEPTH, "the maker rests its sells in 16 order slots"
    assert ladder_fills(n) == n
    assert 1 + takers(n) <= default_units(n), "the ladder's accounts exceed D (n odd, n > 1)"
    assert maker_orders(n) + takers(n) == n + 1 <= default_signatures(n)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    g = demo_genesis(T0)
    cfg = dataclasses.replace(g.config, account_depth=ACCOUNT_DEPTH, order_depth=ORDER_DEPTH)
    genesis = dataclasses.replace(g, config=cfg)
    price = genesis.prices[MARKET]
    sells, buys = ladder(n)
    keys = [bytes([0x20 + i]) * 32 for i in range(1 + takers(n))]  # the maker first
    with Sequencer.create(path, genesis, SequencerConfig(shapes=(n,))) as seq:
        index = []
        for i, key in enumerate(keys):
            pub = bj.pack_point(eddsa.prv2pub(key))
            amount = 10**12 if i == 0 else 10**11
            seq.submit(L1Request(i, Deposit(pub, 0x1000 + i, amount)), T0 + 1)
            index.append(seq.account_index("0x" + pub.hex()))
        seq.cut(T0 + 1)  # the last deposits' batch, if still open
        trade_batch = seq.status()["batches"]

        def order(k: int, side: Side, size: int, oid: int) -> PlaceOrder:
            o = Order(index[k], MARKET, side, size * TRADE_SIZE, price, 10**7, 2**32 - 1, oid)
            return PlaceOrder(sign_order(keys[k], o, cfg.exchange_id))

        # the maker's ladder of sells at one price (order ids 1, 2, ...: distinct slots)
        for k, size in enumerate(sells):
            assert seq.submit(order(0, Side.SELL, size, k + 1), T0 + 2).status == "resting"
        # taker j takes the rest of sell j and part of sell j + 1
        for j, size in enumerate(buys):
            assert seq.submit(order(1 + j, Side.BUY, size, 1), T0 + 3).status == "filled"
        assert seq.status()["batches"] == trade_batch + 1, "the trades did not fill one batch"
    return trade_batch


def _write_results(path: Path) -> None:
    """RESULTS into ``path``, keeping the sizes measured by earlier runs of the same circuit
    (``state_transition_sha256``; a size run apart, e.g. on a quiet machine)."""
    merged: dict[str, dict] = {}
    if path.is_file():
        try:
            earlier = json.loads(path.read_text())
        except ValueError:
            earlier = {}
        versions = {r.get("state_transition_sha256") for r in RESULTS.values()}
        merged = {
            k: r
            for k, r in earlier.items()
            if isinstance(r, dict) and r.get("state_transition_sha256") in versions
        }
    merged.update(RESULTS)
    ordered = dict(sorted(merged.items(), key=lambda kv: int(kv[0])))
    path.write_text(json.dumps(ordered, indent=1) + "\n")


@pytest.fixture(scope="module")
def jit_warmup_s() -> float:
    from prover.plonk.prover import warm_up

    return warm_up()


@pytest.mark.parametrize("n", SIZES)
def test_batch_prove(benchmark, bench_out, jit_warmup_s, n):
    from cli.batch_cmds import open_batch, public_inputs_of, state_before, witness_of
    from prover import formats
    from prover.plonk import verifier
    from prover.plonk.constraint_system import domain_power
    from prover.wtns import write_wtns
    from prover.zkey import read_zkey
    from rollup.keys import (
        Deployment,
        batch_shape,
        circuit_digest,
        compiled_circuit,
        setup_shape,
    )
    from tests.interop import snarkjs_ok

    out = bench_out / "batch_prove"
    out.mkdir(parents=True, exist_ok=True)
    db = out / f"seq_{n}.db"
    info: dict = {"n_slots": n, "account_depth": ACCOUNT_DEPTH, "order_depth": ORDER_DEPTH}
    t0 = time.perf_counter()
    trade_batch = _make_db(db, n)
    info["db_s"] = round(time.perf_counter() - t0, 2)
    storage, genesis, batch = open_batch(db, trade_batch)
    try:
        shape = batch_shape(genesis, n)
        t0 = time.perf_counter()
        cs = compiled_circuit(shape).cs
        info["circuit_build_s"] = round(time.perf_counter() - t0, 2)
        power = domain_power(cs)
        info.update(
            n_units=shape.n_units,
            n_signatures=shape.n_signatures,
            distinct_accounts=1 + takers(n),
            gates=cs.n_gates,
            power=power,
            n_public=cs.n_public,
            circuit_digest=circuit_digest(cs)[:16],  # which version of the circuit
            state_transition_sha256=hashlib.sha256(
                (REPO / "circuits" / "state_transition.py").read_bytes()
            ).hexdigest()[:16],
        )
        if power > MAX_BENCH_POWER:
            RESULTS[str(n)] = info
            _write_results(bench_out / "batch_prove.json")
            pytest.skip(f"{n} slots: {cs.n_gates} gates, domain 2^{power} > 2^{MAX_BENCH_POWER}")
        state = state_before(storage, trade_batch)
    finally:
        storage.close()
    trades = sum(type(r).__name__ == "TradeRecord" for r in batch.records)
    assert trades == n and batch.size == n
    assert [type(tx).__name__ for tx in batch.transactions] == ["Trade"] * n
    orders = {o.order for tx in batch.transactions for o in (tx.taker, tx.maker)}
    accounts = {o.account for o in orders}
    assert len(orders) == n + 1 <= shape.n_signatures, "the ladder's n + 1 signed orders"
    assert len(accounts) == 1 + takers(n) <= shape.n_units
    info["distinct_orders"] = len(orders)
    t0 = time.perf_counter()
    witness, public = witness_of(state, batch, shape)
    info["witness_s"] = round(time.perf_counter() - t0, 3)
    assert public == public_inputs_of(batch)

    dep = Deployment(db)
    t0 = time.perf_counter()
    ptau = dev_ptau(power, out, (out.parent / "plonk",))
    key = setup_shape(dep, shape, ptau, cs=cs)
    info["setup_s"] = "cached" if key.cached else round(time.perf_counter() - t0, 1)
    wtns = out / f"batch_{n}.wtns"
    write_wtns(wtns, witness)
    t0 = time.perf_counter()
    pk = read_zkey(dep.zkey(n))
    info["zkey_read_s"] = round(time.perf_counter() - t0, 3)
    figures, proof = time_prove(
        benchmark, pk, witness, public, rounds=ROUNDS.get(power, 1), trades=trades,
        jit_warmup_s=jit_warmup_s, witness_s=info["witness_s"],
    )  # fmt: skip
    info.update(figures)
    if not node_available():
        info.update(snarkjs=None, snarkjs_skipped="node is not available")
    else:  # our proof checked by snarkjs's verifier (quick at any size)
        o_proof, o_public = out / f"ours_proof_{n}.json", out / f"ours_public_{n}.json"
        formats.write_json(o_proof, formats.proof_to_json(proof))
        formats.write_json(o_public, formats.public_to_json(public))
        assert snarkjs_ok("plonk", "verify", dep.vk(n), o_public, o_proof)
    too_large = SNARKJS_MAX_POWER is not None and power > SNARKJS_MAX_POWER
    if node_available() and too_large:
        why = f"domain 2^{power} > ZKPERP_BENCH_SNARKJS_MAX_POWER={SNARKJS_MAX_POWER}"
        info.update(snarkjs=None, snarkjs_skipped=why)
    elif node_available():
        s_proof, s_public = out / f"snarkjs_proof_{n}.json", out / f"snarkjs_public_{n}.json"
        anchor = run_anchor("plonk_prove_snarkjs.mjs", dep.zkey(n), wtns, s_proof, s_public)
        assert formats.parse_public_json(json.loads(s_public.read_text())) == public
        theirs = formats.parse_proof_json(json.loads(s_proof.read_text()))
        assert verifier.verify(pk.vk, public, theirs).valid
        info.update(
            snarkjs_ms=round(anchor["total_ms"], 1),
            snarkjs_rounds_ms={k: round(v, 1) for k, v in anchor["rounds_ms"].items()},
            snarkjs_warmup_ms=round(anchor["warmup_ms"], 1),
            snarkjs_threads=anchor["threads"],
            ratio_snarkjs_over_ours=round(anchor["total_ms"] / info["ours_ms"], 1),
            snarkjs_trades_per_s=round(trades / (anchor["total_ms"] / 1e3), 3),
        )
    benchmark.extra_info.update(info)
    RESULTS[str(n)] = info
    _write_results(bench_out / "batch_prove.json")
    print(json.dumps(info))
