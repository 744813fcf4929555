"""Issue E: the batch circuit (circuits.state_transition, layout v2) on D's native state.

Shallow trees (account depth 2, order depth 1, in 4-ary levels; 2 markets; 1-2 slots): batches
built by ``rollup.state.State`` and cut by ``rollup.sequencer.Sequencer`` (a trade, deposits to
a new and an existing account and with a key outside the prime-order subgroup, a withdrawal, a
transfer, a forced withdrawal, NoOp padding, funding ticks, oracle ticks with 1, 2 and 3
signatures (the third in a NoOp continuation slot), a liquidation and a deleverage after a
price drop in the same batch) satisfy the circuit, whose public signals are exactly
``rollup.pubdata.public_inputs`` of the batch; a one-slot trade batch is set up (known-tau
SRS), proven and verified; and each broken rule fails at a named gate: a forged signature (an
order's, a liquidator's, an oracle's), a price outside the order's limit, an over-fill, a
replayed order, a wrong new root, a wrong public-input word, a wrong nonce, a withdrawal
beyond the free collateral, a transfer to a missing account, a small-order deposit key, a
funding index change above the cap or a tick in the future, an oracle price that is no median,
a stale or unlisted oracle, oracle indices not increasing across a continuation, a
continuation without a tick, a liquidation penalty above its cap or a price beyond the
liquidation bound, a deleverage price worse than the oracle's or leaving a positive value.
The record words of every type are checked against ``rollup.pubdata`` (random records and the
shared golden vectors).
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitError, UnsatisfiedGate
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.merkle import quad_empty_hashes
from circuits.state_transition import BatchShape, build_batch_circuit
from prover import params
from prover.kzg import KnownTauPowers as _KnownTau
from prover.plonk.constraint_system import domain_power
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from rollup.batch import Batch
from rollup.proving import batch_inputs, batch_witness, slots_needed
from rollup.pubdata import decode_record, encode_record, encode_records, public_inputs, slot_words
from rollup.state import State
from rollup.types import (
    PRICE_SCALE,
    Deleverage,
    DeleverageRecord,
    Deposit,
    DepositRecord,
    ExchangeConfig,
    ForcedWithdrawal,
    ForcedWithdrawalRecord,
    FundingRecord,
    FundingTick,
    Genesis,
    Liquidate,
    LiquidateRecord,
    MarketParams,
    NoopRecord,
    OraclePriceTick,
    OracleRecord,
    Order,
    Trade,
    TradeRecord,
    TransferRecord,
    WithdrawalRecord,
    sign_oracle_price,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

R = params.R_ORDER
P = PRICE_SCALE
X = 3
T0 = 1_700_000_000
KEYS = [bytes([i + 1]) * 32 for i in range(3)]
ORACLE_KEYS = [bytes([0x40 + i]) * 32 for i in range(3)]
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)
AD, OD = 2, 1
SHAPE2 = BatchShape(n_slots=2, account_depth=AD, order_depth=OD, n_markets=2, n_units=4)
SHAPE1 = BatchShape(n_slots=1, account_depth=AD, order_depth=OD, n_markets=2)
ALICE, BOB = 1, 2  # accounts (0 is the insurance fund)
KINDS = {  # record type -> the circuit's record kind (circuits.state_transition.TYPES)
    DepositRecord: "deposit",
    WithdrawalRecord: "withdrawal",
    ForcedWithdrawalRecord: "forced",
    TransferRecord: "transfer",
    TradeRecord: "trade",
    FundingRecord: "funding",
    OracleRecord: "oracle",
    LiquidateRecord: "liquidate",
    DeleverageRecord: "deleverage",
}


@pytest.fixture(scope="module")
def state():
    cfg = ExchangeConfig(
        X, MARKETS, (eddsa.prv2pub(b"\x40" * 32),), 1, 60, account_depth=AD, order_depth=OD
    )
    s = State(Genesis(cfg, (100 * P, 10 * P), T0, insurance_l1_address=0xFEE))
    for i in range(2):
        s.apply(Deposit(bj.pack_point(eddsa.prv2pub(KEYS[i])), 0x1000 + i, 10_000))
    s.set_time(T0 + 10)
    # Bob already holds a partial fill of his order 6 (slot 2)
    first = Trade(
        sign_order(KEYS[0], Order(ALICE, 0, 0, 3, 101 * P, 100, T0 + 1000, 1), X),
        sign_order(KEYS[1], Order(BOB, 0, 1, 20, 99 * P, 100, T0 + 1000, 6), X),
        3,
        100 * P,
        1,
        1,
    )
    s.apply(first)
    s.end_batch()
    s.flush()
    return s


def buy(size=10, limit=101, oid=5, key=0):
    return sign_order(KEYS[key], Order(ALICE, 0, 0, size, limit * P, 100, T0 + 1000, oid), X)


def sell(size=20, limit=99, oid=6):
    return sign_order(KEYS[1], Order(BOB, 0, 1, size, limit * P, 100, T0 + 1000, oid), X)


def the_trade(**kw):
    return Trade(buy(**kw), sell(), 7, 100 * P + 12345, 3, 2)


def withdrawal(amount=500, fee=4, nonce=0, key=0):
    return sign_withdrawal(KEYS[key], ALICE, amount, fee, nonce, X)


def transfer(amount=300, fee=2, nonce=0, recipient=BOB):
    return sign_transfer(KEYS[0], ALICE, recipient, amount, fee, nonce, X)


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


def _honest(circuit, state, txs, shape, number=7, t=T0 + 20):
    w = batch_inputs(shape, state, txs, number, t)
    wit = circuit.check(w.inputs)
    publics = circuit.public_signals(wit)
    assert publics == w.public_inputs
    assert publics == public_inputs(w.old_root, w.new_root, number, t, w.pubdata, shape.n_slots)
    assert len(publics) == 4 + 3 * shape.n_slots
    return w


def test_honest_trade_and_new_account_deposit(state, circuit2):
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[2])), 0x1002, 500)
    w = _honest(circuit2, state, [the_trade(), dep], SHAPE2)
    assert w.post.next_account == 4 and w.post.account(3).collateral == 500
    # the fees (3 + 2) and the rounding dust went to account 0 at the end of the batch
    assert w.post.account(0).collateral > state.account(0).collateral
    assert w.post.pending_insurance == 0


def test_deposit_to_existing_account_and_noop(state, circuit2):
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[1])), 0x1001, 77)
    w = _honest(circuit2, state, [dep], SHAPE2)
    assert w.post.account(BOB).collateral == state.account(BOB).collateral + 77


def test_deposit_key_outside_the_subgroup_is_provable(state, circuit1):
    """valid_deposit_key: a key with a torsion part (not small order) opens an account, and the
    circuit proves it; a small-order key fails at the key's small-order check."""
    key = bj.add(eddsa.prv2pub(b"\x07" * 32), (0, bj.P - 1))  # plus a point of order 2
    assert not bj.in_subgroup(key)
    w = _honest(circuit1, state, [Deposit(bj.pack_point(key), 0xBEEF, 5)], SHAPE1)
    assert w.post.account(3).pubkey == key
    small = [0, bj.P - 1]  # order 2: 8 key = identity
    bad = {**w.inputs, "s0/dep_pk": small, "mem.0.static": small + w.inputs["mem.0.static"][2:]}
    assert _fails(circuit1, bad, "small_order") == "slot0/pubdata/key/small_order"


def test_honest_withdrawal_and_transfer(state, circuit2):
    w = _honest(circuit2, state, [withdrawal(), transfer(nonce=1)], SHAPE2)
    assert w.post.account(ALICE).nonce == 2
    assert w.post.account(BOB).collateral == state.account(BOB).collateral + 300


def test_honest_forced_withdrawal(state, circuit1):
    w = _honest(circuit1, state, [ForcedWithdrawal(ALICE, 0x1000, 100)], SHAPE1)
    assert w.post.account(ALICE).collateral < state.account(ALICE).collateral


def test_batch_witness_from_a_batch(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 9, T0 + 20)
    batch = Batch(9, T0 + 20, state.root, w.new_root, (the_trade(),), (), w.pubdata, (0, 0))
    witness, public = batch_witness(state, batch, SHAPE1)
    assert public == w.public_inputs and circuit1.public_signals(witness) == public


def test_forged_signature_fails_at_eddsa_check(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    forged = Trade(buy(key=2), sell(), 7, 100 * P + 12345, 3, 2)  # signed by another key
    sig = forged.taker.signature
    bad = {**w.inputs, "s0/a_sig": [sig.r8[0], sig.r8[1], sig.s]}
    assert _fails(circuit1, bad, "signatures/") == "signatures/unit0/eddsa/check"


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


def test_wrong_new_root_and_public_word_fail(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    assert _fails(circuit1, {**w.inputs, "new_root": (w.new_root + 1) % R}, "batch/new_root")
    for j in range(3):
        words = list(w.inputs["s0/pubdata"])
        words[j] = (words[j] + 1) % R
        bad = {**w.inputs, "s0/pubdata": words}
        assert _fails(circuit1, bad, "pubdata") == f"slot0/pubdata/word{j}"


def test_wrong_nonce_fails_at_the_signature(state, circuit1):
    # a withdrawal signed with nonce 1 while the account's nonce is 0
    w = batch_inputs(SHAPE1, state, [withdrawal()], 7, T0 + 20)
    sig = withdrawal(nonce=1).signature
    bad = {**w.inputs, "s0/a_sig": [sig.r8[0], sig.r8[1], sig.s]}
    assert _fails(circuit1, bad, "signatures/") == "signatures/unit0/eddsa/check"


def test_withdrawal_beyond_free_collateral_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [withdrawal(amount=500)], 7, T0 + 20)
    big = state.account(ALICE).collateral + 10**6
    sig = withdrawal(amount=big).signature
    bad = {**w.inputs, "s0/amount": big, "s0/a_sig": [sig.r8[0], sig.r8[1], sig.s]}
    bad["s0/pubdata"] = list(w.inputs["s0/pubdata"])
    assert "margin_a" in _fails(circuit1, bad, "margin_a")


def test_transfer_to_a_missing_account_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [transfer()], 7, T0 + 20)
    # recipient 3 does not exist: its leaf is empty, and a transfer's access creates nothing,
    # so the memory's unit finds no preimage of the empty leaf
    bad = dict(w.inputs)
    bad["s0/b_index"] = 3
    bad["mem.1.static"] = [0, 0, 0]
    bad["mem.1.before"] = [0, 0, quad_empty_hashes(OD)[-1], *([0] * 8)]
    bad["s0/b_osibs"] = [quad_empty_hashes(OD)[h] for h in range(OD) for _ in range(3)]
    for k in ("oid", "oid_old", "filled_old", "size"):
        bad[f"s0/b_{k}"] = 0
    sig = transfer(recipient=3).signature  # Alice did sign a transfer to account 3
    bad["s0/a_sig"] = [sig.r8[0], sig.r8[1], sig.s]
    words = list(slot_words(encode_record(TransferRecord(ALICE, 3, 300, 2))))
    bad["s0/pubdata"] = words
    assert _fails(circuit1, bad, "account_memory").startswith("account_memory/")


def test_one_slot_trade_batch_proven_and_verified(state, circuit1):
    w = batch_inputs(SHAPE1, state, [the_trade()], 7, T0 + 20)
    witness = circuit1.check(w.inputs)
    pk = setup(circuit1.cs, _KnownTau(domain_power(circuit1.cs), 0x57F))
    proof, public = prove(pk, witness, rng=random.Random(5))
    assert public == w.public_inputs
    assert verify(pk.vk, public, proof).valid
    wrong = [public[0], (public[1] + 1) % R, *public[2:]]
    assert not verify(pk.vk, wrong, proof).valid


# --- refused L1 requests: the circuit proves the reason ------------------------------------


def test_refused_forced_withdrawals(state, circuit2):
    """Refused for another L1 address, for a missing account, beyond the free collateral."""
    big = state.account(ALICE).collateral + 10**6
    for txs in (
        [ForcedWithdrawal(ALICE, 0x9999, 100), ForcedWithdrawal(3, 0x1000, 100)],
        [ForcedWithdrawal(ALICE, 0x1000, big)],
    ):
        w = _honest(circuit2, state, txs, SHAPE2)
        assert w.inputs["s0/executed"] == 0
        assert w.post.account(ALICE) == state.account(ALICE)


def test_refusing_a_valid_forced_withdrawal_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [ForcedWithdrawal(ALICE, 0x1000, 100)], 7, T0 + 20)
    assert w.inputs["s0/executed"] == 1
    bad = {**w.inputs, "s0/executed": 0}
    assert _fails(circuit1, bad, "refusal") == "slot0/refusal"


def test_executing_a_refused_forced_withdrawal_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [ForcedWithdrawal(ALICE, 0x9999, 100)], 7, T0 + 20)
    bad = {**w.inputs, "s0/executed": 1}
    assert _fails(circuit1, bad, "slot0/rules") == "slot0/rules"


def test_deposit_refused_for_the_balance_bound(state, circuit1):
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[0])), 0x1000, (1 << 63) - 1)
    w = _honest(circuit1, state, [dep], SHAPE1)
    assert w.inputs["s0/executed"] == 0 and w.inputs["s0/a_index"] == ALICE  # read Alice's
    ok = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[0])), 0x1000, 5)
    w = batch_inputs(SHAPE1, state, [ok], 7, T0 + 20)
    words = list(w.inputs["s0/pubdata"])
    bad = {**w.inputs, "s0/executed": 0, "s0/pubdata": words}
    assert _fails(circuit1, bad, "refusal") == "slot0/refusal"


def test_deposit_refused_when_the_tree_is_full():
    cfg = ExchangeConfig(
        X, MARKETS, (eddsa.prv2pub(b"\x40" * 32),), 1, 60, account_depth=1, order_depth=1
    )
    s = State(Genesis(cfg, (100 * P, 10 * P), T0))
    for i in range(3):  # accounts 1..3: the 4 leaves are used
        s.apply(Deposit(bj.pack_point(eddsa.prv2pub(bytes([9 + i]) * 32)), 7, 10))
    s.end_batch()
    shape = BatchShape(1, 1, 1, 2)
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[2])), 0x1002, 500)
    w = _honest(build_batch_circuit(shape).circuit, s, [dep], shape, t=T0)
    assert w.inputs["s0/executed"] == 0 and w.post.next_account == 4


# --- the public-input words against the shared golden vectors ------------------------------


def _words_of(kind, record):
    """record_words on a record's field values in a small circuit, and its values."""
    from circuits.builder import CircuitBuilder
    from circuits.state_transition import RECORD_LAYOUTS, record_words

    vals = {}
    for name, width in RECORD_LAYOUTS[kind][1]:
        if name.startswith("index_"):  # a funding record's signed index: two's complement
            vals[name] = record.indices[int(name[6:])] % (1 << 64)
            continue
        v = getattr(record, name)
        if width < 0:
            vals[name] = list(v if isinstance(v, bytes) else v.to_bytes(-width, "big"))
        else:
            vals[name] = int(v)
    b = CircuitBuilder()
    ins = {
        name: b.private_inputs(name, len(v)) if isinstance(v, list) else b.private_input(name)
        for name, v in vals.items()
    }
    words = record_words(b, kind, ins)
    c = b.compile()
    w = c.check(vals)
    return [c.value(x, w) for x in words]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_record_words_equal_slot_words(data):
    """For random records of every type, the circuit's words are
    ``rollup.pubdata.slot_words`` of the record's bytes."""
    u = lambda n: data.draw(st.integers(0, (1 << n) - 1))  # noqa: E731
    kind = data.draw(st.sampled_from(sorted(KINDS.values())))
    if kind == "deposit":
        rec = DepositRecord(u(32), bytes(u(8) for _ in range(32)), u(160), u(63), bool(u(1)))
    elif kind == "withdrawal":
        rec = WithdrawalRecord(u(32), u(160), u(63), u(63))
    elif kind == "forced":
        rec = ForcedWithdrawalRecord(u(32), u(160), u(63), bool(u(1)))
    elif kind == "transfer":
        rec = TransferRecord(u(32), u(32), u(63), u(63))
    elif kind == "trade":
        rec = TradeRecord(u(8), u(1), u(32), u(32), u(32), u(32), u(48), u(56), u(63), u(63))
    elif kind == "funding":
        g = st.integers(-(1 << 56) + 1, (1 << 56) - 1)
        rec = FundingRecord(u(32), tuple(data.draw(g) for _ in range(4)))
    elif kind == "oracle":
        rec = OracleRecord(u(8), u(32), u(56))
    elif kind == "liquidate":
        rec = LiquidateRecord(u(8), u(1), u(32), u(32), u(32), u(48), u(56), u(63), u(63))
    else:
        rec = DeleverageRecord(u(8), u(1), u(32), u(32), u(48), u(56))
    assert _words_of(kind, rec) == list(slot_words(encode_record(rec)))


def test_record_words_match_golden_vectors():
    """``record_words`` (what every slot sums, flag-selected) gives the words of
    tests/vectors/rollup/public_inputs.json for every record (every type)."""
    import json
    from pathlib import Path

    from rollup.pubdata import decode_record, record_spans

    kinds = KINDS
    cases = json.loads(Path("tests/vectors/rollup/public_inputs.json").read_text())["cases"]
    seen = set()
    for case in cases:
        data = bytes.fromhex(case["pubdata"])
        publics = [int(x) for x in case["public_inputs"]]
        for k, (start, _) in enumerate(record_spans(data)):
            record, _ = decode_record(data, start)
            golden = publics[4 + 3 * k : 7 + 3 * k]
            if isinstance(record, NoopRecord):
                assert golden == [0, 0, 0]
                continue
            kind = kinds[type(record)]
            seen.add(kind)
            assert _words_of(kind, record) == golden, (case["name"], k, kind)
    assert seen == set(kinds.values())


# --- batches cut by the real sequencer -------------------------------------------------------


def test_batches_cut_by_the_sequencer(tmp_path):
    """Deposits (new accounts), two crossing orders (a trade with the sequencer's fees), a
    withdrawal and a transfer, cut by ``rollup.sequencer.Sequencer`` (SQLite storage) into
    2-slot batches: each batch's witness from ``batch_witness(seq.state_before(n),
    seq.batch(n), shape)`` satisfies the circuit and its public inputs are those of the
    batch's pubdata."""
    from rollup.batch import L1Request
    from rollup.orderbook import PlaceOrder
    from rollup.sequencer import Sequencer, SequencerConfig

    cfg = ExchangeConfig(
        X, MARKETS, (eddsa.prv2pub(b"\x40" * 32),), 1, 60, account_depth=AD, order_depth=OD
    )
    genesis = Genesis(cfg, (100 * P, 10 * P), T0)
    seq = Sequencer.create(tmp_path / "seq.db", genesis, SequencerConfig(shapes=(2,)))
    circuit = build_batch_circuit(SHAPE2).circuit
    requests = [
        L1Request(0, Deposit(bj.pack_point(eddsa.prv2pub(KEYS[0])), 0x1000, 10_000)),
        L1Request(1, Deposit(bj.pack_point(eddsa.prv2pub(KEYS[1])), 0x1001, 10_000)),
        PlaceOrder(sell(size=5, limit=99, oid=3)),
        PlaceOrder(buy(size=5, limit=101, oid=4)),
        withdrawal(amount=50, fee=1, nonce=0),
        transfer(amount=20, fee=1, nonce=1),
    ]
    for k, req in enumerate(requests):
        seq.submit(req, now=T0 + 1 + k)
    seq.cut(now=T0 + 10)
    n = seq.batch_number
    kinds = set()
    for number in range(n):
        batch = seq.batch(number)
        kinds |= {type(r).__name__ for r in batch.records}
        witness, public = batch_witness(seq.state_before(number), batch, SHAPE2)
        assert circuit.public_signals(witness) == public
        assert public == public_inputs(
            batch.pre_root, batch.post_root, batch.number, batch.timestamp, batch.pubdata, 2
        )
    assert {"DepositRecord", "TradeRecord", "WithdrawalRecord", "TransferRecord"} <= kinds
    seq.close()


# --- funding ticks, oracle ticks, liquidations, deleverages ----------------------------------


def test_funding_tick_then_settlement_uses_the_new_indices(state, circuit2):
    """A FundingTick (one index up, one down: the record's two's complement) in slot 0; Alice's
    withdrawal in slot 1 settles her long at the new index, and account 0's end-of-batch
    update, the funding time and the markets hash of the new root use the new indices."""
    tick = FundingTick(T0 + 15, (P, -(P >> 4)))
    w = _honest(circuit2, state, [tick, withdrawal()], SHAPE2)
    assert w.post.funding_indices[:2] == (P, -(P >> 4)) and w.post.funding_time == T0 + 15
    assert w.post.account(ALICE).funding[:2] == (P, -(P >> 4))
    # Alice is long 3 in market 0: she paid 3 quanta of funding
    assert w.post.account(ALICE).collateral == state.account(ALICE).collateral - 500 - 4 - 3


def test_funding_tick_above_the_cap_fails(state, circuit1):
    w = batch_inputs(SHAPE1, state, [FundingTick(T0 + 15, (P, 0))], 7, T0 + 20)
    bad = {**w.inputs, "s0/funding": [2 * P, 0]}  # 15 s at 100: at most 1.5 quanta a unit
    assert _fails(circuit1, bad, "change0").startswith("slot0/funding/funding_tick/change0/")
    late = {**w.inputs, "s0/tick_time": T0 + 21}  # after the batch's timestamp
    assert "not_future" in _fails(circuit1, late, "funding_tick")


def oracle_tick(price, t=T0 + 15, prices=None, oracles=(0,), market=0):
    prices = prices or [price] * len(oracles)
    sigs = tuple(
        sign_oracle_price(ORACLE_KEYS[k], k, market, q, t, X) for k, q in zip(oracles, prices)
    )
    return OraclePriceTick(market, t, price, sigs)


def test_oracle_tick_then_withdrawal_at_the_new_price(state, circuit2):
    w = _honest(circuit2, state, [oracle_tick(90 * P), withdrawal()], SHAPE2)
    assert w.post.markets[0].price == 90 * P and w.post.markets[0].price_time == T0 + 15


def test_oracle_tick_broken_rules_fail(state, circuit1):
    w = batch_inputs(SHAPE1, state, [oracle_tick(90 * P)], 7, T0 + 20)
    # a price that is not the median of the signed ones
    words = list(slot_words(encode_record(OracleRecord(0, T0 + 15, 91 * P))))
    bad = {**w.inputs, "s0/price": 91 * P, "s0/pubdata": words}
    assert _fails(circuit1, bad, "median").startswith("batch/oracle_close/median")
    # a forged oracle signature (another key signed it)
    sig = sign_oracle_price(KEYS[0], 0, 0, 90 * P, T0 + 15, X).signature
    bad = {**w.inputs, "s0/a_sig": [sig.r8[0], sig.r8[1], sig.s]}
    assert _fails(circuit1, bad, "signatures/") == "signatures/unit0/eddsa/check"
    # a stale signed price (validity 60 s), correctly signed
    stale = sign_oracle_price(ORACLE_KEYS[0], 0, 0, 90 * P, T0 - 50, X).signature
    bad = {
        **w.inputs,
        "s0/o0_time": T0 - 50,
        "s0/a_sig": [stale.r8[0], stale.r8[1], stale.s],
    }
    assert "fresh0" in _fails(circuit1, bad, "slot0/oracle")
    # an unlisted oracle (key slot 3 holds (0, 0): not on the curve)
    bad = {**w.inputs, "s0/o0_oracle": [0, 0, 0, 1, 0, 0, 0, 0]}
    assert _fails(circuit1, bad, "signatures/").startswith("signatures/unit0/eddsa/A_on_curve")


@pytest.fixture(scope="module")
def risky():
    """Carol (account 3) long 10 at 100 with 100 of collateral: at the initial-margin limit;
    three oracles, quorum 2."""
    cfg = ExchangeConfig(
        X,
        MARKETS,
        tuple(eddsa.prv2pub(k) for k in ORACLE_KEYS),
        2,
        60,
        account_depth=AD,
        order_depth=OD,
    )
    s = State(Genesis(cfg, (100 * P, 10 * P), T0))
    for i, amount in ((0, 10_000), (1, 10_000), (2, 100)):
        s.apply(Deposit(bj.pack_point(eddsa.prv2pub(KEYS[i])), 0x1000 + i, amount))
    s.set_time(T0 + 10)
    s.apply(
        Trade(
            sign_order(KEYS[2], Order(CAROL, 0, 0, 10, 100 * P, 0, T0 + 1000, 1), X),
            sign_order(KEYS[1], Order(BOB, 0, 1, 10, 100 * P, 0, T0 + 1000, 1), X),
            10,
            100 * P,
            0,
            0,
        )
    )
    s.end_batch()
    s.flush()
    return s


CAROL = 3


def liquidation(size=4, price=94, penalty=3, key=0):
    o = Order(ALICE, 0, 0, size, 95 * P, 10, T0 + 1000, 2)
    return Liquidate(sign_order(KEYS[key], o, X), CAROL, size, price * P, 1, penalty)


def test_oracle_tick_then_liquidation(risky, circuit2):
    """Slot 0: a 2-signature oracle tick drops the price to 94 (Carol: TV 40 < TR 47); slot 1:
    Alice's signed order liquidates 4 of Carol's position at 94 with a penalty of 3 to the
    insurance fund."""
    tick = oracle_tick(94 * P, prices=[93 * P, 94 * P], oracles=(0, 2))
    w = _honest(circuit2, risky, [tick, liquidation()], SHAPE2)
    assert w.post.account(CAROL).positions[0] == 6 and w.post.account(ALICE).positions[0] == 4
    ins0 = risky.insurance
    assert w.post.insurance - ins0 == (1 + 3) * P  # liquidator fee + penalty, no rounding


def test_liquidation_broken_rules_fail(risky, circuit1):
    st = risky.snapshot()
    st.set_time(T0 + 15)
    st.apply(oracle_tick(94 * P, prices=[94 * P, 94 * P], oracles=(0, 1)))
    st.end_batch()
    w = batch_inputs(SHAPE1, st, [liquidation()], 7, T0 + 20)
    circuit1.check(w.inputs)
    label = _fails(circuit1, {**w.inputs, "s0/fees": [1, 4]}, "penalty_cap")
    assert label.startswith("slot0/liquidate/liquidation/penalty_cap")
    label = _fails(circuit1, {**w.inputs, "s0/price": 85 * P}, "liquidation/price")
    assert label.startswith("slot0/liquidate/liquidation/price")
    forged = liquidation(key=1).liquidator.signature
    bad = {**w.inputs, "s0/a_sig": [forged.r8[0], forged.r8[1], forged.s]}
    assert _fails(circuit1, bad, "signatures/") == "signatures/unit0/eddsa/check"


def test_oracle_tick_then_deleverage(risky, circuit2):
    """At 85 Carol's TV is -50: the operator closes 5 of her long against Bob's short at the
    oracle price (unsigned)."""
    tick = oracle_tick(85 * P, prices=[85 * P, 86 * P], oracles=(1, 2))
    dlv = Deleverage(0, CAROL, BOB, 5, 85 * P)
    w = _honest(circuit2, risky, [tick, dlv], SHAPE2)
    assert w.post.account(CAROL).positions[0] == 5 and w.post.account(BOB).positions[0] == -5


def test_deleverage_broken_rules_fail(risky, circuit1):
    st = risky.snapshot()
    st.set_time(T0 + 15)
    st.apply(oracle_tick(85 * P, prices=[85 * P, 85 * P], oracles=(0, 1)))
    st.end_batch()
    w = batch_inputs(SHAPE1, st, [Deleverage(0, CAROL, BOB, 5, 85 * P)], 7, T0 + 20)
    label = _fails(circuit1, {**w.inputs, "s0/price": 84 * P}, "deleverage/price")
    assert label.startswith("slot0/deleverage/deleverage/price")
    label = _fails(circuit1, {**w.inputs, "s0/price": 200 * P}, "value_after")
    assert label.startswith("slot0/deleverage/deleverage/value_after")


def test_oracle_tick_with_three_signatures_continues_in_a_noop_slot(risky, circuit2):
    """Three signatures: slot 0 (the tick's record) verifies two, slot 1 (a NoOp record)
    the third; quorum and median are checked when the run closes (the end of the batch)."""
    tick = oracle_tick(94 * P, prices=[93 * P, 94 * P, 96 * P], oracles=(0, 1, 2))
    assert slots_needed(tick) == 2
    w = _honest(circuit2, risky, [tick], SHAPE2)
    assert w.inputs["s1/is_cont"] == 1 and w.post.markets[0].price == 94 * P
    # a price that is no median of the three (96: only one signed price is >= ... <= it)
    words = list(slot_words(encode_record(OracleRecord(0, T0 + 15, 96 * P))))
    bad = {**w.inputs, "s0/price": 96 * P, "s0/pubdata": words}
    assert _fails(circuit2, bad, "median").startswith("batch/oracle_close/median")
    # the continuation's oracle index does not increase (1 after 0, 1)
    bad = {**w.inputs, "s1/o0_oracle": [0, 1, 0, 0, 0, 0, 0, 0]}
    assert _fails(circuit2, bad, "order0").startswith("slot1/oracle/order0")
    # a continuation slot that no tick opened
    w2 = batch_inputs(SHAPE2, risky, [withdrawal(fee=0)], 7, T0 + 20)
    assert _fails(circuit2, {**w2.inputs, "s1/is_cont": 1}, "type") == "slot1/type"
    with pytest.raises(CircuitError, match="take 2 slots"):
        batch_inputs(SHAPE1, risky, [tick], 7, T0 + 20)


def test_batch_without_the_continuation_slots_is_refused(risky):
    """A batch whose pubdata puts another record right after a 3-signature tick (as a
    sequencer unaware of continuation slots would) gets a clear CircuitError."""
    tick = oracle_tick(94 * P, prices=[93 * P, 94 * P, 96 * P], oracles=(0, 1, 2))
    st = risky.snapshot()
    st.set_time(T0 + 20)
    records = [st.apply(tick).record, st.apply(withdrawal(fee=0)).record, NoopRecord()]
    st.end_batch()
    txs = (tick, withdrawal(fee=0))
    batch = Batch(
        9, T0 + 20, risky.root, st.root, txs, tuple(records), encode_records(records), (0, 0)
    )
    with pytest.raises(CircuitError, match="continuation"):
        batch_witness(risky, batch, BatchShape(3, AD, OD, 2))


def test_tick_liquidation_and_deleverage_batches_cut_by_the_sequencer(tmp_path):
    """The sequencer (SQLite storage, 2-slot batches) cuts deposits, a trade at Carol's
    initial-margin limit, a 2-signature oracle tick that makes her liquidatable, Alice's
    liquidation, a funding tick, a 3-signature tick that leaves her bankrupt (it takes two
    slots: its record and a NoOp continuation) and a deleverage against Bob; every batch's
    witness satisfies the circuit with the batch's public inputs."""
    from rollup.batch import L1Request
    from rollup.orderbook import FeeSchedule, PlaceOrder
    from rollup.sequencer import Sequencer, SequencerConfig

    cfg = ExchangeConfig(
        X,
        MARKETS,
        tuple(eddsa.prv2pub(k) for k in ORACLE_KEYS),
        2,
        60,
        account_depth=AD,
        order_depth=OD,
    )
    seq = Sequencer.create(
        tmp_path / "seq.db",
        Genesis(cfg, (100 * P, 10 * P), T0),
        SequencerConfig(shapes=(2,), fees=FeeSchedule(0, 0)),
    )
    circuit = build_batch_circuit(SHAPE2).circuit
    first = [
        L1Request(k, Deposit(bj.pack_point(eddsa.prv2pub(KEYS[k])), 0x1000 + k, amount))
        for k, amount in enumerate((10_000, 10_000, 100))
    ]
    first += [
        PlaceOrder(sign_order(KEYS[1], Order(BOB, 0, 1, 10, 100 * P, 0, T0 + 1000, 1), X)),
        PlaceOrder(sign_order(KEYS[2], Order(CAROL, 0, 0, 10, 100 * P, 0, T0 + 1000, 1), X)),
    ]
    for k, req in enumerate(first):
        seq.submit(req, now=T0 + 1 + k)
    seq.cut(now=T0 + 10)
    t1 = T0 + 20
    later = [
        oracle_tick(94 * P, t=t1, prices=[94 * P, 94 * P], oracles=(0, 1)),
        liquidation(),
        FundingTick(t1, (P // 8, 0)),
        oracle_tick(85 * P, t=t1 + 1, prices=[85 * P, 85 * P, 86 * P], oracles=(0, 1, 2)),
    ]
    for req in later:
        seq.submit(req, now=t1 + 1)
    seq.cut(now=t1 + 2)
    seq.submit(Deleverage(0, CAROL, BOB, 5, 85 * P), now=t1 + 3)
    seq.cut(now=t1 + 3)
    kinds, big_ticks = set(), 0
    for number in range(seq.batch_number):
        batch = seq.batch(number)
        kinds |= {type(r).__name__ for r in batch.records}
        recs = list(batch.records)
        for t in batch.transactions:
            if slots_needed(t) > 1:  # the sequencer leaves the tick's continuation NoOp
                at = next(k for k, r in enumerate(recs) if getattr(r, "price", None) == t.price)
                assert all(type(r).__name__ == "NoopRecord" for r in recs[at + 1 : at + 2])
                big_ticks += 1
        witness, public = batch_witness(seq.state_before(number), batch, SHAPE2)
        assert circuit.public_signals(witness) == public
    assert big_ticks == 1
    assert {"OracleRecord", "LiquidateRecord", "FundingRecord", "DeleverageRecord"} <= kinds
    seq.close()


# --- the account memory: each account loaded and stored once per batch ----------------------


def test_a_stale_account_state_fails_at_the_memory_chain(state, circuit2):
    """Alice's second access (slot 1) must start from her first one's after-state: a
    before-state with one more unit of collateral (what a replayed stale leaf would give)
    fails at the memory's chain check."""
    w = _honest(circuit2, state, [withdrawal(), transfer(nonce=1)], SHAPE2)
    assert w.inputs["s0/a_index"] == w.inputs["s1/a_index"] == ALICE  # accesses 0 and 2
    before = list(w.inputs["mem.2.before"])
    before[1] += 1
    bad = {**w.inputs, "mem.2.before": before}
    assert _fails(circuit2, bad, "account_memory") == "account_memory/chain/before"


def test_a_new_account_opens_only_at_next_account(state, circuit1):
    """A deposit that opens an account elsewhere than next_account (3) is not a creation: the
    memory then wants a preimage of the empty leaf and fails at the account's unit."""
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[2])), 0x1002, 500)
    w = _honest(circuit1, state, [dep], SHAPE1)
    assert w.inputs["s0/a_index"] == 3 and w.post.next_account == 4
    record, _ = decode_record(w.pubdata)
    words = list(slot_words(encode_record(dataclasses.replace(record, account=5))))
    bad = {**w.inputs, "s0/a_index": 5, "s0/pubdata": words}
    assert _fails(circuit1, bad, "account_memory").startswith("account_memory/")


def test_more_distinct_accounts_than_units_is_refused_by_the_witness(state):
    """Two slots touching three accounts (a trade, a new account's deposit) do not fit a shape
    with two account units: the witness names the problem instead of a failing gate."""
    dep = Deposit(bj.pack_point(eddsa.prv2pub(KEYS[2])), 0x1002, 500)
    tight = BatchShape(n_slots=2, account_depth=AD, order_depth=OD, n_markets=2, n_units=2)
    with pytest.raises(CircuitError, match="3 distinct accounts for 2 units"):
        batch_inputs(tight, state, [the_trade(), dep], 7, T0 + 20)


SHAPE2_S2 = dataclasses.replace(SHAPE2, n_signatures=2)


@pytest.fixture(scope="module")
def circuit2_s2():
    return build_batch_circuit(SHAPE2_S2).circuit


def test_an_order_filled_twice_is_verified_once(state, circuit2_s2):
    """Two fills of the same two orders make four requests but two distinct signed messages:
    a shape with two signature units proves them (two EdDSA units a slot would need four)."""
    second = Trade(buy(), sell(), 3, 100 * P + 12345, 1, 1)
    w = _honest(circuit2_s2, state, [the_trade(), second], SHAPE2_S2)
    # the second fill's signatures are not needed: the first fill's, verified, cover the message
    forged = Trade(buy(key=2), sell(), 7, 100 * P + 12345, 3, 2).taker.signature
    circuit2_s2.check({**w.inputs, "s1/a_sig": [forged.r8[0], forged.r8[1], forged.s]})


def test_a_fill_with_other_order_terms_is_another_message(state, circuit2):
    """A second fill whose order fields differ from the signed order (a later expiry) requests
    another message: its unit verifies it with the slot's signature of the real order, and
    fails."""
    second = Trade(buy(), sell(), 3, 100 * P + 12345, 1, 1)
    w = _honest(circuit2, state, [the_trade(), second], SHAPE2)
    bad = {**w.inputs, "s1/b_expiry": T0 + 2000}
    assert _fails(circuit2, bad, "signatures/") == "signatures/unit2/eddsa/check"


def test_more_distinct_signed_messages_than_units_is_refused(state):
    """A third distinct order does not fit two signature units: refused by name."""
    other = Trade(buy(size=3, oid=9), sell(), 3, 100 * P + 12345, 1, 1)
    with pytest.raises(CircuitError, match="3 distinct signed messages for 2 signature units"):
        batch_inputs(SHAPE2_S2, state, [the_trade(), other], 7, T0 + 20)
