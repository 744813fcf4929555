"""rollup.sequencer on a database, with real EdDSA-Poseidon signatures: every rejection reason
that can reach it leaves the root, the book and the database unchanged; batches (roots, shapes,
padding, pubdata, L1 ranges, timestamps) and their rebuild from pubdata; recovery.

Orders are signed once per test session (``signed``: signing costs milliseconds)."""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import replace

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup import errors, pubdata
from rollup.batch import L1Request
from rollup.orderbook import (
    CancelOrder,
    OrderNotFoundError,
    PlaceOrder,
    PostOnlyCrossError,
    TimeInForce,
    sign_cancel,
)
from rollup.requests_json import MalformedRequestError, dumps, request_to_json
from rollup.sequencer import L1QueueError, Sequencer, SequencerConfig
from rollup.storage import StorageError
from rollup.types import (
    DEMO_INSURANCE_KEY,
    PRICE_SCALE,
    Deleverage,
    Deposit,
    ExchangeConfig,
    ForcedWithdrawal,
    FundingTick,
    Genesis,
    Liquidate,
    MarketParams,
    NoopRecord,
    OraclePriceTick,
    Order,
    Side,
    SignedOrder,
    Transfer,
    Withdrawal,
    sign_oracle_price,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

P = PRICE_SCALE
X = 3
T0 = 1_700_000_000
# KEYS[0]: the insurance account 0 (genesis, the development key), funded like the others
KEYS = [DEMO_INSURANCE_KEY] + [bytes([i + 1]) * 32 for i in range(1, 5)]
ORACLE_KEYS = [bytes([0x40 + i]) * 32 for i in range(3)]
ADDR = [0x1000 + i for i in range(5)]
DEPOSIT = 100_000
BUY, SELL = Side.BUY, Side.SELL
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)


@functools.cache
def pubkey(i: int) -> bytes:
    return bj.pack_point(eddsa.prv2pub(KEYS[i]))


@functools.cache
def genesis() -> Genesis:
    config = ExchangeConfig(
        exchange_id=X,
        markets=MARKETS,
        oracle_keys=tuple(eddsa.prv2pub(k) for k in ORACLE_KEYS),
        oracle_quorum=2,
        oracle_validity=60,
        account_depth=4,
        order_depth=2,
    )
    return Genesis(config, (100 * P, 10 * P), T0, insurance_l1_address=ADDR[0])


@functools.cache
def signed(account, side, size, price, oid, *, market=0, max_fee=100, expiry=T0 + 1000, key=None):
    o = Order(account, market, side, size, price * P, max_fee, expiry, oid)
    return sign_order(KEYS[account] if key is None else KEYS[key], o, X)


def place(account, side, size, price, oid, tif=TimeInForce.GTC, **kw) -> PlaceOrder:
    return PlaceOrder(signed(account, side, size, price, oid, **kw), tif)


@functools.cache
def oracle_tick(market, price, ts, signers=(0, 1), prices=None, stamps=None):
    prices = prices or (price,) * len(signers)
    stamps = stamps or (ts,) * len(signers)
    sigs = tuple(
        sign_oracle_price(ORACLE_KEYS[o], o, market, p * P, t, X)
        for o, p, t in zip(signers, prices, stamps)
    )
    return OraclePriceTick(market, ts, price * P, sigs)


def deposit(q: int, i: int, amount: int = DEPOSIT) -> L1Request:
    return L1Request(q, Deposit(pubkey(i), ADDR[i], amount))


def funded(path, *, shapes=(8,), accounts=4, **kw) -> Sequencer:
    seq = Sequencer.create(path, genesis(), SequencerConfig(shapes=shapes, **kw))
    for i in range(accounts):
        seq.submit(deposit(i, i), T0 + 1)
    return seq


@pytest.fixture
def seq(tmp_path):
    s = funded(tmp_path / "seq.db")
    yield s
    s.close()


def fingerprint(s: Sequencer):
    return (
        s.root,
        s.storage.fingerprint(),
        [(e.seq, e.remaining, e.order) for e in s.book.resting()],
        s.book.slot_ids(),
        s.next_seq,
        s.next_l1,
        s.now,
        s.open_transactions,
        s.batch_number,
    )


def rejected(s: Sequencer, request, exc, now=T0 + 10):
    before = fingerprint(s)
    with pytest.raises(exc) as info:
        if isinstance(request, (str, bytes)):
            s.submit_json(request, now)
        else:
            s.submit(request, now)
    assert info.value.code == exc.code and str(info.value)
    assert isinstance(info.value, errors.RollupError)
    assert fingerprint(s) == before
    return info.value


# --- every rejection reason: nothing changes -------------------------------------------------


def test_bad_signatures(seq):
    seq.submit(place(1, SELL, 10, 100, 1), T0 + 10)
    rejected(seq, place(0, BUY, 10, 100, 1, key=1), errors.BadSignatureError)  # another key
    good = signed(0, BUY, 10, 100, 1)
    forged = SignedOrder(replace(good.order, limit_price=200 * P), good.signature)
    rejected(seq, PlaceOrder(forged), errors.BadSignatureError)  # changed after signing
    rejected(seq, sign_withdrawal(KEYS[1], 0, 10, 0, 0, X), errors.BadSignatureError)
    rejected(seq, sign_transfer(KEYS[1], 0, 2, 10, 0, 0, X), errors.BadSignatureError)
    rejected(seq, sign_cancel(KEYS[0], 1, 1, X), errors.BadSignatureError)  # not its owner
    rejected(seq, sign_cancel(KEYS[1], 1, 1, X + 1), errors.BadSignatureError)  # other exchange
    stranger = sign_oracle_price(KEYS[0], 1, 0, 100 * P, T0 + 10, X)
    tick = oracle_tick(0, 100, T0 + 10)
    rejected(
        seq, replace(tick, signatures=(tick.signatures[0], stranger)), errors.BadSignatureError
    )
    seq.submit(sign_cancel(KEYS[1], 1, 1, X), T0 + 10)  # the owner can
    assert len(seq.book) == 0


def test_replayed_orders(seq):
    seq.submit(place(1, SELL, 10, 100, 1), T0 + 10)
    rejected(seq, place(1, SELL, 10, 100, 1), errors.OrderReplayedError)  # resting
    seq.submit(place(0, BUY, 10, 100, 1), T0 + 10)
    rejected(seq, place(1, SELL, 10, 100, 1), errors.OrderReplayedError)  # filled
    rejected(seq, place(0, BUY, 10, 100, 1), errors.OrderReplayedError)
    seq.submit(place(2, SELL, 10, 105, 2), T0 + 10)
    seq.submit(sign_cancel(KEYS[2], 2, 2, X), T0 + 10)
    rejected(seq, place(2, SELL, 10, 105, 2), errors.OrderReplayedError)  # cancelled
    rejected(seq, sign_cancel(KEYS[2], 2, 2, X), OrderNotFoundError)
    seq.submit(place(3, BUY, 10, 90, 18), T0 + 10)  # slot 2 of account 3
    rejected(seq, place(3, BUY, 10, 90, 2), errors.OrderReplayedError)  # an older id, slot 2


def test_expired_order(seq):
    rejected(seq, place(0, BUY, 10, 100, 1, expiry=T0 + 9), errors.OrderExpiredError)
    seq.submit(place(0, BUY, 10, 100, 1, expiry=T0 + 10), T0 + 10)  # up to its expiry


def test_price_outside_limits_and_margin_and_post_only(seq):
    rejected(seq, place(0, BUY, 10, 10**4 + 1, 1), errors.PriceOutsideLimitError)
    rejected(seq, place(0, BUY, 20_000, 100, 1), errors.InsufficientMarginError)  # 2,000,000
    seq.submit(place(1, SELL, 10, 100, 1), T0 + 10)
    err = rejected(seq, place(0, BUY, 10, 100, 1, TimeInForce.POST_ONLY), PostOnlyCrossError)
    assert err.code == "post_only_would_cross"


def test_withdrawal_beyond_free_collateral(seq):
    seq.submit(place(1, SELL, 500, 100, 1), T0 + 10)
    seq.submit(place(0, BUY, 500, 100, 1), T0 + 10)
    # account 0: about 50,000 of collateral, long 500 at 100: TV about 100,000, TRi 5,000
    tv, _, tri = seq.state.value_and_risk(0)
    free = (tv * 10**6 - tri) // (P * 10**6)
    assert 94_000 < free < 95_001
    rejected(seq, sign_withdrawal(KEYS[0], 0, free + 1, 0, 0, X),
             errors.InsufficientCollateralError)  # fmt: skip
    rejected(seq, sign_transfer(KEYS[0], 0, 2, free + 1, 0, 0, X),
             errors.InsufficientCollateralError)  # fmt: skip
    rejected(seq, sign_withdrawal(KEYS[0], 0, 10, 0, 1, X), errors.BadNonceError)
    seq.submit(sign_withdrawal(KEYS[0], 0, free, 0, 0, X), T0 + 10)
    rejected(seq, sign_withdrawal(KEYS[0], 0, free, 0, 0, X), errors.BadNonceError)  # replay


@pytest.fixture
def leveraged(seq):
    """Account 0 long 900 at 100 with 100,000 (10% initial margin: 90,000 of position value
    per 9,000 of margin), account 1 short; then the oracle falls to 90."""
    seq.submit(place(1, SELL, 9_000, 100, 1), T0 + 10)
    seq.submit(place(0, BUY, 9_000, 100, 1), T0 + 10)
    return seq


def test_liquidation_rejections_and_success(leveraged):
    s = leveraged
    liq = signed(2, BUY, 1000, 95, 3)
    healthy = Liquidate(liq, 0, 500, 89 * P, 0, 0)
    rejected(s, healthy, errors.AccountNotLiquidatableError, now=T0 + 20)
    s.submit(oracle_tick(0, 90, T0 + 20), T0 + 20)  # TV 10,000, TR 40,500: liquidatable
    rejected(s, Liquidate(liq, 0, 1001, 89 * P, 0, 0), errors.OrderOverfilledError, T0 + 20)
    rejected(s, Liquidate(liq, 0, 500, 96 * P, 0, 0), errors.PriceOutsideLimitError, T0 + 20)
    rejected(s, Liquidate(liq, 0, 500, 85 * P, 0, 0), errors.PriceOutsideLimitError, T0 + 20)
    rejected(s, Liquidate(liq, 0, 500, 89 * P, 0, 0), errors.OrderExpiredError, T0 + 1001)
    forged = SignedOrder(replace(liq.order, limit_price=200 * P), liq.signature)
    rejected(s, Liquidate(forged, 0, 500, 89 * P, 0, 0), errors.BadSignatureError, T0 + 20)
    out = s.submit(Liquidate(liq, 0, 500, 89 * P, 0, 445), T0 + 20)
    assert out.status == "applied" and s.state.account(0).positions[0] == 8_500
    # the liquidator's order id is spent
    rejected(s, Liquidate(liq, 0, 100, 89 * P, 0, 0), errors.OrderReplayedError, T0 + 20)


def test_oracle_rejections(seq):
    ts = T0 + 10
    rejected(seq, oracle_tick(0, 110, ts, signers=(1,)), errors.OracleQuorumError)
    rejected(seq, oracle_tick(0, 110, ts, stamps=(ts, ts - 61)), errors.OracleStaleError)
    rejected(seq, oracle_tick(0, 110, ts, signers=(1, 0)), errors.OracleSignersError)
    rejected(seq, oracle_tick(0, 121, ts, signers=(0, 1, 2), prices=(100, 110, 120)),
             errors.OracleMedianError)  # fmt: skip
    rejected(seq, oracle_tick(0, 110, ts + 1), errors.TimestampError)  # in the future
    rejected(seq, oracle_tick(0, 110, T0), errors.TimestampError)  # not newer than genesis
    seq.submit(oracle_tick(0, 110, ts), ts)
    rejected(seq, oracle_tick(0, 110, ts), errors.TimestampError)  # the same tick again
    rejected(seq, oracle_tick(5, 110, ts), errors.UnknownMarketError)


def test_funding_rejections(seq):
    rejected(seq, FundingTick(T0 + 10, (10 * P, 0)), errors.FundingTooLargeError)
    rejected(seq, FundingTick(T0 + 11, (0, 0)), errors.TimestampError)
    rejected(seq, FundingTick(T0 + 10, (0,)), errors.MalformedTransactionError)
    seq.submit(FundingTick(T0 + 10, (P, 0)), T0 + 10)
    rejected(seq, FundingTick(T0 + 10, (P, 0)), errors.TimestampError)  # not after the last


def test_amounts_out_of_bounds(seq):
    rejected(seq, deposit(4, 4, 0), errors.OutOfBoundsError)
    rejected(seq, deposit(4, 4, 1 << 63), errors.OutOfBoundsError)
    rejected(seq, L1Request(4, ForcedWithdrawal(0, 1 << 160, 1)), errors.OutOfBoundsError)
    sig = signed(0, BUY, 1, 100, 1).signature
    rejected(seq, Withdrawal(0, 1 << 63, 0, 0, sig), errors.OutOfBoundsError)
    rejected(seq, Transfer(0, 1, 0, 0, 0, sig), errors.OutOfBoundsError)
    big = SignedOrder(Order(0, 0, BUY, 1 << 48, 100 * P, 0, T0 + 99, 1), sig)
    rejected(seq, PlaceOrder(big), errors.OutOfBoundsError)
    rejected(seq, L1Request(-1, Deposit(pubkey(4), 1, 1)), errors.OutOfBoundsError)


def test_l1_queue_order(seq):
    rejected(seq, deposit(3, 3), L1QueueError)  # already included
    rejected(seq, deposit(5, 4), L1QueueError)  # skips 4
    out = seq.submit(deposit(4, 4), T0 + 10)
    assert out.status == "applied" and seq.state.account(4).collateral == DEPOSIT


def test_time_cannot_go_back(seq):
    seq.submit(place(0, BUY, 10, 100, 1), T0 + 20)
    rejected(seq, place(0, BUY, 10, 100, 2), errors.TimestampError, now=T0 + 19)
    rejected(seq, place(0, BUY, 10, 100, 2), errors.OutOfBoundsError, now=1 << 32)


@pytest.mark.parametrize(
    "text, why",
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"type": "order"}', "missing field"),
        ('{"type": "teleport"}', "type must be"),
        ('{"type": "withdrawal", "account": 0, "amount": 1.5, "fee": 0, "nonce": 0,'
         ' "signature": {"r8": ["0", "1"], "s": "0"}}', "integer"),
        ('{"type": "withdrawal", "account": true, "amount": 1, "fee": 0, "nonce": 0,'
         ' "signature": {"r8": ["0", "1"], "s": "0"}}', "integer"),
        ('{"type": "withdrawal", "account": 0, "amount": 1, "fee": 0, "nonce": 0,'
         ' "signature": {"r8": ["0"], "s": "0"}}', "r8"),
        ('{"type": "withdrawal", "account": 0, "amount": 1, "fee": 0, "nonce": 0, "x": 1,'
         ' "signature": {"r8": ["0", "1"], "s": "0"}}', "unknown field"),
        ('{"type": "deposit", "queue_index": 4, "pubkey": "0x12", "l1_address": 1,'
         ' "amount": 1}', "64 hex"),
        (b"\xff\xfe", "not valid JSON"),
        ("[" * 100_000, "at most"),
    ],
)  # fmt: skip
def test_malformed_json(seq, text, why):
    err = rejected(seq, text, MalformedRequestError)
    assert why in str(err)


def test_a_valid_json_request_is_accepted(seq):
    text = dumps(request_to_json(place(0, BUY, 10, 100, 1)))
    out = seq.submit_json(text, T0 + 10)
    assert out.status == "resting" and seq.book.get(0, 1).remaining == 10


# --- batches ----------------------------------------------------------------------------------


def test_batches_chain_pad_and_rebuild(tmp_path):
    s = funded(tmp_path / "b.db", shapes=(4, 8), accounts=5)  # 5 deposits: one batch later
    genesis_root = Sequencer(genesis()).root
    s.submit(place(1, SELL, 30, 100, 1), T0 + 10)
    s.submit(place(2, SELL, 30, 101, 1), T0 + 10)
    for k in range(4):  # 4 takers, one trade each except the last
        s.submit(place(0, BUY, 10 + 10 * (k == 3), 101, k + 1), T0 + 10 + k)
    s.submit(L1Request(5, ForcedWithdrawal(3, ADDR[3], 1_000)), T0 + 20)
    s.submit(L1Request(6, ForcedWithdrawal(3, ADDR[0], 1_000)), T0 + 20)  # refused
    s.submit(
        L1Request(7, Deposit(bj.pack_point(bj.mul(bj.GENERATOR, bj.SUBORDER)), 1, 5)), T0 + 20
    )  # refused
    assert s.cut(T0 + 30) is not None
    assert s.cut(T0 + 30) is None  # nothing left to cut
    batches = [s.batch(n) for n in range(s.batch_number)]
    assert [(b.n_txs, b.size) for b in batches] == [(8, 8), (4, 4)]
    assert batches[0].pre_root == genesis_root
    for a, b in zip(batches, batches[1:]):
        assert b.pre_root == a.post_root and b.number == a.number + 1
        assert b.timestamp >= a.timestamp and b.l1_queue[0] == a.l1_queue[1]
    assert batches[-1].post_root == s.root
    assert [b.l1_queue for b in batches] == [(0, 5), (5, 8)]
    last = batches[-1]
    assert last.records[-1] == pubdata.decode_records(last.pubdata)[-1]
    assert [type(r).__name__ for r in last.records] == [
        "TradeRecord", "ForcedWithdrawalRecord", "ForcedWithdrawalRecord", "DepositRecord"
    ]  # fmt: skip
    assert [r.executed for r in last.records[1:]] == [True, False, False]
    for b in batches:
        assert b.pubdata == pubdata.encode_records(b.records)
        assert b.size in (4, 8) and all(isinstance(r, NoopRecord) for r in b.records[b.n_txs :])
    for k in range(len(batches)):  # the state rebuilt from pubdata alone, batch by batch
        rebuilt = pubdata.rebuild(genesis(), [b.pubdata for b in batches[: k + 1]])
        assert rebuilt.root == batches[k].post_root
        assert rebuilt.pending_insurance == 0  # each cut ends with end_batch
    # the post-root includes end_batch: the fees reached account 0, nothing is pending
    assert s.state.pending_insurance == 0
    assert s.state.account(0).collateral * P + s.state.insurance_dust == (
        rebuilt.account(0).collateral * P + rebuilt.insurance_dust
    )
    s.close()


def test_padding_to_the_smallest_shape_and_no_padding(tmp_path):
    s = funded(tmp_path / "p.db", shapes=(2, 4, 16), accounts=3)
    b = s.cut(T0 + 2)
    assert (b.n_txs, b.size) == (3, 4) and isinstance(b.records[3], NoopRecord)
    s.close()
    s = funded(tmp_path / "n.db", shapes=(16,), accounts=2, pad=False)
    s.submit(FundingTick(T0 + 2, (0, 0)), T0 + 2)
    b = s.cut(T0 + 2)
    assert (b.n_txs, b.size) == (3, 3)  # 2 accounts: default_units(3) = 2
    s.close()
    s = funded(tmp_path / "u.db", shapes=(16,), accounts=3, pad=False)
    b = s.cut(T0 + 2)
    assert (b.n_txs, b.size) == (3, 4)  # 3 accounts need 4 slots' units: one NoOp
    assert isinstance(b.records[3], NoopRecord)
    s.close()


def test_a_takers_fills_can_span_two_batches(tmp_path):
    # 4 deposits, 4 accounts: batch 0 holds 3 (default_units(4) = 3), the 4th opens batch 1
    s = funded(tmp_path / "span.db", shapes=(4,), snapshot_every=1)
    assert s.batch_number == 1 and s.batch(0).n_txs == 3
    s.submit(oracle_tick(0, 100, T0 + 5), T0 + 5)
    s.submit(FundingTick(T0 + 5, (0, 0)), T0 + 5)
    for i in (1, 2, 3):
        s.submit(place(i, SELL, 10, 100, 1), T0 + 6)
    out = s.submit(place(0, BUY, 30, 100, 1), T0 + 7)
    assert len(out.receipts) == 3 and out.batches == (1,)
    assert s.batch(1).n_txs == 4 and len(s.open_transactions) == 2  # 1 trade in, 2 spilled
    root, book = s.root, [(e.seq, e.remaining) for e in s.book.resting()]
    s.close()
    again = Sequencer.open(tmp_path / "span.db")  # the snapshot holds the spilled trades
    assert again.root == root and len(again.open_transactions) == 2
    assert [(e.seq, e.remaining) for e in again.book.resting()] == book
    again.close()


def test_batch_timestamp_window(tmp_path):
    s = funded(tmp_path / "w.db")
    s.submit(place(1, SELL, 10, 100, 1, expiry=T0 + 20), T0 + 15)
    s.submit(place(0, BUY, 10, 100, 1), T0 + 15)  # a trade needing timestamp <= T0 + 20
    s.submit(FundingTick(T0 + 30, (0, 0)), T0 + 30)  # needs timestamp >= T0 + 30: cut first
    b0 = s.batch(0)
    assert b0.timestamp == T0 + 20 and b0.n_txs == 5
    b1 = s.cut(T0 + 40)
    assert b1.timestamp == T0 + 40 and b1.n_txs == 1
    s.close()


def test_batch_age_cut(tmp_path):
    s = funded(tmp_path / "age.db", max_batch_age=10)  # deposits at T0 + 1
    assert s.tick(T0 + 10) is None
    s.submit(place(0, BUY, 10, 100, 1), T0 + 11)  # the batch is cut before this request
    assert s.batch_number == 1 and s.batch(0).timestamp == T0 + 11
    s.submit(deposit(4, 4), T0 + 12)
    assert s.tick(T0 + 21) is None
    b = s.tick(T0 + 22)
    assert b is not None and b.number == 1 and b.n_txs == 1
    s.close()


# --- recovery, snapshots, integrity -----------------------------------------------------------


def _script(s: Sequencer, t0: int) -> None:
    s.submit(place(1, SELL, 30, 100, 1), t0)
    s.submit(place(2, SELL, 30, 101, 1), t0)
    s.submit(place(0, BUY, 40, 101, 1), t0 + 1)
    s.submit(oracle_tick(0, 101, t0 + 2), t0 + 2)
    s.submit(sign_withdrawal(KEYS[3], 3, 500, 1, 0, X), t0 + 2)
    s.submit(place(3, BUY, 5, 99, 2, TimeInForce.POST_ONLY), t0 + 3)


@pytest.mark.parametrize("snapshot_every", [1, 3])
def test_reopen_gives_the_same_sequencer(tmp_path, snapshot_every):
    path = tmp_path / "r.db"
    s = funded(path, shapes=(3,), snapshot_every=snapshot_every)
    twin = Sequencer(genesis(), SequencerConfig(shapes=(3,)))
    for i in range(4):
        twin.submit(deposit(i, i), T0 + 1)
    _script(s, T0 + 10)
    _script(twin, T0 + 10)
    s.close()
    again = Sequencer.open(path)
    assert again.root == twin.root and again.status() == twin.status()
    assert [(e.seq, e.remaining) for e in again.book.resting()] == [
        (e.seq, e.remaining) for e in twin.book.resting()
    ]
    for r in (place(1, SELL, 10, 99, 2), sign_cancel(KEYS[2], 2, 1, X), deposit(4, 4)):
        assert again.submit(r, T0 + 20).to_json() == twin.submit(r, T0 + 20).to_json()
    assert again.root == twin.root
    again.close()


def test_a_bad_snapshot_falls_back_to_a_full_replay(tmp_path):
    path = tmp_path / "snap.db"
    s = funded(path, shapes=(3,))
    _script(s, T0 + 10)
    root = s.root
    s.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE snapshots SET body = ?", (b"garbage",))
    again = Sequencer.open(path)
    assert again.root == root
    again.close()


def test_a_tampered_request_log_is_detected(tmp_path):
    path = tmp_path / "t.db"
    s = funded(path, shapes=(64,))
    s.submit(place(0, BUY, 10, 100, 1), T0 + 10)
    s.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE requests SET outcome = replace(outcome, 'resting', 'filled')")
    with pytest.raises(StorageError, match="another outcome"):
        Sequencer.open(path)


def test_another_writer_is_refused_cleanly(tmp_path):
    path = tmp_path / "two.db"
    a = funded(path)
    b = Sequencer.open(path)
    a.submit(place(0, BUY, 10, 100, 1), T0 + 10)
    with pytest.raises(StorageError, match="changed under this sequencer"):
        b.submit(place(1, BUY, 10, 100, 1), T0 + 10)
    # b reloaded from the database: it now sees a's order and can go on
    assert b.book.get(0, 1) is not None and b.root == a.root
    b.submit(place(1, BUY, 10, 100, 1), T0 + 10)
    a.close()
    b.close()


def test_submit_many(tmp_path):
    s = funded(tmp_path / "many.db")
    results = s.submit_many(
        [place(1, SELL, 10, 100, 1), place(1, SELL, 10, 100, 1), place(0, BUY, 10, 100, 1)],
        T0 + 10,
    )
    assert results[0].status == "resting" and results[2].status == "filled"
    assert isinstance(results[1], errors.OrderReplayedError)
    assert [r.seq for r in (results[0], results[2])] == [5, 6]
    assert s.storage.last_seq() == 6
    s.close()


def test_status_and_account(leveraged):
    st = leveraged.status()
    assert st["accounts"] == 4 and st["requests"] == 6 and st["l1_queue_next"] == 4
    assert st["markets"][0]["open_interest"] == 9_000
    info = leveraged.account_info(leveraged.account_index("0x" + pubkey(0).hex()))
    assert info["index"] == 0 and info["positions"] == [9_000, 0]
    assert info["l1_address"] == f"0x{ADDR[0]:040x}" and not info["liquidatable"]
    assert leveraged.account_index("1") == 1
    with pytest.raises(errors.UnknownAccountError):
        leveraged.account_index(pubkey(4).hex())
    with pytest.raises(errors.MalformedTransactionError):
        leveraged.account_index("0xnothex")


def test_state_before_a_batch_is_rebuilt_from_pubdata(tmp_path):
    s = funded(tmp_path / "sb.db", shapes=(3,))
    _script(s, T0 + 10)
    s.cut(T0 + 20)
    for n in range(s.batch_number):
        assert s.state_before(n).root == s.batch(n).pre_root
    assert s.state_before(s.batch_number).root == s.root
    with pytest.raises(errors.OutOfBoundsError):
        s.state_before(s.batch_number + 1)
    s.close()


def test_state_before_a_batch_from_a_snapshot(tmp_path):
    """Storage.state_before_batch starts from a snapshot at a batch boundary when there is
    one (snapshot_every=1), else from the genesis; both give every batch's pre-root."""
    s = funded(tmp_path / "sn.db", shapes=(3,), snapshot_every=1)
    _script(s, T0 + 10)
    s.cut(T0 + 20)
    n = s.batch_number
    assert n >= 2 and s.storage.latest_snapshot() is not None
    for k in range(n + 1):
        st = s.storage.state_before_batch(k)
        assert st.root == (s.batch(k).pre_root if k < n else s.root)
        assert st.pending_insurance == 0
    with pytest.raises(StorageError):
        s.storage.state_before_batch(n + 1)
    s.close()


# --- requests as JSON -------------------------------------------------------------------------


def _all_requests():
    sig = signed(0, BUY, 10, 100, 1)
    return [
        place(0, BUY, 10, 100, 1, TimeInForce.IOC),
        sign_cancel(KEYS[1], 1, 7, X),
        sign_withdrawal(KEYS[0], 0, 10, 1, 0, X),
        sign_transfer(KEYS[0], 0, 1, 10, 1, 0, X),
        deposit(4, 4),
        L1Request(5, ForcedWithdrawal(2, ADDR[2], 99)),
        FundingTick(T0 + 5, (P, -P)),
        oracle_tick(1, 11, T0 + 5),
        Liquidate(sig, 3, 5, 99 * P, 1, 2),
        Deleverage(0, 1, 2, 5, 100 * P),
    ]


def test_every_request_round_trips_through_json():
    from rollup.requests_json import (
        REQUEST_SCHEMA,
        parse_request,
        schema_of,
        transaction_from_json,
        transaction_to_json,
    )

    kinds = set()
    for r in _all_requests():
        d = request_to_json(r)
        kinds.add(d["type"])
        assert parse_request(dumps(d)) == r
        variant = schema_of(d["type"])
        assert set(d) <= set(variant["properties"]) and set(variant["required"]) <= set(d)
        for field in variant["required"][1:]:  # the schema's required fields are required
            with pytest.raises(MalformedRequestError, match="missing field"):
                parse_request(dumps({k: v for k, v in d.items() if k != field}))
        with pytest.raises(MalformedRequestError, match="unknown field"):
            parse_request(dumps({**d, "extra": 1}))
        tx = r.tx if isinstance(r, L1Request) else r
        if not isinstance(r, PlaceOrder | CancelOrder):  # not transactions
            assert transaction_from_json(transaction_to_json(tx)) == tx
    assert kinds == {v["title"] for v in REQUEST_SCHEMA["oneOf"]}
    d = request_to_json(place(0, BUY, 10, 100, 1))
    d["order"] = {**d["order"], "size": "10", "side": 0}  # decimal strings and 0/1 sides too
    del d["time_in_force"]  # optional: GTC
    assert parse_request(dumps(d)) == place(0, BUY, 10, 100, 1)


def test_a_public_api_accepts_user_requests_only():
    from rollup.requests_json import USER_REQUEST_KINDS, parse_request

    for r in _all_requests():
        text = dumps(request_to_json(r))
        if request_to_json(r)["type"] in USER_REQUEST_KINDS:
            assert parse_request(text, USER_REQUEST_KINDS) == r
        else:
            with pytest.raises(MalformedRequestError, match="not accepted here"):
                parse_request(text, USER_REQUEST_KINDS)


def test_oracle_tick_with_three_signatures_takes_a_continuation_slot(tmp_path):
    """An oracle tick with 3 signatures takes 2 batch slots (rollup.batch.slots_needed: the
    circuit verifies 2 signatures a slot): its record, then a NoOp right after it; a batch
    with one free slot is cut before it; a shape too small for it rejects it unchanged."""
    s = funded(tmp_path / "a.db", shapes=(2,), accounts=1)  # batch 0 holds 1 deposit
    tick = oracle_tick(0, 101, T0 + 10, signers=(0, 1, 2))
    s.submit(tick, T0 + 10)
    assert s.batch_number == 2  # the deposit's batch was cut first, the tick filled the next
    b = s.batch(1)
    assert [type(r).__name__ for r in b.records] == ["OracleRecord", "NoopRecord"]
    assert b.transactions == (tick,) and b.size == 2
    assert pubdata.decode_records(b.pubdata) == list(b.records)
    s.close()
    small = funded(tmp_path / "b.db", shapes=(1,), accounts=1)
    before = fingerprint(small)
    with pytest.raises(errors.BatchCapacityError, match="2 batch slots"):
        small.submit(oracle_tick(0, 101, T0 + 10, signers=(0, 1, 2)), T0 + 10)
    assert fingerprint(small) == before
    small.close()
