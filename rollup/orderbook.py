"""The limit order book: one book per market, price-time priority, GTC / IOC / post-only orders,
signed cancels; every fill becomes a ``Trade`` applied to the state.

The matching rules follow dYdX v3 (StarkEx Perpetual's order flow, see
../shared/notes/perpetual-rules.md) on top of ``rollup.state``:

Intake (``OrderBook.check_place``: nothing changes when it raises a ``RollupError``)
---------------------------------------------------------------------------------------
An order is checked before it can match or rest: field types and bounds, a configured market,
an existing account, a limit price at most the market's ``max_price``, ``now <= expiry``, a
fresh order id (below), the EdDSA-Poseidon signature (``state.verifier``: remembered, so the
fills of a resting order never verify it again), and the margin: the account must pass the
margin rule (``rules.margin_ok``) after filling the whole order at its own limit price and
paying its whole ``max_fee`` (the worst case for the account, on its settled funding). A
post-only order that would cross the opposite side is rejected (``PostOnlyCrossError``).

Order ids: an account's order id ``i`` lives in storage slot ``i mod 4^order_depth`` of its
order tree (``rollup.state``). The book remembers the highest id it accepted per slot (orders
and liquidation orders alike) and accepts only a higher one: a replayed order, even one that
never filled (an IOC, a cancelled order), is rejected (``OrderReplayedError``). A new order in a
slot replaces the older one still resting there (it is cancelled, reason ``replaced``): once the
new one fills, the state would refuse the old one anyway.

Matching (``OrderBook.place``)
------------------------------
The incoming order (the taker) fills against the best opposite price level first and, within a
level, against the oldest resting order (the request sequence number is the time priority),
while the level's price is within its limit. Each fill is one ``Trade`` at the **maker's limit
price**, of min(taker remaining, maker remaining), with fees from a ``FeeSchedule``: maker and
taker rates of the fill's notional, each capped by the order's pro-rata ``max_fee``
(``rules.fee_within_limit``: fee * order size <= max_fee * fill). The state checks the trade
again completely (``State.apply``); a resting order that can no longer be filled is cancelled
at match time rather than producing an invalid trade:

- expired (``now > expiry``), replaced (its slot holds a later order), or its own account's
  (self-trade prevention cancels the resting order, dYdX's rule);
- a trade the state rejects: the side that cannot afford the fill (margin, position limit,
  collateral bound; recomputed by ``order_affordable``) is the one stopped. A maker is cancelled
  and matching continues; a taker stops matching and its remainder is cancelled (it is not left
  resting: it already failed at this price). If neither side can be blamed, both are.

After matching, an IOC order's remainder is cancelled; a GTC (or post-only) remainder rests.

Cancels are signed by the account (M = P1(w0), w0 = tag + account<<40 + order_id<<72 with
tag = 5 + 256 * exchange_id: ``rollup.types.cancel_message``; ``sign_cancel``) and remove a
resting order. A cancel is the operator's promise not to match the order any more; an
account that does not trust it can make it binding on-chain by filling a later order id in the
same slot.

Time in force is not part of the signed order (``rollup.types.Order``): like StarkEx, the
signature binds what may settle (size, limit, fee, expiry), and the operator's matching policy
sits on top.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from circuits.gadgets import babyjubjub as bj
from rollup import rules
from rollup.errors import (
    BadSignatureError,
    InsufficientMarginError,
    MalformedTransactionError,
    OrderExpiredError,
    OrderNotFoundError,
    OrderOverfilledError,
    OrderReplayedError,
    PostOnlyCrossError,
    PriceOutsideLimitError,
    RollupError,
    UnknownAccountError,
    UnknownMarketError,
)
from rollup.state import Receipt, State
from rollup.types import (
    AMOUNT_BOUND,
    MAX_MARKETS,
    ORDER_ID_BOUND,
    PRICE_BOUND,
    PRICE_SCALE,
    RISK_SCALE,
    SIZE_BOUND,
    TIMESTAMP_BOUND,
    MessageKind,
    Order,
    Side,
    Signature,
    SignedOrder,
    Trade,
    Transaction,
    cancel_message,
    check_int,
    message_hash,
)

__all__ = [
    "CANCEL_KIND",
    "CancelOrder",
    "Cancelled",
    "FeeSchedule",
    "OrderBook",
    "OrderNotFoundError",
    "PlaceOrder",
    "PlaceResult",
    "PostOnlyCrossError",
    "RestingOrder",
    "TimeInForce",
    "cancel_message",
    "order_affordable",
    "sign_cancel",
]

CANCEL_KIND = int(MessageKind.CANCEL)
"""The signed-message kind of a cancel (``rollup.types.MessageKind.CANCEL``)."""


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled (or expired): the remainder rests
    IOC = "ioc"  # immediate or cancel: the remainder is cancelled
    POST_ONLY = "post_only"  # rests without taking: rejected if it would cross


@dataclass(frozen=True)
class PlaceOrder:
    """A request to place a signed limit order."""

    order: SignedOrder
    time_in_force: TimeInForce = TimeInForce.GTC


@dataclass(frozen=True)
class CancelOrder:
    """A signed request to cancel the resting order ``order_id`` of ``account``."""

    account: int
    order_id: int
    signature: Signature

    def message(self, exchange_id: int) -> tuple[int, ...]:
        return cancel_message(self.account, self.order_id, exchange_id)


def sign_cancel(prv: bytes, account: int, order_id: int, exchange_id: int) -> CancelOrder:
    from circuits.gadgets import eddsa

    check_int(account, 0, 1 << 32, "account")
    check_int(order_id, 0, ORDER_ID_BOUND, "order_id")
    msg = cancel_message(account, order_id, exchange_id)
    return CancelOrder(account, order_id, eddsa.sign_poseidon(prv, message_hash(msg)))


@dataclass(frozen=True)
class FeeSchedule:
    """Trading fees in parts per million of a fill's notional (collateral quanta, rounded
    down), each capped by the order's pro-rata ``max_fee``."""

    maker_ppm: int = 200
    taker_ppm: int = 500

    def validate(self) -> None:
        check_int(self.maker_ppm, 0, RISK_SCALE + 1, "maker fee (ppm)")
        check_int(self.taker_ppm, 0, RISK_SCALE + 1, "taker fee (ppm)")

    def fee(self, ppm: int, order: Order, fill: int, price: int) -> int:
        scheduled = fill * price * ppm // (PRICE_SCALE * RISK_SCALE)
        return min(scheduled, order.max_fee * fill // order.size)


@dataclass
class RestingOrder:
    """An order in the book. ``seq`` (the request's sequence number) is its time priority."""

    signed: SignedOrder
    seq: int
    remaining: int
    time_in_force: TimeInForce = TimeInForce.GTC
    live: bool = True

    @property
    def order(self) -> Order:
        return self.signed.order


@dataclass(frozen=True)
class Cancelled:
    """An order removed from the book without filling (or the rest of one), and why:
    ``code`` is a RollupError code or one of replaced / expired / self_trade / cancelled /
    ioc."""

    account: int
    order_id: int
    remaining: int
    code: str
    message: str = ""


@dataclass(frozen=True)
class PlaceResult:
    """What placing an order did: its fills (applied trades, in order), the orders cancelled on
    the way (including this one's remainder, last), and its final status: ``filled``,
    ``resting`` (the remainder is in the book) or ``cancelled``."""

    status: str
    filled: int
    remaining: int
    trades: tuple[Trade, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    cancelled: tuple[Cancelled, ...] = ()


class _Level:
    __slots__ = ("price", "queue", "live", "volume")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[RestingOrder] = deque()
        self.live = 0
        self.volume = 0

    def front(self) -> RestingOrder | None:
        q = self.queue
        while q and not q[0].live:
            q.popleft()
        return q[0] if q else None


class _BookSide:
    """One side of one market: price levels kept sorted by key (the price for asks, minus the
    price for bids), so the best level is always first."""

    __slots__ = ("bid", "keys", "levels")

    def __init__(self, bid: bool) -> None:
        self.bid = bid
        self.keys: list[int] = []
        self.levels: dict[int, _Level] = {}

    def key(self, price: int) -> int:
        return -price if self.bid else price

    def add(self, entry: RestingOrder) -> None:
        price = entry.order.limit_price
        k = self.key(price)
        level = self.levels.get(k)
        if level is None:
            level = self.levels[k] = _Level(price)
            bisect.insort(self.keys, k)
        level.queue.append(entry)
        level.live += 1
        level.volume += entry.remaining

    def drop(self, entry: RestingOrder) -> None:
        """Mark ``entry`` dead; remove its level once it holds no live order."""
        k = self.key(entry.order.limit_price)
        level = self.levels[k]
        entry.live = False
        level.live -= 1
        level.volume -= entry.remaining
        if level.live == 0:
            del self.levels[k]
            del self.keys[bisect.bisect_left(self.keys, k)]

    def best(self) -> _Level | None:
        return self.levels[self.keys[0]] if self.keys else None

    def iter_levels(self) -> Iterator[_Level]:
        for k in self.keys:
            yield self.levels[k]


def _crosses(side: int, limit: int, level_price: int) -> bool:
    """An order on ``side`` with ``limit`` can fill at ``level_price`` (of the other side)."""
    return level_price <= limit if side == Side.BUY else level_price >= limit


def order_affordable(state: State, order: Order, fill: int, price: int, fee: int) -> bool:
    """Whether ``order``'s account passes the margin rule, its position limit and the
    collateral bound after a fill of ``fill`` at ``price`` paying ``fee``, on its settled
    account (the checks ``State.apply`` makes for one side of a trade, recomputed from the
    state's public reads and ``rollup.rules``)."""
    acc = state.account(order.account)
    m = order.market
    params = state.config.markets[m]
    tv, tr, _ = state.value_and_risk(order.account)
    debit, credit, _ = rules.trade_cash(fill, price)
    delta, cash = (fill, -debit - fee) if order.side == Side.BUY else (-fill, credit - fee)
    after = list(acc.positions)
    after[m] += delta
    if abs(after[m]) > params.max_position:
        return False
    charge, _ = rules.funding_settlement(acc.positions, acc.funding, state.funding_indices)
    collateral = acc.collateral - charge + cash
    if not -(1 << 63) < collateral < 1 << 63:
        return False
    pad = (0,) * (MAX_MARKETS - state.config.n_markets)
    mmf = tuple(p.maintenance_margin for p in state.config.markets) + pad
    imf = tuple(p.initial_margin for p in state.config.markets) + pad
    prices = state.prices
    tv_after = tv + cash * PRICE_SCALE + delta * prices[m]
    tr_after = rules.total_risk(after, prices, mmf)
    tri_after = rules.total_risk(after, prices, imf)
    return rules.margin_ok(tv, tr, acc.positions, tv_after, tr_after, tri_after, after)


Apply = Callable[[Transaction], Receipt]


class OrderBook:
    """The order books of every market of a state's configuration, and the per-slot order ids
    seen. ``place`` and ``cancel`` raise a ``RollupError`` before changing anything, or
    succeed; ``place`` applies its trades through the caller's ``apply`` (the sequencer's path
    into the state and the open batch), which must itself raise with no change on a
    rejection."""

    def __init__(self, n_markets: int, order_depth: int, fees: FeeSchedule | None = None) -> None:
        self.n_markets = n_markets
        self.order_depth = order_depth
        self.fees = fees if fees is not None else FeeSchedule()
        self.fees.validate()
        self._sides = {(m, s): _BookSide(s == Side.BUY) for m in range(n_markets) for s in Side}
        self._by_id: dict[tuple[int, int], RestingOrder] = {}
        self._by_slot: dict[tuple[int, int], RestingOrder] = {}
        self._slot_ids: dict[tuple[int, int], int] = {}

    # --- reading ---------------------------------------------------------------------------

    def slot(self, order_id: int) -> int:
        return order_id & ((1 << (2 * self.order_depth)) - 1)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, account: int, order_id: int) -> RestingOrder | None:
        return self._by_id.get((account, order_id))

    def resting(self) -> list[RestingOrder]:
        """Every resting order, by time priority."""
        return sorted(self._by_id.values(), key=lambda e: e.seq)

    def orders_of(self, account: int) -> list[RestingOrder]:
        return sorted((e for (a, _), e in self._by_id.items() if a == account), key=lambda e: e.seq)

    def slot_ids(self) -> dict[tuple[int, int], int]:
        """(account, slot) -> the highest order id accepted in that slot."""
        return dict(self._slot_ids)

    def last_id(self, account: int, slot: int) -> int | None:
        return self._slot_ids.get((account, slot))

    def best(self, market: int, side: int) -> int | None:
        """The best price on ``side`` of ``market`` (None if empty)."""
        level = self._sides[(market, side)].best()
        return level.price if level else None

    def depth(
        self, market: int, levels: int = 10, now: int | None = None
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """(bids, asks): up to ``levels`` (price, total size, orders) from the best, orders
        expired at ``now`` left out when it is given."""
        out = []
        for side in (Side.BUY, Side.SELL):
            rows = []
            for level in self._sides[(market, side)].iter_levels():
                live = [e for e in level.queue if e.live and (now is None or e.order.expiry >= now)]
                if live:
                    rows.append((level.price, sum(e.remaining for e in live), len(live)))
                if len(rows) >= levels:
                    break
            out.append(rows)
        return out[0], out[1]

    # --- restoring (storage) ---------------------------------------------------------------

    def restore(self, entries: list[RestingOrder], slot_ids: dict[tuple[int, int], int]) -> None:
        """Refill an empty book with resting orders (any order: sorted by ``seq`` here) and
        the per-slot ids, as ``resting()`` and ``slot_ids()`` gave them."""
        if self._by_id or self._slot_ids:
            raise ValueError("restore needs an empty book")
        for e in sorted(entries, key=lambda e: e.seq):
            self._insert(replace(e, live=True))
        self._slot_ids = dict(slot_ids)

    # --- intake ----------------------------------------------------------------------------

    def _check_fields(self, state: State, o: object, what: str) -> Order:
        if not isinstance(o, Order):
            raise MalformedTransactionError(f"{what} must be an Order")
        check_int(o.account, 0, state.config.n_accounts, f"{what}.account")
        if not isinstance(o.market, int) or isinstance(o.market, bool):
            raise MalformedTransactionError(f"{what}.market must be an int")
        if not 0 <= o.market < self.n_markets:
            raise UnknownMarketError(f"market {o.market} is not configured")
        if o.side not in (Side.BUY, Side.SELL) or isinstance(o.side, bool):
            raise MalformedTransactionError(f"{what}.side must be 0 (buy) or 1 (sell)")
        check_int(o.size, 1, SIZE_BOUND, f"{what}.size")
        check_int(o.limit_price, 1, PRICE_BOUND, f"{what}.limit_price")
        check_int(o.max_fee, 0, AMOUNT_BOUND, f"{what}.max_fee")
        check_int(o.expiry, 0, TIMESTAMP_BOUND, f"{what}.expiry")
        check_int(o.order_id, 0, ORDER_ID_BOUND, f"{what}.order_id")
        state.account(o.account)  # UnknownAccountError
        return o

    def check_new_order(self, state: State, so: object, now: int, what: str = "order") -> Order:
        """The intake checks every new order passes (placed or a liquidator's), except margin
        and post-only: fields, market, account, expiry, a fresh id, the signature."""
        if not isinstance(so, SignedOrder):
            raise MalformedTransactionError(f"{what} must be a SignedOrder")
        o = self._check_fields(state, so.order, what)
        if now > o.expiry:
            raise OrderExpiredError(f"{what} expired at {o.expiry} (now {now})")
        slot = self.slot(o.order_id)
        last = self._slot_ids.get((o.account, slot))
        if last is not None and o.order_id <= last:
            raise OrderReplayedError(
                f"{what} {o.order_id} of account {o.account} is a replay: its slot {slot} "
                f"already took order {last} (order ids must increase per slot)"
            )
        done = state.filled(o.account, o.order_id)  # OrderReplayedError if the slot moved on
        if done >= o.size:
            raise OrderOverfilledError(f"{what} {o.order_id} is already filled ({done})")
        pub: bj.Point = state.account(o.account).pubkey
        if not state.verifier.verify(pub, o.message(state.config.exchange_id), so.signature):
            raise BadSignatureError(
                f"{what}: the signature does not verify under account {o.account}'s key"
            )
        return o

    def check_place(self, state: State, request: object, now: int) -> Order:
        """Every intake check of a ``PlaceOrder`` (module docstring); changes nothing."""
        if not isinstance(request, PlaceOrder):
            raise MalformedTransactionError("not a PlaceOrder")
        if not isinstance(request.time_in_force, TimeInForce):
            raise MalformedTransactionError("time_in_force must be gtc, ioc or post_only")
        o = self.check_new_order(state, request.order, now)
        max_price = state.config.markets[o.market].max_price
        if o.limit_price > max_price:
            raise PriceOutsideLimitError(
                f"limit price {o.limit_price} above the market's maximum {max_price}"
            )
        if not order_affordable(state, o, o.size, o.limit_price, o.max_fee):
            raise InsufficientMarginError(
                f"account {o.account} cannot afford order {o.order_id}: filled in full at its "
                "limit price it would break the margin rule (or its position limit)"
            )
        if request.time_in_force == TimeInForce.POST_ONLY:
            opposite = self._sides[(o.market, 1 - o.side)]
            for level in opposite.iter_levels():
                if not _crosses(o.side, o.limit_price, level.price):
                    break
                if any(e.live and e.order.expiry >= now for e in level.queue):
                    raise PostOnlyCrossError(
                        f"post-only order {o.order_id} at {o.limit_price} would cross the "
                        f"resting order(s) at {level.price}"
                    )
        return o

    # --- changes ---------------------------------------------------------------------------

    def _insert(self, entry: RestingOrder) -> None:
        o = entry.order
        self._sides[(o.market, o.side)].add(entry)
        self._by_id[(o.account, o.order_id)] = entry
        self._by_slot[(o.account, self.slot(o.order_id))] = entry

    def _remove(self, entry: RestingOrder) -> None:
        o = entry.order
        self._sides[(o.market, o.side)].drop(entry)
        del self._by_id[(o.account, o.order_id)]
        key = (o.account, self.slot(o.order_id))
        if self._by_slot.get(key) is entry:
            del self._by_slot[key]

    def _take_id(self, o: Order, out: list[Cancelled]) -> None:
        """Record ``o``'s id as its slot's latest; cancel the older order resting there."""
        key = (o.account, self.slot(o.order_id))
        self._slot_ids[key] = o.order_id
        old = self._by_slot.get(key)
        if old is not None:
            self._remove(old)
            out.append(
                Cancelled(
                    o.account,
                    old.order.order_id,
                    old.remaining,
                    "replaced",
                    f"order {o.order_id} took its slot",
                )
            )

    def note_order_id(self, order: Order) -> list[Cancelled]:
        """A liquidator's order was used: its id becomes its slot's latest (call after the
        liquidation applied)."""
        out: list[Cancelled] = []
        self._take_id(order, out)
        return out

    def cancel(self, state: State, request: object) -> Cancelled:
        """Remove a resting order on its account's signed request."""
        if not isinstance(request, CancelOrder):
            raise MalformedTransactionError("not a CancelOrder")
        check_int(request.account, 0, state.config.n_accounts, "account")
        check_int(request.order_id, 0, ORDER_ID_BOUND, "order_id")
        acc = state.account(request.account)
        entry = self._by_id.get((request.account, request.order_id))
        if entry is None:
            raise OrderNotFoundError(
                f"order {request.order_id} of account {request.account} is not resting"
            )
        msg = request.message(state.config.exchange_id)
        if not state.verifier.verify(acc.pubkey, msg, request.signature):
            raise BadSignatureError(
                f"cancel: the signature does not verify under account {request.account}'s key"
            )
        self._remove(entry)
        return Cancelled(
            request.account, request.order_id, entry.remaining, "cancelled", "by its account"
        )

    def place(
        self, state: State, request: PlaceOrder, now: int, seq: int, apply: Apply
    ) -> PlaceResult:
        """Check, match and (GTC / post-only) rest an order; see the module docstring.
        Raises a RollupError (nothing changed) only from the intake checks."""
        o = self.check_place(state, request, now)
        cancelled: list[Cancelled] = []
        self._take_id(o, cancelled)
        trades: list[Trade] = []
        receipts: list[Receipt] = []
        remaining = o.size
        stop: Cancelled | None = None
        if request.time_in_force != TimeInForce.POST_ONLY:
            opposite = self._sides[(o.market, 1 - o.side)]
            while remaining > 0:
                level = opposite.best()
                if level is None or not _crosses(o.side, o.limit_price, level.price):
                    break
                maker = level.front()
                assert maker is not None  # a level with live == 0 is removed
                mo = maker.order
                why = self._dead_maker(state, maker, o, now)
                if why is not None:
                    self._remove(maker)
                    cancelled.append(Cancelled(mo.account, mo.order_id, maker.remaining, *why))
                    continue
                fill = min(remaining, maker.remaining)
                price = mo.limit_price
                taker_fee = self.fees.fee(self.fees.taker_ppm, o, fill, price)
                maker_fee = self.fees.fee(self.fees.maker_ppm, mo, fill, price)
                trade = Trade(request.order, maker.signed, fill, price, taker_fee, maker_fee)
                try:
                    receipt = apply(trade)
                except RollupError as exc:
                    maker_ok = order_affordable(state, mo, fill, price, maker_fee)
                    taker_ok = order_affordable(state, o, fill, price, taker_fee)
                    if not maker_ok or taker_ok:
                        self._remove(maker)
                        cancelled.append(
                            Cancelled(mo.account, mo.order_id, maker.remaining, exc.code, str(exc))
                        )
                    if maker_ok:
                        stop = Cancelled(o.account, o.order_id, remaining, exc.code, str(exc))
                        break
                    continue
                trades.append(trade)
                receipts.append(receipt)
                remaining -= fill
                level.volume -= fill
                maker.remaining -= fill
                if maker.remaining == 0:
                    self._remove(maker)
        filled = o.size - remaining
        if remaining == 0:
            status = "filled"
        elif stop is not None:
            cancelled.append(stop)
            status = "cancelled"
        elif request.time_in_force == TimeInForce.IOC:
            cancelled.append(
                Cancelled(o.account, o.order_id, remaining, "ioc", "immediate or cancel")
            )
            status = "cancelled"
        else:
            self._insert(RestingOrder(request.order, seq, remaining, request.time_in_force))
            status = "resting"
        return PlaceResult(
            status,
            filled,
            remaining if status == "resting" else 0,
            tuple(trades),
            tuple(receipts),
            tuple(cancelled),
        )

    def _dead_maker(
        self, state: State, maker: RestingOrder, taker: Order, now: int
    ) -> tuple[str, str] | None:
        mo = maker.order
        if now > mo.expiry:
            return "expired", f"expired at {mo.expiry}"
        if mo.account == taker.account:
            return "self_trade", f"order {taker.order_id} of the same account crossed it"
        try:
            state.filled(mo.account, mo.order_id)
        except (OrderReplayedError, UnknownAccountError) as exc:
            return exc.code, str(exc)
        return None
