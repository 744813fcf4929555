"""The trade batch circuit with one account memory (circuits.stf_memory; issue E's 40k-gate
prototype) on a batch cut by the real Sequencer (rollup.sequencer) at shallow depths (account
depth 2, order depth 1, 3 demo markets): two trades where one maker's order is filled by two
takers (a chain of two accesses to the maker, two updates of the same order slot). The honest
batch satisfies the circuit and its public signals equal the current batch circuit's
(circuits.state_transition via rollup.proving.batch_witness) and rollup.pubdata's; a forged
signature, a stale account state (the first access's, and a chained one's), an over-fill and a
wrong public-input word each fail at a named gate."""

from __future__ import annotations

import dataclasses

import pytest

from circuits.builder import CircuitError, UnsatisfiedGate
from circuits.stf_memory import (
    TradeShape,
    build_trade_batch_builder,
    build_trade_batch_circuit,
    gate_breakdown,
    trade_batch_inputs,
    trade_batch_witness,
)
from prover import params

R = params.R_ORDER
T0 = 1_700_000_000
AD, OD = 2, 1
SHAPE = TradeShape(n_slots=2, n_units=4, account_depth=AD, order_depth=OD, n_markets=3)
TRADE_BATCH = 2  # batches 0, 1: four deposits; batch 2: the two trades


def make_db(path, n_slots=2):
    """A maker's sell of 2000 filled by two takers' buys of 1000 (one batch of 2 trades)."""
    from circuits.gadgets import babyjubjub as bj
    from circuits.gadgets import eddsa
    from rollup.batch import L1Request
    from rollup.orderbook import PlaceOrder
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
    from rollup.types import PRICE_SCALE, Deposit, Order, Side, sign_order

    g = demo_genesis(T0)
    cfg = dataclasses.replace(g.config, account_depth=AD, order_depth=OD)
    genesis = dataclasses.replace(g, config=cfg)
    keys = [bytes([0x30 + i]) * 32 for i in range(4)]
    with Sequencer.create(path, genesis, SequencerConfig(shapes=(n_slots,))) as seq:
        index = []
        for i, key in enumerate(keys):
            pub = bj.pack_point(eddsa.prv2pub(key))
            seq.submit(L1Request(i, Deposit(pub, 0x1000 + i, 10**11)), T0 + 1)
            index.append(seq.account_index("0x" + pub.hex()))

        def order(k, side, size, oid):
            o = Order(index[k], 0, side, size, 600 * PRICE_SCALE, 10**7, 2**32 - 1, oid)
            return PlaceOrder(sign_order(keys[k], o, cfg.exchange_id))

        assert seq.submit(order(0, Side.SELL, 2000, 1), T0 + 2).status == "resting"
        assert seq.submit(order(1, Side.BUY, 1000, 1), T0 + 3).status == "filled"
        assert seq.submit(order(2, Side.BUY, 1000, 1), T0 + 3).status == "filled"
        assert seq.status()["batches"] == TRADE_BATCH + 1
    return genesis


@pytest.fixture(scope="module")
def batch_env(tmp_path_factory):
    from cli.batch_cmds import open_batch

    db = tmp_path_factory.mktemp("stf_memory") / "seq.db"
    make_db(db)
    storage, genesis, batch = open_batch(db, TRADE_BATCH)
    try:
        state = storage.state_before_batch(TRADE_BATCH)
    finally:
        storage.close()
    assert [type(r).__name__ for r in batch.records] == ["TradeRecord"] * 2
    return genesis, state, batch


@pytest.fixture(scope="module")
def circuit():
    return build_trade_batch_circuit(SHAPE).circuit


@pytest.fixture(scope="module")
def honest(batch_env):
    _, state, batch = batch_env
    return trade_batch_inputs(SHAPE, state, list(batch.transactions), batch.number, batch.timestamp)


def _fails(circuit, inputs, part):
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(inputs)
    label = info.value.label
    assert label is not None and part in label, label
    return label


def test_honest_batch_satisfies_and_matches_the_current_circuit(batch_env, circuit):
    from cli.batch_cmds import public_inputs_of
    from rollup.keys import batch_shape
    from rollup.proving import batch_witness

    genesis, state, batch = batch_env
    witness, public = trade_batch_witness(state, batch, SHAPE)
    assert public == public_inputs_of(batch)
    assert len(public) == SHAPE.n_public
    # the current (universal-slot) batch circuit proves the same batch with the same publics
    _, current = batch_witness(state, batch, batch_shape(genesis, SHAPE.n_slots))
    assert current == public


def test_noop_padding(batch_env, circuit):
    """One trade and a NoOp slot: the disabled accesses and gated rules are satisfiable."""
    _, state, batch = batch_env
    w = trade_batch_inputs(SHAPE, state, list(batch.transactions[:1]), 5, batch.timestamp)
    wit = circuit.check(w.inputs)
    assert circuit.public_signals(wit) == w.public_inputs
    assert w.public_inputs[-3:] == [0, 0, 0]  # the NoOp record's words


def test_forged_signature(circuit, honest):
    sig = list(honest.inputs["s1/b_sig"])
    sig[2] = (sig[2] + 1) % R
    assert "eddsa" in _fails(circuit, {**honest.inputs, "s1/b_sig": sig}, "slot1/sig_b")


def test_stale_first_state(circuit, honest):
    """The taker's state is not the one in the old tree (collateral + 1): the unit that loads
    the account fails."""
    k = 0  # slot 0's taker
    before = list(honest.inputs[f"mem.{k}.before"])
    before[1] += 1
    _fails(circuit, {**honest.inputs, f"mem.{k}.before": before}, "account_memory/units")


def test_stale_chained_state(circuit, honest):
    """Slot 1 reads the maker's collateral from before slot 0 (stale; the rest of its state
    is current, so every slot rule holds): the chain breaks."""
    stale = list(honest.inputs["mem.3.before"])
    assert stale[1] != honest.inputs["mem.1.before"][1]
    stale[1] = honest.inputs["mem.1.before"][1]
    inputs = {**honest.inputs, "mem.3.before": stale}
    _fails(circuit, inputs, "account_memory/chain/before")


def test_over_fill(circuit, honest):
    """A fill of 1001 against the taker's order of 1000."""
    _fails(circuit, {**honest.inputs, "s0/size": 1001}, "slot0/orders_a/overfill")


def test_wrong_public_word(circuit, honest):
    words = list(honest.inputs["s0/pubdata"])
    words[1] += 1
    _fails(circuit, {**honest.inputs, "s0/pubdata": words}, "slot0/pubdata/word1")


def test_too_many_accounts(batch_env):
    _, state, batch = batch_env
    small = dataclasses.replace(SHAPE, n_units=3)  # 3 traders + account 0
    with pytest.raises(Exception, match="distinct accounts"):
        trade_batch_inputs(small, state, list(batch.transactions), 1, batch.timestamp)


def test_shape_and_breakdown():
    with pytest.raises(CircuitError):
        TradeShape(2, 9, AD, OD, 3).validate()
    b = build_trade_batch_builder(SHAPE)
    br = gate_breakdown(b)
    assert sum(br.values()) == b.n_gates
    assert set(br) >= {"memory", "signatures", "order_slots", "messages", "rules"}


def test_insurance_outside_the_memory(batch_env):
    """The variant with 2T memory accesses and account 0's own path update: the same batch,
    the same public inputs; a wrong insurance account state fails at its path."""
    _, state, batch = batch_env
    shape = dataclasses.replace(SHAPE, n_units=3, insurance_in_memory=False)
    witness, public = trade_batch_witness(state, batch, shape)
    from cli.batch_cmds import public_inputs_of

    assert public == public_inputs_of(batch)
    w = trade_batch_inputs(shape, state, list(batch.transactions), batch.number, batch.timestamp)
    circuit = build_trade_batch_circuit(shape).circuit
    bad = {**w.inputs, "ins/acct_collateral": w.inputs["ins/acct_collateral"] + 1}
    _fails(circuit, bad, "batch/insurance")
