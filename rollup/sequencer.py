"""The sequencer: validates and applies requests in order, matches orders, cuts batches, and
(with a database) persists every accepted request so that a restart ends where it stopped.

Requests (``rollup.batch.Request``; JSON in ``rollup.requests_json``)
---------------------------------------------------------------------
- users: ``PlaceOrder`` (a signed order and its time in force), ``CancelOrder``, ``Withdrawal``
  and ``Transfer`` (signed); the order book (``rollup.orderbook``) turns orders into trades;
- the L1 queue: ``L1Request`` (a ``Deposit`` or ``ForcedWithdrawal`` at its queue position),
  taken strictly in queue order, each once (``L1QueueError`` otherwise); a request the state
  refuses is still included, marked not executed (``rollup.state``);
- the operator and the oracles: ``FundingTick``, ``OraclePriceTick`` (must be newer than the
  market's last price: a repeated tick is rejected, not applied twice), ``Liquidate`` (the
  liquidator's signed order passes the intake checks of a new order: fresh id, signature,
  expiry), ``Deleverage``.

``submit`` either raises a ``RollupError`` (typed, with a stable ``code``) and changes nothing
(state, root, book, database), or applies the request, commits it, and returns its ``Outcome``.
(One exception to "nothing": a batch that is already ``max_batch_age`` old is cut first, and
that cut stands even if the request is then rejected.) Each request is applied at one time
``now``: the sequencer's clock (``clock``, seconds; never going back) or an explicit ``now``,
recorded with the request. A sequencer is not thread-safe: one caller at a time (an HTTP front
end serialises its calls). ``Deposit``, ``ForcedWithdrawal`` (unsigned on L2), ``FundingTick``
and ``Deleverage`` must come from the operator only; a public API parses requests with
``requests_json.USER_REQUEST_KINDS``.

Replay protection: every accepted request is unrepeatable: orders by their per-slot id
(``rollup.orderbook``), cancels by the order having left the book, withdrawals and transfers by
the nonce, L1 requests by the queue index, ticks by their timestamps. ``Deleverage`` is the
operator's own and has none.

Batches (``rollup.batch.Batch``)
--------------------------------
The open batch takes every transaction as it is applied, and keeps the set of distinct
accounts they touch (``rollup.batch.accessed_accounts``: the batch circuit loads and stores each
once, in one of its D account units: ``SequencerConfig.units_for(T)``, a deployment setting,
``default_units(T)`` unless set) and the set of distinct signed messages they use
(``rollup.batch.signed_messages``: the circuit verifies each once, in one of its S signature
units: ``SequencerConfig.signatures_for(T)``, ``default_signatures(T)`` unless set; an order
filled twice in a batch is verified once). It is cut (its post-state root computed, padded to
the smallest shape with enough slots, account units and signature units, encoded as pubdata)
when it reaches the largest shape's slots (right after the transaction that fills it, even
within a request: a taker order's fills may span two batches), by ``cut()``, by ``tick()`` or
the next request once it is ``max_batch_age`` seconds old, before a transaction whose time
window does not meet the batch's, before a transaction that would take its accounts past the
largest shape's account units (a transaction touches at most two; which ones an L1 request
touches depends on its outcome, so near the limit the transaction is checked first: only a
valid one is worth a cut), and before a transaction that would take its signed messages past
the largest shape's signature units (an oracle tick's signatures count all; checked first
too). A transaction that alone needs more slots or signature units than the largest shape has
is refused (``BatchCapacityError``). A replay re-cuts each stored batch where it ended
instead.

The time window: a batch's timestamp T must satisfy every transaction in it (``rollup.batch``):
T >= lo = max(previous batch's T, tick timestamps), T <= hi = min(expiries of the orders it
fills). Each transaction was valid at its own ``now`` (tick time <= now <= expiry) and ``now``
only grows, so lo <= hi holds until a transaction would break it; the batch is cut before that
one. At the cut, T = max(lo, min(clock, hi)).

Persistence (``rollup.storage``)
--------------------------------
Each accepted request is committed with the batches it completed (and, every ``snapshot_every``
batches, 8 by default, a snapshot) in one SQLite transaction, before ``submit`` returns;
``submit_many`` commits a burst in one transaction (the fsync is the main cost of a request).
A request whose commit did not happen was never acknowledged. ``Sequencer.open`` loads the
latest snapshot and replays the requests after it at their recorded times with the signature
checks skipped (they passed when the requests were accepted), re-cutting each stored batch
where it ends and checking that it comes out identical, and each request's outcome too.
``state_before(n)`` gives the state a batch starts from (``Storage.state_before_batch``: a
snapshot at a batch boundary plus the pubdata after it; for the witness generator). Every cut
first calls ``State.end_batch()`` (the insurance account's per-batch update), so a batch's
post-root includes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.poseidon import FIELD_MODULUS
from rollup import rules
from rollup.batch import (
    ORACLE_SIGNATURES_PER_SLOT,
    REQUEST_TYPES,
    Batch,
    L1Request,
    Request,
    accessed_accounts,
    batch_signatures,
    batch_units,
    check_signatures,
    check_units,
    padded_size,
    signed_messages,
    slots_needed,
)
from rollup.errors import (
    BatchCapacityError,
    ConfigError,
    L1QueueError,
    MalformedTransactionError,
    RollupError,
    TimestampError,
    UnknownAccountError,
    UnknownMarketError,
)
from rollup.orderbook import (
    Cancelled,
    CancelOrder,
    FeeSchedule,
    OrderBook,
    PlaceOrder,
    RestingOrder,
    TimeInForce,
)
from rollup.pubdata import decode_record, encode_record, encode_records
from rollup.requests_json import (
    dumps,
    genesis_from_json,
    genesis_to_json,
    parse_request,
    record_to_json,
    request_from_json,
    request_to_json,
    signed_order_from_json,
    signed_order_to_json,
    transaction_from_json,
    transaction_to_json,
)
from rollup.state import Backend, EdDSAVerifier, Receipt, SignatureVerifier, State
from rollup.storage import RequestRow, Storage, StorageError, dump_state, load_state
from rollup.types import (
    DEMO_MARKETS,
    PRICE_SCALE,
    TIMESTAMP_BOUND,
    Deleverage,
    Deposit,
    ExchangeConfig,
    ForcedWithdrawal,
    FundingTick,
    Genesis,
    Liquidate,
    NoopRecord,
    OraclePriceTick,
    Record,
    Trade,
    Transaction,
    Transfer,
    Withdrawal,
    check_int,
    prehash,
)

__all__ = [
    "DEMO_ORACLE_KEYS",
    "L1QueueError",
    "Outcome",
    "Sequencer",
    "SequencerConfig",
    "demo_genesis",
]

_NEVER = TIMESTAMP_BOUND - 1
_MAX_ACCESSES = 2  # accounts one transaction touches at most (rollup.batch.accessed_accounts)

DEMO_ORACLE_KEYS: tuple[bytes, ...] = tuple(bytes([0xD0 + i]) * 32 for i in range(3))
"""Private keys of the demo's three oracles (public, for the demo and tests only)."""


def demo_genesis(timestamp: int, exchange_id: int = 1) -> Genesis:
    """BTC, ETH and SOL (``DEMO_MARKETS``) at 60,000 / 3,000 / 150 USDC, the three demo
    oracles with a quorum of 2 and 60 s validity, 2^16 accounts, 16 order slots each."""
    config = ExchangeConfig(
        exchange_id=exchange_id,
        markets=DEMO_MARKETS,
        oracle_keys=tuple(eddsa.prv2pub(k) for k in DEMO_ORACLE_KEYS),
        oracle_quorum=2,
        oracle_validity=60,
    )
    return Genesis(config, (600 * PRICE_SCALE, 3 * PRICE_SCALE, 150 * PRICE_SCALE), timestamp)


@dataclass(frozen=True)
class SequencerConfig:
    """Batch shapes (slots; the largest is a batch's capacity), their account units (the
    most distinct accounts a batch of each shape may touch, parallel to ``shapes``; None:
    ``default_units`` of each) and their signature units (the most distinct signed messages a
    batch of each shape may verify, parallel to ``shapes``; None: ``default_signatures`` of
    each), whether to pad to them, the batch age that triggers a cut, fees, and how often (in
    batches) to snapshot.

    The units are a deployment setting: each shape's circuit is built with its D and S
    (``rollup.keys.batch_shape``), a unit costs gates (an account unit ~15-20k at account depth
    8, a signature unit one EdDSA verification), and the sequencer cuts a batch before it
    touches more than the largest shape's D accounts or verifies more than its S signed
    messages."""

    shapes: tuple[int, ...] = (2, 4, 8)  # each has a batch-circuit setup within 2^20 gates
    pad: bool = True
    max_batch_age: int | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    snapshot_every: int = 8
    units: tuple[int, ...] | None = None
    signatures: tuple[int, ...] | None = None

    def validate(self) -> None:
        """ConfigError on a bad value; sorts ``shapes`` (and ``units`` and ``signatures`` with
        them)."""
        shapes, units = check_units(self.shapes, self.units)
        _, signatures = check_signatures(self.shapes, self.signatures)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "signatures", signatures)
        if not isinstance(self.pad, bool):
            raise ConfigError("pad is true or false")
        if self.max_batch_age is not None:
            check_int(self.max_batch_age, 1, TIMESTAMP_BOUND, "max_batch_age")
        self.fees.validate()
        check_int(self.snapshot_every, 1, 1 << 20, "snapshot_every")

    @property
    def capacity(self) -> int:
        return self.shapes[-1]

    def units_for(self, n_slots: int) -> int:
        """The account units D of batches of ``n_slots`` slots: the configured D of that shape,
        else (no units configured, or a size that is not a shape: an unpadded batch)
        ``default_units(n_slots)``. The circuit, the keys and the cut all use this."""
        if self.units is not None and n_slots in self.shapes:
            return self.units[self.shapes.index(n_slots)]
        return batch_units(n_slots)

    @property
    def unit_map(self) -> dict[int, int]:
        """``{T: D}`` of every shape."""
        return {t: self.units_for(t) for t in self.shapes}

    @property
    def max_units(self) -> int:
        """The most distinct accounts a batch may touch: the largest shape's units."""
        return self.units_for(self.capacity)

    def signatures_for(self, n_slots: int) -> int:
        """The signature units S of batches of ``n_slots`` slots: the configured S of that
        shape, else (none configured, or a size that is not a shape: an unpadded batch)
        ``default_signatures(n_slots)``. The circuit, the keys and the cut all use this."""
        if self.signatures is not None and n_slots in self.shapes:
            return self.signatures[self.shapes.index(n_slots)]
        return batch_signatures(n_slots)

    @property
    def signature_map(self) -> dict[int, int]:
        """``{T: S}`` of every shape."""
        return {t: self.signatures_for(t) for t in self.shapes}

    @property
    def max_signatures(self) -> int:
        """The most distinct signed messages a batch may verify: the largest shape's signature
        units."""
        return self.signatures_for(self.capacity)

    def to_json(self) -> dict:
        return {
            "shapes": list(self.shapes),
            "units": None if self.units is None else list(self.units),
            "signatures": None if self.signatures is None else list(self.signatures),
            "pad": self.pad,
            "max_batch_age": self.max_batch_age,
            "maker_fee_ppm": self.fees.maker_ppm,
            "taker_fee_ppm": self.fees.taker_ppm,
            "snapshot_every": self.snapshot_every,
        }

    @classmethod
    def from_json(cls, d: dict) -> SequencerConfig:
        """The settings of ``to_json`` (an older one without ``units`` or ``signatures``: the
        defaults)."""
        try:
            units = d.get("units")
            signatures = d.get("signatures")
            cfg = cls(
                tuple(d["shapes"]),
                d["pad"],
                d["max_batch_age"],
                FeeSchedule(d["maker_fee_ppm"], d["taker_fee_ppm"]),
                d["snapshot_every"],
                None if units is None else tuple(units),
                None if signatures is None else tuple(signatures),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"sequencer settings: {exc}") from None
        cfg.validate()
        return cfg


@dataclass(frozen=True)
class Outcome:
    """What an accepted request did. ``status``: ``applied``, ``refused`` (an L1 request the
    state refused: included, no effect), ``cancelled`` (a cancel request; or an order whose
    remainder was cancelled), ``filled``, ``resting``."""

    seq: int
    now: int
    request: Request
    status: str
    receipts: tuple[Receipt, ...] = ()
    filled: int = 0
    remaining: int = 0
    cancelled: tuple[Cancelled, ...] = ()
    batches: tuple[int, ...] = ()
    reason: str | None = None

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(r.record for r in self.receipts)

    def to_json(self) -> dict:
        return {
            "seq": self.seq,
            "now": self.now,
            "status": self.status,
            "filled": self.filled,
            "remaining": self.remaining,
            "transactions": [record_to_json(r.record) for r in self.receipts],
            "cancelled": [c.__dict__ for c in self.cancelled],
            "batches": list(self.batches),
            "reason": self.reason,
        }


def _stable(outcome_json: dict) -> dict:
    """The part of an outcome that a replay must reproduce (where the cuts land is decided by
    the stored batches instead)."""
    return {k: v for k, v in outcome_json.items() if k != "batches"}


class _Trusted:
    """Replays skip signature checks: the requests passed them when accepted."""

    def verify(self, pubkey: object, message: object, signature: object) -> bool:
        return True


@dataclass
class _OpenBatch:
    number: int
    pre_root: int
    lo: int
    l1_start: int
    hi: int = _NEVER
    opened: int | None = None
    txs: list[Transaction] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    slots: int = 0  # records so far, continuation NoOps included (rollup.batch.slots_needed)
    accounts: set[int] = field(default_factory=set)  # rollup.batch.accessed_accounts, all txs
    signatures: set = field(default_factory=set)  # rollup.batch.signed_messages, all txs


def _as_int(v: object, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _expiry(so: object) -> int:
    return _as_int(getattr(getattr(so, "order", None), "expiry", None), _NEVER)


def _window(tx: Transaction) -> tuple[int, int]:
    """(lo, hi): the batch timestamp must be >= lo and <= hi for ``tx`` to hold."""
    if isinstance(tx, Trade):
        return 0, min(_expiry(tx.taker), _expiry(tx.maker))
    if isinstance(tx, Liquidate):
        return 0, _expiry(tx.liquidator)
    if isinstance(tx, FundingTick | OraclePriceTick):
        return _as_int(tx.timestamp, 0), _NEVER
    return 0, _NEVER


class Sequencer:
    """See the module docstring. ``Sequencer(genesis, config)`` runs in memory;
    ``Sequencer.create(path, genesis, config)`` and ``Sequencer.open(path)`` on a database."""

    def __init__(
        self,
        genesis: Genesis,
        config: SequencerConfig | None = None,
        *,
        storage: Storage | None = None,
        clock: Callable[[], int] | None = None,
        verifier: SignatureVerifier | None = None,
        backend: Backend = "numba",
    ) -> None:
        self.config = config if config is not None else SequencerConfig()
        self.config.validate()
        self.genesis = genesis
        self.storage = storage
        self.clock: Callable[[], int] = clock if clock is not None else (lambda: int(time.time()))
        self.verifier: SignatureVerifier = verifier if verifier is not None else EdDSAVerifier()
        self.backend: Backend = backend
        self._units = self.config.max_units  # the most accounts a batch touches
        self._signatures = self.config.max_signatures  # the most signed messages it verifies
        self._reset()

    def _reset(self) -> None:
        g = self.genesis
        self.state = State(g, verifier=self.verifier, backend=self.backend)
        cfg = g.config
        self.book = OrderBook(cfg.n_markets, cfg.order_depth, self.config.fees)
        self.next_seq = 1
        self.next_l1 = 0
        self.now = g.timestamp
        self._open = _OpenBatch(0, self.state.root, g.timestamp, 0)
        self._cut_now: list[Batch] = []
        self._replay: dict | None = None
        self._committed_batches = 0

    # --- construction with a database --------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        genesis: Genesis,
        config: SequencerConfig | None = None,
        *,
        synchronous: str = "FULL",
        **kwargs: Any,
    ) -> Sequencer:
        """A new database at ``path`` with this genesis and configuration."""
        genesis.validate()
        config = config if config is not None else SequencerConfig()
        config.validate()
        storage = Storage.create(
            path, genesis_to_json(genesis), config.to_json(), synchronous=synchronous
        )
        return cls(genesis, config, storage=storage, **kwargs)

    @classmethod
    def open(cls, path: str | Path, *, synchronous: str = "FULL", **kwargs: Any) -> Sequencer:
        """The sequencer of an existing database, recovered (module docstring)."""
        storage = Storage.open(path, synchronous=synchronous)
        try:
            genesis = genesis_from_json(storage.genesis_json)
            config = SequencerConfig.from_json(storage.settings_json)
            seq = cls(genesis, config, storage=storage, **kwargs)
            seq._recover()
        except BaseException:
            storage.close()
            raise
        return seq

    def close(self) -> None:
        if self.storage is not None:
            self.storage.close()

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -----------------------------------------------------------------------------

    @property
    def root(self) -> int:
        return self.state.root

    @property
    def batch_number(self) -> int:
        """The number of the open batch (= how many were cut)."""
        return self._open.number

    @property
    def open_transactions(self) -> tuple[Transaction, ...]:
        return tuple(self._open.txs)

    def status(self) -> dict:
        s = self.state
        markets = []
        for m, (params, ms) in enumerate(zip(self.genesis.config.markets, s.markets)):
            bids, asks = self.book.depth(m, 1, self.now)
            markets.append(
                {
                    "market": m,
                    "symbol": params.symbol,
                    "price": ms.price,
                    "price_time": ms.price_time,
                    "funding_index": ms.funding_index,
                    "best_bid": bids[0][0] if bids else None,
                    "best_ask": asks[0][0] if asks else None,
                    "open_interest": s.open_interest(m)[0],
                }
            )
        return {
            "exchange_id": self.genesis.config.exchange_id,
            "root": str(s.root),
            "time": self.now,
            "requests": self.next_seq - 1,
            "batches": self._open.number,
            "open_batch": {
                "number": self._open.number,
                "transactions": len(self._open.txs),
                "pre_root": str(self._open.pre_root),
                "opened": self._open.opened,
                "accounts": len(self._open.accounts),
                "signatures": len(self._open.signatures),
            },
            "l1_queue_next": self.next_l1,
            "accounts": len(s),
            "insurance": s.insurance,
            "insurance_dust": s.insurance_dust,
            "pending_insurance": s.pending_insurance,
            "funding_time": s.funding_time,
            "resting_orders": len(self.book),
            "markets": markets,
            "shapes": list(self.config.shapes),
            "units": [self.config.units_for(t) for t in self.config.shapes],
            "signatures": [self.config.signatures_for(t) for t in self.config.shapes],
        }

    def account_info(self, index: int) -> dict:
        s = self.state
        acc = s.account(index)
        tv, tr, tri = s.value_and_risk(index)
        n = self.genesis.config.n_markets
        return {
            "index": index,
            "pubkey": "0x" + bj.pack_point(acc.pubkey).hex(),
            "l1_address": f"0x{acc.l1_address:040x}",
            "collateral": acc.collateral,
            "nonce": acc.nonce,
            "positions": list(acc.positions[:n]),
            "funding": list(acc.funding[:n]),
            "total_value": tv,
            "total_risk": tr,
            "total_risk_initial": tri,
            "liquidatable": rules.is_liquidatable(tv, tr),
            "orders": [
                {
                    "order_id": e.order.order_id,
                    "market": e.order.market,
                    "side": "buy" if e.order.side == 0 else "sell",
                    "limit_price": e.order.limit_price,
                    "size": e.order.size,
                    "remaining": e.remaining,
                    "expiry": e.order.expiry,
                    "time_in_force": e.time_in_force.value,
                }
                for e in self.book.orders_of(index)
            ],
        }

    def market_index(self, market: str) -> int:
        """A market by index (digits) or symbol (any case); UnknownMarketError otherwise."""
        symbols = [m.symbol for m in self.genesis.config.markets]
        text = market.strip()
        if text.upper() in symbols:
            return symbols.index(text.upper())
        if text.isdigit() and int(text) < len(symbols):
            return int(text)
        raise UnknownMarketError(f"no market {market!r}: one of {', '.join(symbols)}")

    def account_index(self, key: str | int) -> int:
        """An account by index (int or digits) or by packed public key ("0x" + 64 hex)."""
        if isinstance(key, int):
            self.state.account(key)
            return key
        text = key.strip()
        if text.isdigit():
            index = int(text)
            self.state.account(index)
            return index
        body = text[2:] if text.startswith("0x") else text
        try:
            point = bj.unpack_point(bytes.fromhex(body))
        except (ValueError, bj.BabyJubJubError) as exc:
            raise MalformedTransactionError(
                f"an account is an index or a packed public key (64 hex digits): {exc}"
            ) from None
        index = self.state.account_index(point)
        if index is None:
            raise UnknownAccountError(f"no account holds the key {text}")
        return index

    def batch(self, number: int) -> Batch:
        if self.storage is None:
            raise StorageError("an in-memory sequencer keeps no batches: use its outcomes")
        return self.storage.batch(number)

    def state_before(self, number: int) -> State:
        """The state batch ``number`` starts from, rebuilt from the pubdata of the batches
        before it (the witness generator's starting point; its root is the batch's
        pre-root)."""
        if self.storage is None:
            raise StorageError("an in-memory sequencer keeps no batches")
        check_int(number, 0, self._committed_batches + 1, "batch number")
        return self.storage.state_before_batch(number, verifier=self.verifier, backend=self.backend)

    # --- time --------------------------------------------------------------------------------

    def _time(self, now: int | None) -> int:
        if now is None:
            return max(self.now, min(_as_int(self.clock(), 0), _NEVER))
        check_int(now, 0, TIMESTAMP_BOUND, "now")
        if now < self.now:
            raise TimestampError(f"time goes back: {now} < {self.now}")
        return now

    def _batch_time(self, clock: int) -> int:
        ob = self._open
        return max(ob.lo, min(clock, ob.hi))

    # --- applying ----------------------------------------------------------------------------

    def _apply_tx(self, tx: Transaction, now: int) -> Receipt:
        """Apply one transaction to the state and the open batch (the order book's path too);
        raises with nothing changed on a rejection."""
        lo, hi = _window(tx)
        need = slots_needed(tx)
        if need > self.config.capacity:
            raise BatchCapacityError(
                f"this transaction takes {need} batch slots (an oracle tick verifies "
                f"{ORACLE_SIGNATURES_PER_SLOT} signatures a slot); the largest batch has "
                f"{self.config.capacity}"
            )
        sigs = self._signatures_of(tx, now)
        if len(sigs) > self._signatures:
            raise BatchCapacityError(
                f"this transaction verifies {len(sigs)} signed messages; the largest batch "
                f"verifies {self._signatures} (the signature units of shape "
                f"{self.config.capacity})"
            )
        ob = self._open
        if self._replay is None and ob.txs:
            full = max(ob.lo, lo) > min(ob.hi, hi) or ob.slots + need > self.config.capacity
            checked = False
            if not full and len(ob.accounts) + _MAX_ACCESSES > self._units:  # near the units
                checked = isinstance(tx, Deposit)
                new = self._accounts_of(tx, now) - ob.accounts
                full = len(ob.accounts) + len(new) > self._units
            if not full:  # the signature units
                full = len(ob.signatures) + len(sigs - ob.signatures) > self._signatures
            if full:
                if not checked:
                    self.state.check(tx, now)  # only a valid transaction is worth a cut
                self._cut(self._batch_time(now))
                ob = self._open
        receipt = self.state.apply(tx, now)
        if not ob.txs:
            ob.opened = now
        ob.txs.append(tx)
        ob.records.append(receipt.record)
        ob.records.extend([NoopRecord()] * (need - 1))  # the tick's continuation slots
        ob.slots += need
        ob.accounts.update(accessed_accounts(tx, receipt.record, self.state))
        ob.signatures.update(sigs)
        ob.lo, ob.hi = max(ob.lo, lo), min(ob.hi, hi)
        if self._replay is not None:
            row = self._replay.get(ob.number)
            if row is not None and len(ob.txs) == row.n_txs:
                self._cut(row.timestamp, row)
            elif ob.slots >= self.config.capacity:
                raise StorageError(f"replay: batch {ob.number} is full but was never cut")
            elif len(ob.accounts) > self._units:
                raise StorageError(f"replay: batch {ob.number} touches too many accounts")
            elif len(ob.signatures) > self._signatures:
                raise StorageError(f"replay: batch {ob.number} verifies too many signed messages")
        elif ob.slots >= self.config.capacity:
            self._cut(self._batch_time(now))
        return receipt

    def _accounts_of(self, tx: Transaction, now: int) -> set[int]:
        """The accounts ``tx`` would touch (``rollup.batch.accessed_accounts``). A deposit's
        depend on its outcome: it is checked first (raising if it is rejected)."""
        record = self.state.check(tx, now).record if isinstance(tx, Deposit) else None
        try:
            return set(accessed_accounts(tx, record, self.state))
        except (AttributeError, TypeError):  # a malformed transaction: the state says why
            self.state.check(tx, now)
            raise

    def _signatures_of(self, tx: Transaction, now: int) -> set:
        """The signed messages ``tx`` uses (``rollup.batch.signed_messages``); a malformed
        transaction whose fields do not make them raises the state's typed error."""
        try:
            return set(signed_messages(tx))
        except (AttributeError, TypeError):  # a malformed transaction: the state says why
            self.state.check(tx, now)
            raise

    def _cut(self, timestamp: int, expect: Any = None) -> Batch:
        ob = self._open
        self.state.end_batch()  # the pending insurance to account 0: part of the post-root
        post_root = self.state.root
        cfg = self.config
        size = padded_size(
            ob.slots,
            cfg.shapes,
            cfg.pad,
            len(ob.accounts),
            cfg.unit_map,
            len(ob.signatures),
            cfg.signature_map,
        )
        records = tuple(ob.records) + (NoopRecord(),) * (size - len(ob.records))
        pubdata = encode_records(records)
        n_l1 = sum(isinstance(tx, Deposit | ForcedWithdrawal) for tx in ob.txs)
        l1 = (ob.l1_start, ob.l1_start + n_l1)
        batch = Batch(
            ob.number, timestamp, ob.pre_root, post_root, tuple(ob.txs), records, pubdata, l1
        )
        if expect is not None:
            if (expect.post_root, expect.pubdata, expect.pre_root, expect.l1_end) != (
                post_root,
                pubdata,
                ob.pre_root,
                l1[1],
            ):
                raise StorageError(f"replay: batch {ob.number} differs from the stored one")
        else:
            self._cut_now.append(batch)
        self._open = _OpenBatch(ob.number + 1, post_root, timestamp, l1[1])
        self.now = max(self.now, timestamp)  # later requests are checked at or after it
        return batch

    def _process(self, request: Request, now: int, seq: int) -> Outcome:
        """Apply one request (module docstring). Raises a RollupError with nothing changed."""
        first_batch = self._open.number
        st = self.state

        def done(status: str, receipts: Sequence[Receipt] = (), **kw: Any) -> Outcome:
            cut = tuple(range(first_batch, self._open.number))
            return Outcome(seq, now, request, status, tuple(receipts), batches=cut, **kw)

        if isinstance(request, PlaceOrder):
            res = self.book.place(st, request, now, seq, lambda tx: self._apply_tx(tx, now))
            return done(
                res.status,
                res.receipts,
                filled=res.filled,
                remaining=res.remaining,
                cancelled=res.cancelled,
            )
        if isinstance(request, CancelOrder):
            c = self.book.cancel(st, request)
            return done("cancelled", cancelled=(c,))
        if isinstance(request, L1Request):
            request.validate()
            q = request.queue_index
            if q != self.next_l1:
                what = "was already included" if q < self.next_l1 else "skips the queue"
                raise L1QueueError(f"L1 request {q} {what}: the next one is {self.next_l1}")
            receipt = self._apply_tx(request.tx, now)
            self.next_l1 += 1
            if receipt.executed:
                return done("applied", (receipt,))
            return done("refused", (receipt,), reason=receipt.reason)
        if isinstance(request, Liquidate):
            so = request.liquidator
            self.book.check_new_order(st, so, now, "liquidator order")
            receipt = self._apply_tx(request, now)
            return done("applied", (receipt,), cancelled=tuple(self.book.note_order_id(so.order)))
        if isinstance(request, OraclePriceTick):
            m = request.market
            if isinstance(m, int) and 0 <= m < len(st.markets):
                last = st.markets[m].price_time
                ts = _as_int(request.timestamp, last + 1)
                if ts <= last:
                    raise TimestampError(
                        f"oracle tick at {ts} is not newer than market {m}'s price ({last})"
                    )
            return done("applied", (self._apply_tx(request, now),))
        if isinstance(request, Withdrawal | Transfer | FundingTick | Deleverage):
            return done("applied", (self._apply_tx(request, now),))
        raise MalformedTransactionError(f"not a request: {type(request).__name__}")

    def _process_safely(self, request: Request, now: int, seq: int) -> Outcome:
        try:
            return self._process(request, now, seq)
        except RollupError:
            raise
        except BaseException:
            # a bug or an interrupt in the middle of a change: start again from the database
            self._reload()
            raise

    # --- the public path -----------------------------------------------------------------------

    def submit(self, request: Request, now: int | None = None) -> Outcome:
        """Validate, apply and persist one request (module docstring)."""
        if not isinstance(request, REQUEST_TYPES):
            raise MalformedTransactionError(f"not a request: {type(request).__name__}")
        t = self._time(now)
        self._cut_if_old(t)
        outcome = self._process_safely(request, t, self.next_seq)
        self._accepted([outcome])
        return outcome

    def submit_json(self, text: str | bytes, now: int | None = None) -> Outcome:
        """``submit`` of a request's JSON text (``rollup.requests_json``)."""
        return self.submit(parse_request(text), now)

    def submit_many(
        self, requests: Iterable[Request], now: int | None = None
    ) -> list[Outcome | RollupError]:
        """Apply a burst of requests in order, committing the accepted ones together (one
        database transaction); each result is an Outcome or the RollupError that rejected it.
        Message hashes of the burst are computed in one Numba batch first."""
        requests = list(requests)
        prehash(_messages(requests, self.genesis.config.exchange_id))
        t = self._time(now)
        self._cut_if_old(t)
        results: list[Outcome | RollupError] = []
        accepted: list[Outcome] = []
        for r in requests:
            try:
                if not isinstance(r, REQUEST_TYPES):
                    raise MalformedTransactionError(f"not a request: {type(r).__name__}")
                outcome = self._process_safely(r, t, self.next_seq + len(accepted))
            except RollupError as exc:
                results.append(exc)
                continue
            accepted.append(outcome)
            results.append(outcome)
        self._accepted(accepted)
        return results

    def cut(self, now: int | None = None) -> Batch | None:
        """Cut the open batch now (None if it holds no transaction)."""
        t = self._time(now)
        if not self._open.txs:
            return None
        batch = self._cut(self._batch_time(t))
        self.now = t
        self._accepted([])
        return batch

    def tick(self, now: int | None = None) -> Batch | None:
        """Cut the open batch if it is ``max_batch_age`` old (call it from a timer)."""
        t = self._time(now)
        batches = self._cut_if_old(t)
        return batches[0] if batches else None

    def _cut_if_old(self, now: int) -> list[Batch]:
        age = self.config.max_batch_age
        ob = self._open
        if age is None or not ob.txs or ob.opened is None or now - ob.opened < age:
            return []
        batch = self._cut(self._batch_time(now))
        self._accepted([])
        return [batch]

    def _accepted(self, outcomes: list[Outcome]) -> None:
        """Persist accepted requests and the batches cut since the last commit."""
        batches = self._cut_now
        if outcomes:
            self.next_seq = outcomes[-1].seq + 1
            self.now = max(self.now, outcomes[-1].now)
        if self.storage is None:
            self._cut_now = []
            self._committed_batches = self._open.number
            return
        if not outcomes and not batches:
            return
        rows = []
        for o in outcomes:
            body = request_to_json(o.request)
            rows.append(RequestRow(o.seq, body["type"], dumps(body), o.now, dumps(o.to_json())))
        snapshot = None
        every = self.config.snapshot_every
        if batches and any((b.number + 1) % every == 0 for b in batches):
            snapshot = (self.next_seq - 1, self._open.number, self._dump())
        try:
            self.storage.commit(
                rows,
                batches,
                snapshot,
                expect_seq=(outcomes[0].seq - 1) if outcomes else self.next_seq - 1,
                expect_batches=self._committed_batches,
            )
        except BaseException:
            self._reload()
            raise
        self._cut_now = []
        self._committed_batches = self._open.number

    # --- snapshots and recovery ----------------------------------------------------------------

    def _dump(self) -> dict:
        ob = self._open
        return {
            "version": 1,
            "next_seq": self.next_seq,
            "next_l1": self.next_l1,
            "now": self.now,
            "state": dump_state(self.state),
            "book": {
                "orders": [
                    [e.seq, e.remaining, e.time_in_force.value, signed_order_to_json(e.signed)]
                    for e in self.book.resting()
                ],
                "slot_ids": [[a, s, i] for (a, s), i in sorted(self.book.slot_ids().items())],
            },
            "open": {
                "number": ob.number,
                "pre_root": str(ob.pre_root),
                "lo": ob.lo,
                "hi": ob.hi,
                "l1_start": ob.l1_start,
                "opened": ob.opened,
                "txs": [transaction_to_json(tx) for tx in ob.txs],
                "records": [encode_record(r).hex() for r in ob.records],
                "accounts": sorted(ob.accounts),
            },
        }

    def _load(self, body: dict, verifier: SignatureVerifier) -> None:
        if body.get("version") != 1:
            raise StorageError("unknown snapshot version")
        self.state = load_state(
            self.genesis, body["state"], verifier=verifier, backend=self.backend
        )
        self.next_seq = body["next_seq"]
        self.next_l1 = body["next_l1"]
        self.now = body["now"]
        cfg = self.genesis.config
        self.book = OrderBook(cfg.n_markets, cfg.order_depth, self.config.fees)
        entries = [
            RestingOrder(signed_order_from_json(so), seq, remaining, TimeInForce(tif))
            for seq, remaining, tif, so in body["book"]["orders"]
        ]
        self.book.restore(entries, {(a, s): i for a, s, i in body["book"]["slot_ids"]})
        o = body["open"]
        self._open = _OpenBatch(
            o["number"],
            int(o["pre_root"]),
            o["lo"],
            o["l1_start"],
            o["hi"],
            o["opened"],
            [transaction_from_json(t) for t in o["txs"]],
            [decode_record(bytes.fromhex(r))[0] for r in o["records"]],
        )
        ob = self._open
        ob.slots = len(ob.records)
        if "accounts" in o:
            ob.accounts = set(o["accounts"])
        else:  # an older snapshot: the same accounts from the open transactions
            k = 0
            for tx in ob.txs:
                ob.accounts.update(accessed_accounts(tx, ob.records[k], self.state))
                k += slots_needed(tx)
        for tx in ob.txs:  # the signed messages: from the transactions alone, exactly
            ob.signatures.update(signed_messages(tx))

    def _recover(self) -> None:
        """Load the latest snapshot, then replay the requests after it (module docstring)."""
        storage = self.storage
        assert storage is not None
        live_verifier = self.verifier
        trusted = _Trusted()
        self._reset()
        try:
            snap = storage.latest_snapshot()
            if snap is not None:
                self._load(snap[2], trusted)
        except (StorageError, KeyError, TypeError, ValueError, IndexError):
            self._reset()  # replay everything from the genesis instead
        self.state.verifier = trusted
        self._replay = storage.batch_rows(self._open.number)
        try:
            # a snapshot taken after a request that cut a batch before one of its transactions
            # holds the next batch's first transactions: if that batch was then cut by hand
            # (``cut``, ``tick``) with no transaction after them, it ends here
            row = self._replay.get(self._open.number)
            if row is not None and self._open.txs and len(self._open.txs) == row.n_txs:
                self._cut(row.timestamp, row)
            for row in storage.requests_after(self.next_seq - 1):
                if row.seq != self.next_seq:
                    raise StorageError(f"request {self.next_seq} is missing from the database")
                request = request_from_json(json.loads(row.body))
                try:
                    outcome = self._process(request, row.now, row.seq)
                except RollupError as exc:
                    raise StorageError(
                        f"replay: request {row.seq} no longer applies: {exc}"
                    ) from exc
                if _stable(json.loads(dumps(outcome.to_json()))) != _stable(
                    json.loads(row.outcome)
                ):
                    raise StorageError(f"replay: request {row.seq} has another outcome")
                self.next_seq = row.seq + 1
                self.now = max(self.now, row.now)
            if any(number >= self._open.number for number in self._replay):
                raise StorageError(f"replay: batch {self._open.number} was not re-cut")
        finally:
            self._replay = None
            self.state.verifier = live_verifier
        self._cut_now = []
        self._committed_batches = self._open.number
        self.now = max(self.now, self._open.lo)

    def _reload(self) -> None:
        if self.storage is not None:
            self._recover()


def _messages(requests: list[Request], x: int) -> Iterable[tuple[int, ...]]:
    """Every well-formed signed message of a burst of requests (for ``prehash``)."""
    for r in requests:
        try:
            if isinstance(r, PlaceOrder):
                msg = r.order.order.message(x)
            elif isinstance(r, Liquidate):
                msg = r.liquidator.order.message(x)
            elif isinstance(r, CancelOrder | Withdrawal | Transfer):
                msg = r.message(x)
            else:
                continue
        except (AttributeError, TypeError, RollupError):
            continue
        if all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < FIELD_MODULUS for v in msg
        ):
            yield msg
