"""rollup.orderbook: price-time priority, partial fills, GTC / IOC / post-only, cancels, fees,
and the orders cancelled at match time (expired, replaced, self-trade, no longer affordable).

The book runs on a real ``State`` (trades are applied and fully checked there); signatures
are not the subject here (tests/test_sequencer.py checks them with real EdDSA), so the state's
verifier accepts every signature."""

from __future__ import annotations

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup import errors
from rollup.orderbook import (
    CancelOrder,
    FeeSchedule,
    OrderBook,
    OrderNotFoundError,
    PlaceOrder,
    PostOnlyCrossError,
    TimeInForce,
    order_affordable,
)
from rollup.state import State
from rollup.types import (
    DEMO_INSURANCE_KEY,
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    Genesis,
    MarketParams,
    Order,
    Side,
    Signature,
    SignedOrder,
    sign_withdrawal,
)

P = PRICE_SCALE
T0 = 1_700_000_000
NOW = T0 + 10
SIG = Signature((0, 1), 0)
BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, POST = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)


class Trusting:
    def verify(self, pubkey, message, signature) -> bool:
        return True


@pytest.fixture(scope="module")
def funded():
    oracle = (eddsa.prv2pub(b"\x42" * 32),)
    config = ExchangeConfig(3, MARKETS, oracle, 1, 60, account_depth=4, order_depth=2)
    state = State(Genesis(config, (100 * P, 10 * P), T0), verifier=Trusting())
    for i in range(5):  # account 0 is the insurance account (genesis): funded like the others
        pub = eddsa.prv2pub(DEMO_INSURANCE_KEY if i == 0 else bytes([i + 1]) * 32)
        state.apply(Deposit(bj.pack_point(pub), 0x100 + i, 1_000_000))
    state.flush()
    return state


class Book:
    """An OrderBook on a snapshot of the funded state, with a request counter."""

    def __init__(self, state: State, fees: FeeSchedule | None = None) -> None:
        self.state = state
        self.book = OrderBook(2, state.config.order_depth, fees or FeeSchedule(0, 0))
        self.seq = 0

    def place(self, account, side, size, price, oid, tif=GTC, *, market=0, max_fee=1000,
              expiry=T0 + 100, now=NOW):  # fmt: skip
        o = Order(account, market, side, size, price * P, max_fee, expiry, oid)
        self.seq += 1
        apply = lambda tx: self.state.apply(tx, now)  # noqa: E731
        return self.book.place(self.state, PlaceOrder(SignedOrder(o, SIG), tif), now, self.seq,
                               apply)  # fmt: skip

    def fills(self, result):
        return [(t.maker.order.account, t.size, t.price // P) for t in result.trades]

    def snapshot(self):
        return (
            self.state.root,
            [(e.seq, e.remaining, e.order) for e in self.book.resting()],
            self.book.slot_ids(),
        )


@pytest.fixture
def b(funded):
    return Book(funded.snapshot())


def test_price_time_priority_at_the_makers_price(b):
    b.place(1, SELL, 10, 101, 1)
    b.place(2, SELL, 10, 100, 1)
    b.place(3, SELL, 10, 100, 1)  # same price as account 2's, later
    b.place(4, SELL, 10, 99, 1, market=1)  # another market
    assert b.book.best(0, SELL) == 100 * P and b.book.best(0, BUY) is None
    r = b.place(0, BUY, 25, 105, 1)
    assert b.fills(r) == [(2, 10, 100), (3, 10, 100), (1, 5, 101)]
    assert r.status == "filled" and r.filled == 25 and r.remaining == 0
    assert b.state.account(0).positions[0] == 25
    assert b.state.account(1).positions[0] == -5
    assert b.book.get(1, 1).remaining == 5 and b.book.get(2, 1) is None
    assert b.book.depth(0) == ([], [(101 * P, 5, 1)])
    assert b.book.depth(1) == ([], [(99 * P, 10, 1)])


def test_partial_fills_then_the_rest_rests(b):
    b.place(1, SELL, 100, 100, 1)
    r = b.place(0, BUY, 30, 100, 1)
    assert b.fills(r) == [(1, 30, 100)] and r.status == "filled"
    assert b.book.get(1, 1).remaining == 70
    assert b.state.filled(1, 1) == 30
    r = b.place(2, BUY, 80, 100, 1)
    assert b.fills(r) == [(1, 70, 100)]
    assert r.status == "resting" and r.remaining == 10
    assert b.book.get(1, 1) is None and b.book.get(2, 1).remaining == 10
    assert b.book.depth(0) == ([(100 * P, 10, 1)], [])


def test_limit_prices_are_respected(b):
    b.place(1, SELL, 10, 101, 1)
    r = b.place(0, BUY, 10, 100, 1)  # does not reach 101
    assert r.trades == () and r.status == "resting"
    r = b.place(2, SELL, 5, 100, 1)  # meets the bid at 100
    assert b.fills(r) == [(0, 5, 100)]
    r = b.place(3, SELL, 50, 90, 1)  # takes the bid at its price, 100, then rests at 90
    assert b.fills(r) == [(0, 5, 100)] and r.status == "resting" and r.remaining == 45
    assert b.book.best(0, SELL) == 90 * P


def test_ioc_remainder_is_cancelled(b):
    b.place(1, SELL, 10, 100, 1)
    r = b.place(0, BUY, 25, 100, 1, IOC)
    assert b.fills(r) == [(1, 10, 100)]
    assert r.status == "cancelled" and r.filled == 10 and r.remaining == 0
    assert [(c.account, c.order_id, c.remaining, c.code) for c in r.cancelled] == [
        (0, 1, 15, "ioc")
    ]
    assert len(b.book) == 0
    r = b.place(0, BUY, 5, 100, 2, IOC)  # nothing to take: cancelled whole
    assert r.status == "cancelled" and r.trades == () and len(b.book) == 0


def test_post_only_rests_or_is_rejected_when_it_would_cross(b):
    b.place(1, SELL, 10, 100, 1)
    before = b.snapshot()
    with pytest.raises(PostOnlyCrossError) as info:
        b.place(0, BUY, 10, 100, 1, POST)  # would take the ask at 100
    assert info.value.code == "post_only_would_cross"
    assert b.snapshot() == before
    r = b.place(0, BUY, 10, 99, 1, POST)
    assert r.status == "resting" and r.trades == ()
    r = b.place(2, SELL, 10, 100, 1, POST)  # joins the ask, crosses nothing
    assert r.status == "resting"
    assert b.book.depth(0) == ([(99 * P, 10, 1)], [(100 * P, 20, 2)])


def test_post_only_ignores_expired_orders_when_checking_the_cross(b):
    b.place(1, SELL, 10, 100, 1, expiry=NOW + 1)
    r = b.place(0, BUY, 10, 100, 1, POST, now=NOW + 2)
    assert r.status == "resting"


def test_cancel(b):
    b.place(1, SELL, 10, 100, 1)
    c = b.book.cancel(b.state, CancelOrder(1, 1, SIG))
    assert (c.account, c.order_id, c.remaining, c.code) == (1, 1, 10, "cancelled")
    assert len(b.book) == 0 and b.book.best(0, SELL) is None
    before = b.snapshot()
    with pytest.raises(OrderNotFoundError):
        b.book.cancel(b.state, CancelOrder(1, 1, SIG))
    with pytest.raises(errors.UnknownAccountError):
        b.book.cancel(b.state, CancelOrder(9, 1, SIG))
    with pytest.raises(errors.OutOfBoundsError):
        b.book.cancel(b.state, CancelOrder(1, 1 << 32, SIG))
    assert b.snapshot() == before
    # a cancelled id is spent: it cannot be placed again
    with pytest.raises(errors.OrderReplayedError):
        b.place(1, SELL, 10, 100, 1)


def test_cancelled_order_in_the_middle_of_a_level(b):
    for account in (1, 2, 3):
        b.place(account, SELL, 10, 100, 1)
    b.book.cancel(b.state, CancelOrder(2, 1, SIG))
    assert b.book.depth(0) == ([], [(100 * P, 20, 2)])
    r = b.place(0, BUY, 20, 100, 1)
    assert b.fills(r) == [(1, 10, 100), (3, 10, 100)]


def test_expired_maker_is_cancelled_at_match_time(b):
    b.place(1, SELL, 10, 100, 1, expiry=NOW + 5)
    b.place(2, SELL, 10, 101, 1)
    r = b.place(0, BUY, 10, 101, 1, now=NOW + 6)
    assert b.fills(r) == [(2, 10, 101)]
    assert [(c.account, c.code) for c in r.cancelled] == [(1, "expired")]
    assert len(b.book) == 0


def test_self_trade_cancels_the_resting_order(b):
    b.place(0, SELL, 10, 100, 1)
    b.place(1, SELL, 10, 100, 1)
    r = b.place(0, BUY, 10, 100, 2)
    assert b.fills(r) == [(1, 10, 100)]
    assert [(c.account, c.order_id, c.code) for c in r.cancelled] == [(0, 1, "self_trade")]


def test_a_new_order_replaces_the_older_one_in_its_slot(b):
    # order_depth 2 (4-ary): 16 slots, ids 1 and 17 share slot 1
    b.place(1, SELL, 10, 100, 1)
    r = b.place(1, SELL, 7, 102, 17)
    assert [(c.order_id, c.code) for c in r.cancelled] == [(1, "replaced")]
    assert b.book.get(1, 1) is None and b.book.get(1, 17).remaining == 7
    assert b.book.last_id(1, 1) == 17
    before = b.snapshot()
    for oid in (17, 1, 3):  # 17 and 1 are spent in slot 1; 3 is a fresh slot
        if oid == 3:
            assert b.place(1, SELL, 1, 103, oid).status == "resting"
            continue
        with pytest.raises(errors.OrderReplayedError):
            b.place(1, SELL, 1, 103, oid)
        assert b.snapshot() == before


def test_the_state_refuses_an_order_whose_slot_moved_on(b):
    # the state's slot holds a later id (filled by a liquidation, say): the book's intake
    # asks the state as well
    b.place(1, SELL, 10, 100, 33)  # id 33, slot 1 of account 1
    b.place(0, BUY, 1, 100, 1)  # fills order 33: the state's slot 1 now holds id 33
    book = OrderBook(2, b.state.config.order_depth)  # a book that never saw order 33
    o = Order(1, 0, SELL, 10, 100 * P, 0, T0 + 100, 17)  # slot 1, below 33
    with pytest.raises(errors.OrderReplayedError):
        book.place(b.state, PlaceOrder(SignedOrder(o, SIG)), NOW, 1, b.state.apply)


def test_unaffordable_maker_is_cancelled_at_match_time(b):
    # account 1 rests a sell it can afford, then withdraws most of its collateral
    b.place(1, SELL, 8_000, 100, 1)  # needs 10% of 800,000 = 80,000 of initial margin
    b.place(2, SELL, 10, 101, 1)
    b.state.apply(sign_withdrawal(b"\x02" * 32, 1, 990_000, 0, 0, 3), NOW)
    r = b.place(0, BUY, 8_010, 101, 1)
    assert [(c.account, c.order_id, c.code) for c in r.cancelled] == [(1, 1, "insufficient_margin")]
    assert b.fills(r) == [(2, 10, 101)]  # the taker went on to the next order
    assert r.status == "resting" and r.remaining == 8_000
    assert b.book.get(1, 1) is None
    assert b.state.account(1).positions[0] == 0


def test_taker_stops_when_its_own_side_fails(b):
    # the taker passed intake, but can no longer afford the second fill (its collateral left
    # in between): its remainder is cancelled, not rested; the maker stays
    b.place(1, SELL, 10, 100, 1)
    b.place(2, SELL, 10, 100, 1)

    def apply(tx):
        receipt = b.state.apply(tx, NOW)
        if tx.maker.order.account == 1:  # TV 1,000,000 - 999,880 = 120, TRi 100 after it
            b.state.apply(sign_withdrawal(b"\x01" * 32, 0, 999_880, 0, 0, 3), NOW)
        return receipt

    o = Order(0, 0, BUY, 20, 100 * P, 0, T0 + 100, 1)
    r = b.book.place(b.state, PlaceOrder(SignedOrder(o, SIG)), NOW, 99, apply)
    assert b.fills(r) == [(1, 10, 100)]
    assert r.status == "cancelled" and r.filled == 10
    assert [(c.account, c.remaining, c.code) for c in r.cancelled] == [
        (0, 10, "insufficient_margin")
    ]
    assert b.book.get(2, 1).remaining == 10 and b.book.get(0, 1) is None


def test_a_failure_neither_side_explains_stops_both(b):
    b.place(1, SELL, 10, 100, 1)
    o = Order(0, 0, BUY, 10, 100 * P, 0, T0 + 100, 1)

    def apply(tx):
        raise errors.PositionLimitError("refused")

    r = b.book.place(b.state, PlaceOrder(SignedOrder(o, SIG)), NOW, 99, apply)
    assert r.trades == () and r.status == "cancelled"
    assert [(c.account, c.code) for c in r.cancelled] == [
        (1, "position_limit"),
        (0, "position_limit"),
    ]
    assert len(b.book) == 0


def test_fees_follow_the_schedule_capped_by_max_fee(funded):
    b = Book(funded.snapshot(), FeeSchedule(maker_ppm=1_000, taker_ppm=5_000))
    b.place(1, SELL, 100, 100, 1, max_fee=20)  # cap: 20 for 100, pro rata
    r = b.place(0, BUY, 50, 100, 1, max_fee=10**4)
    t = r.trades[0]
    # notional 50 * 100 = 5,000 quanta: taker 0.5% = 25; maker 0.1% = 5, capped at 20 * 50/100
    assert (t.taker_fee, t.maker_fee) == (25, 5)
    b2 = Book(funded.snapshot(), FeeSchedule(maker_ppm=10_000, taker_ppm=5_000))
    b2.place(1, SELL, 100, 100, 1, max_fee=20)
    t = b2.place(0, BUY, 50, 100, 1, max_fee=7).trades[0]
    assert (t.taker_fee, t.maker_fee) == (7, 10)  # both capped: 7 * 50/50, 20 * 50/100
    assert b2.state.pending_insurance == 17 * P


@pytest.mark.parametrize(
    "change, exc",
    [
        ({"expiry": NOW - 1}, errors.OrderExpiredError),
        ({"price": 10**4 + 1}, errors.PriceOutsideLimitError),  # above the market maximum
        ({"size": 200_000}, errors.InsufficientMarginError),  # 20,000,000 notional
        ({"size": 2 * 10**6}, errors.InsufficientMarginError),  # beyond the position limit
        ({"market": 2}, errors.UnknownMarketError),
        ({"account": 9}, errors.UnknownAccountError),
        ({"size": 0}, errors.OutOfBoundsError),
        ({"size": 1 << 48}, errors.OutOfBoundsError),
        ({"oid": -1}, errors.OutOfBoundsError),
        ({"max_fee": -1}, errors.OutOfBoundsError),
        ({"side": 2}, errors.MalformedTransactionError),
        ({"side": True}, errors.MalformedTransactionError),
        ({"size": 1.5}, errors.MalformedTransactionError),
    ],
)
def test_intake_rejections_change_nothing(b, change, exc):
    b.place(1, SELL, 10, 100, 1)
    before = b.snapshot()
    kw = {"account": 0, "side": BUY, "size": 10, "price": 100, "oid": 1, **change}
    with pytest.raises(exc) as info:
        b.place(kw.pop("account"), kw.pop("side"), kw.pop("size"), kw.pop("price"),
                kw.pop("oid"), **kw)  # fmt: skip
    assert info.value.code == exc.code
    assert b.snapshot() == before


def test_bad_signature_is_rejected(funded):
    class Refusing:
        def verify(self, pubkey, message, signature) -> bool:
            return False

    state = funded.snapshot()
    state.verifier = Refusing()
    b = Book(state)
    with pytest.raises(errors.BadSignatureError):
        b.place(0, BUY, 10, 100, 1)
    assert len(b.book) == 0 and b.book.slot_ids() == {}


def test_order_affordable_agrees_with_the_state(b):
    # at the limit of 10% initial margin: 1,000,000 quanta carry 10,000,000 of notional
    o = Order(0, 0, BUY, 100_000, 100 * P, 0, T0 + 100, 1)
    assert order_affordable(b.state, o, 100_000, 100 * P, 0)
    assert not order_affordable(b.state, o, 100_001, 100 * P, 0)
    assert not order_affordable(b.state, o, 100_000, 100 * P, 1)  # the fee tips it over


def test_restore_gives_the_same_book(b):
    b.place(1, SELL, 10, 101, 1)
    b.place(2, SELL, 10, 100, 1)
    b.place(3, SELL, 10, 100, 2)
    b.place(0, BUY, 5, 99, 1)
    copy = OrderBook(2, b.state.config.order_depth, FeeSchedule(0, 0))
    copy.restore(b.book.resting(), b.book.slot_ids())
    assert copy.depth(0) == b.book.depth(0)
    assert [e.seq for e in copy.resting()] == [e.seq for e in b.book.resting()]
    with pytest.raises(ValueError):
        copy.restore([], {})
