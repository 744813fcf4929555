"""Issue E (first cut): the batch circuit (circuits.state_transition) on D's native state.

Shallow trees (account depth 3, order depth 2, 2 markets): a batch of a trade and a deposit to
a new account (and NoOp padding) is satisfied by the witness that D's State produces, a
one-slot trade batch is set up (known-tau SRS, as tests/test_plonk_large.py), proven and
verified; each broken rule fails at a named gate: a forged signature, a price outside the
order's limit, an over-fill, a replayed order, a wrong new root, a wrong pubdata hash.
"""

from __future__ import annotations

import random

import pytest

from circuits.builder import UnsatisfiedGate
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.state_transition import BatchShape, build_batch_circuit, native_pubdata_hash
from prover import params
from prover.kzg import KnownTauPowers as _KnownTau
from prover.plonk.constraint_system import domain_power
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from rollup.proving import batch_inputs
from rollup.state import State
from rollup.types import (
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    Genesis,
    MarketParams,
    Order,
    Trade,
    sign_order,
)

R = params.R_ORDER
P = PRICE_SCALE
X = 3
T0 = 1_700_000_000
KEYS = [bytes([i + 1]) * 32 for i in range(3)]
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)
SHAPE2 = BatchShape(n_slots=2, account_depth=3, order_depth=2, n_markets=2)
SHAPE1 = BatchShape(n_slots=1, account_depth=3, order_depth=2, n_markets=2)


@pytest.fixture(scope="module")
def state():
    cfg = ExchangeConfig(
        X, MARKETS, (eddsa.prv2pub(b"\x40" * 32),), 1, 60, account_depth=3, order_depth=2
    )
    s = State(Genesis(cfg, (100 * P, 10 * P), T0))
    for i in range(2):
        s.apply(Deposit(bj.pack_point(eddsa.prv2pub(KEYS[i])), 0x1000 + i, 10_000))
    s.set_time(T0 + 10)
    # account 1 already holds a partial fill of its order 6 (slot 2)
    first = Trade(
        sign_order(KEYS[0], Order(0, 0, 0, 3, 101 * P, 100, T0 + 1000, 1), X),
        sign_order(KEYS[1], Order(1, 0, 1, 20, 99 * P, 100, T0 + 1000, 6), X),
        3,
        100 * P,
        1,
        1,
    )
    s.apply(first)
    s.flush()
    return s


def buy(size=10, limit=101, oid=5, key=0):
    return sign_order(KEYS[key], Order(0, 0, 0, size, limit * P, 100, T0 + 1000, oid), X)


def sell(size=20, limit=99, oid=6):
    return sign_order(KEYS[1], Order(1, 0, 1, size, limit * P, 100, T0 + 1000, oid), X)


def the_trade(**kw):
    return Trade(buy(**kw), sell(), 7, 100 * P + 12345, 3, 2)


@pytest.fixture(scope="module")
def circuit2():
    return build_batch_circuit(SHAPE2).circuit


@pytest.fixture(scope="module")
def circuit1():
    return build_batch_circuit(SHAPE1).circuit


def _fails(circuit, inputs, label_part):
    with pytest.raises(UnsatisfiedGate) as info:
        circuit.check(inputs)
    assert info.value.label is not None and label_part in info.value.label, info.value.label
    return info.value.label


def test_honest_trade_and_new_account_deposit(state, circuit2):
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[2])), 0x1002, 500)
    w = batch_inputs(SHAPE2, state, [the_trade(), dep], 7, T0 + 20)
    wit = circuit2.check(w.inputs)
    assert circuit2.public_signals(wit) == [
        w.old_root,
        w.new_root,
        7,
        T0 + 20,
        native_pubdata_hash(w.pubdata),
    ]
    assert w.post.next_account == 3 and w.post.account(2).collateral == 500
    assert w.new_root != w.old_root


def test_deposit_to_existing_account_and_noop(state, circuit2):
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[1])), 0x1001, 77)
    w = batch_inputs(SHAPE2, state, [dep], 8, T0 + 30)
    circuit2.check(w.inputs)
    assert w.post.account(1).collateral == state.account(1).collateral + 77


def test_forged_signature_fails_at_eddsa_check(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    forged = Trade(buy(key=2), sell(), 7, 100 * P + 12345, 3, 2)  # signed by another key
    sig = forged.taker.signature
    bad = {**w.inputs, "s0/a_sig": [sig.r8[0], sig.r8[1], sig.s]}
    assert _fails(circuit1, bad, "sig_a") == "slot0/sig_a/eddsa/check"


def test_price_outside_limit_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    bad = {**w.inputs, "s0/price": 102 * P}  # above the buyer's limit 101
    assert _fails(circuit1, bad, "limit_a").startswith("slot0/limit_a")


def test_over_fill_fails(state, circuit1):
    # the seller's order 6 has 3 of 20 filled: a fill of 18 leaves the witness at "overfill"
    w = batch_inputs(SHAPE1, state, [Trade(buy(size=30), sell(), 17, 100 * P, 0, 0)], 7, T0 + 20)
    bad = {**w.inputs, "s0/size": 18}
    assert "orders_b/overfill" in _fails(circuit1, bad, "overfill")


def test_replayed_order_fails(state, circuit1):
    # the seller's slot 2 holds order 6: an order 2 (same slot, lower id) is a replay
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    bad = {**w.inputs, "s0/b_oid": 2}
    assert "replay" in _fails(circuit1, bad, "orders_b")


def test_wrong_new_root_and_pubdata_fail(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    assert _fails(circuit1, {**w.inputs, "new_root": (w.new_root + 1) % R}, "batch/new_root")
    bad = {**w.inputs, "pubdata_hash": (w.inputs["pubdata_hash"] + 1) % R}
    assert _fails(circuit1, bad, "batch/pubdata") == "batch/pubdata"


def test_one_slot_trade_batch_proven_and_verified(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    witness = circuit1.check(w.inputs)
    pk = setup(circuit1.cs, _KnownTau(domain_power(circuit1.cs), 0x57F))
    proof, public = prove(pk, witness, rng=random.Random(5))
    assert public == [w.old_root, w.new_root, 7, T0 + 20, native_pubdata_hash(w.pubdata)]
    assert verify(pk.vk, public, proof).valid
    wrong = [public[0], (public[1] + 1) % R, *public[2:]]
    assert not verify(pk.vk, wrong, proof).valid
