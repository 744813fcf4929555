"""What the sequencer takes in and hands out: requests (user, L1 queue, operator, oracles) and
batches (number, timestamp, pre- and post-state roots, transactions, pubdata).

A batch is what issue E proves and issue F's contract accepts:

- ``number``: 0, 1, 2, ... without gaps;
- ``timestamp``: every time check of its transactions holds at it (orders unexpired:
  timestamp <= expiry; funding and oracle ticks not in the future: tick time <= timestamp), it
  never goes back from one batch to the next, and it is as close to the sequencer's clock at the
  cut as those allow (``rollup.sequencer``: the time window);
- ``pre_root`` / ``post_root``: the state roots before and after (``pre_root`` of batch n+1 is
  ``post_root`` of batch n, the first ``pre_root`` is the genesis root);
- ``transactions``: the executed transactions with their signatures (the witness needs them),
  ``records``: their public records (``State.apply``'s receipts) followed by ``NoopRecord``
  padding up to ``size`` slots, and ``pubdata = rollup.pubdata.encode_records(records)``;
- ``l1_queue``: [start, end) of the L1 queue (deposits and forced withdrawals, in order) the
  batch consumes; the contract pops exactly these.

Padding: with ``shapes`` (circuit sizes in transaction slots, issue E picks them) and their
account units D(T) (a deployment setting, ``rollup.sequencer.SequencerConfig.units``; default
``default_units(T)``) a batch of n slots that touches k distinct accounts is padded to the
smallest shape T with T >= n and D(T) >= k (``circuits.state_transition``: the batch circuit
loads and stores each account a batch touches once, in one of its D account units;
``accessed_accounts`` says which accounts a transaction touches; the insurance account's
end-of-batch update is apart). The largest shape T_max is the most a batch holds: T_max slots
and D(T_max) accounts (units are nondecreasing with T, ``check_units``). Without padding a batch
is n slots, or more (NoOps) when n slots lack the units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from circuits.gadgets import babyjubjub as bj
from rollup.errors import ConfigError, MalformedTransactionError, UnknownAccountError
from rollup.orderbook import CancelOrder, PlaceOrder
from rollup.types import (
    Deleverage,
    Deposit,
    DepositRecord,
    ForcedWithdrawal,
    FundingTick,
    Liquidate,
    OraclePriceTick,
    Record,
    Trade,
    Transaction,
    Transfer,
    Withdrawal,
    check_int,
)

if TYPE_CHECKING:
    from rollup.state import State

__all__ = [
    "Batch",
    "L1Request",
    "MAX_BATCH_SLOTS",
    "ORACLE_SIGNATURES_PER_SLOT",
    "Request",
    "accessed_accounts",
    "batch_units",
    "check_shapes",
    "check_units",
    "padded_size",
    "slots_needed",
]

MAX_BATCH_SLOTS = 1 << 16
ORACLE_SIGNATURES_PER_SLOT = 2
"""A batch-circuit slot verifies two signatures (issue E): an oracle price tick with k > 2
signatures takes its own slot and ceil((k - 2) / 2) NoOp continuation slots right after it
(``circuits.state_transition``; ``rollup.proving`` checks that it agrees)."""


def slots_needed(tx: object) -> int:
    """The batch slots a transaction takes: 1, or 1 + ceil((k - 2) / 2) for an oracle price
    tick with k > 2 signatures (the sequencer leaves the continuation NoOps after it)."""
    if isinstance(tx, OraclePriceTick) and isinstance(tx.signatures, tuple | list):
        extra = len(tx.signatures) - ORACLE_SIGNATURES_PER_SLOT
        if extra > 0:
            return 1 + -(-extra // ORACLE_SIGNATURES_PER_SLOT)
    return 1


@dataclass(frozen=True)
class L1Request:
    """A deposit or forced withdrawal from the rollup contract's L1 queue, at its position
    ``queue_index`` (0, 1, 2, ...): the sequencer takes them in queue order, each once."""

    queue_index: int
    tx: Deposit | ForcedWithdrawal

    def validate(self) -> None:
        check_int(self.queue_index, 0, 1 << 64, "queue_index")
        if not isinstance(self.tx, Deposit | ForcedWithdrawal):
            raise MalformedTransactionError("an L1 request holds a Deposit or ForcedWithdrawal")


Request = Union[  # noqa: UP007 (a runtime alias)
    PlaceOrder,
    CancelOrder,
    Withdrawal,
    Transfer,
    L1Request,
    FundingTick,
    OraclePriceTick,
    Liquidate,
    Deleverage,
]
"""Everything ``Sequencer.submit`` accepts."""

REQUEST_TYPES: tuple[type, ...] = (
    PlaceOrder,
    CancelOrder,
    Withdrawal,
    Transfer,
    L1Request,
    FundingTick,
    OraclePriceTick,
    Liquidate,
    Deleverage,
)


@dataclass(frozen=True)
class Batch:
    """One cut batch (module docstring)."""

    number: int
    timestamp: int
    pre_root: int
    post_root: int
    transactions: tuple[Transaction, ...]
    records: tuple[Record, ...]
    pubdata: bytes
    l1_queue: tuple[int, int]

    @property
    def n_txs(self) -> int:
        """Transactions (not counting the padding)."""
        return len(self.transactions)

    @property
    def size(self) -> int:
        """Slots, padding included."""
        return len(self.records)


def check_shapes(shapes: object) -> tuple[int, ...]:
    """Batch shapes as a sorted tuple of distinct sizes in 1..MAX_BATCH_SLOTS."""
    if not isinstance(shapes, tuple | list) or not shapes:
        raise ConfigError("batch shapes: a non-empty list of sizes")
    out = []
    for s in shapes:
        if not isinstance(s, int) or isinstance(s, bool) or not 1 <= s <= MAX_BATCH_SLOTS:
            raise ConfigError(f"a batch shape is a size in 1..{MAX_BATCH_SLOTS}, got {s!r}")
        out.append(s)
    if len(set(out)) != len(out):
        raise ConfigError("batch shapes must be distinct")
    return tuple(sorted(out))


def batch_units(n_slots: int) -> int:
    """The default account units of a batch of ``n_slots`` slots: the distinct accounts it may
    touch when the deployment does not set them (``circuits.state_transition.default_units``)."""
    from circuits.state_transition import default_units  # lazy: the circuit modules are heavy

    return default_units(n_slots)


def check_units(shapes: object, units: object) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(shapes, units) validated and sorted by shape together: ``shapes`` as ``check_shapes``;
    ``units`` None (``batch_units`` of each) or one count per shape, in the same order, each in
    2..2T (a trade touches two accounts; a slot at most two) and nondecreasing with T (the
    largest shape holds the most). ConfigError naming the shape otherwise."""
    if units is None:
        return check_shapes(shapes), None
    if not isinstance(shapes, tuple | list) or not shapes:
        raise ConfigError("batch shapes: a non-empty list of sizes")
    if not isinstance(units, tuple | list):
        raise ConfigError(f"batch units: a list of account counts, one per shape, got {units!r}")
    if len(units) != len(shapes):
        raise ConfigError(
            f"batch units: {len(units)} counts for {len(shapes)} shapes "
            f"(one per shape, in the order of the shapes)"
        )
    sorted_shapes = check_shapes(shapes)
    by_shape = dict(zip(shapes, units))
    out = []
    for t in sorted_shapes:
        d = by_shape[t]
        if not isinstance(d, int) or isinstance(d, bool) or not 2 <= d <= 2 * t:
            raise ConfigError(
                f"the account units of shape {t} must be an integer in 2..{2 * t} "
                f"(2 T: two accounts a slot), got {d!r}"
            )
        if out and d < out[-1]:
            raise ConfigError(
                f"batch units must not decrease with the shape: shape {t} has {d}, a smaller "
                f"shape has {out[-1]}"
            )
        out.append(d)
    return sorted_shapes, tuple(out)


UnitsSpec = Union[Sequence[int], Mapping[int, int], None]  # noqa: UP007 (a runtime alias)
"""Account units: one count per shape (parallel to ``shapes``), a ``{T: D}`` mapping, or None
(``batch_units`` of each size)."""


def _units_of(shapes: Sequence[int], units: UnitsSpec) -> Callable[[int], int]:
    """D(size) of ``units`` (a size that is not a shape: ``batch_units``)."""
    if units is None:
        return batch_units
    table = dict(units) if isinstance(units, Mapping) else dict(zip(shapes, units, strict=True))
    return lambda size: table[size] if size in table else batch_units(size)


def padded_size(
    n_slots: int,
    shapes: tuple[int, ...],
    pad: bool,
    n_accounts: int = 0,
    units: UnitsSpec = None,
) -> int:
    """The slots of a batch of ``n_slots`` slots touching ``n_accounts`` distinct accounts
    (``accessed_accounts``): the smallest shape with n_slots or more slots and n_accounts or
    more units (``pad``; ``units``: each shape's, as ``UnitsSpec``); or (no padding) ``n_slots``
    itself, or the fewest slots >= n_slots whose units hold n_accounts."""
    units_of = _units_of(shapes, units)
    if not pad:
        size = n_slots
        while units_of(size) < n_accounts:
            size += 1
        return size
    for s in shapes:
        if s >= n_slots and units_of(s) >= n_accounts:
            return s
    raise ConfigError(
        f"{n_slots} slots touching {n_accounts} accounts exceed the largest batch shape "
        f"{shapes[-1]} ({units_of(shapes[-1])} accounts)"
    )


def accessed_accounts(tx: object, record: Record | None, state: State) -> tuple[int, ...]:
    """The accounts a transaction's batch slot touches, its access A first, then B (the batch
    circuit loads and stores each through an account unit, ``circuits.gadgets.account_memory``):

    - ``Deposit``: executed: the credited account (``record.account``, new or existing);
      refused: the account holding the deposit's key if there is one, else none (the key does
      not unpack, has small order, or the tree is full);
    - ``Withdrawal``: the account; ``Transfer``: sender, recipient; ``Trade``: the taker's
      account, the maker's; ``Liquidate``: the liquidator order's account, the liquidated;
      ``Deleverage``: the deleveraged, the deleverager;
    - ``ForcedWithdrawal``: the account, if it exists (a refused one may name none);
    - ``FundingTick``, ``OraclePriceTick``, a NoOp (``None``): none.

    ``tx`` may be an ``L1Request`` (its ``tx`` is used); ``record`` is the transaction's record
    (``State.apply``'s receipt; read for deposits only); ``state`` the state before or after
    the transaction (a refused L1 request changes nothing, and an account's key never moves).
    The insurance account's end-of-batch update (``State.end_batch``) is not a slot's access.
    """
    if isinstance(tx, L1Request):
        tx = tx.tx
    if tx is None or isinstance(tx, FundingTick | OraclePriceTick):
        return ()
    if isinstance(tx, Trade):
        return (tx.taker.order.account, tx.maker.order.account)
    if isinstance(tx, Liquidate):
        return (tx.liquidator.order.account, tx.liquidated)
    if isinstance(tx, Deleverage):
        return (tx.deleveraged, tx.deleverager)
    if isinstance(tx, Transfer):
        return (tx.sender, tx.recipient)
    if isinstance(tx, Withdrawal):
        return (tx.account,)
    if isinstance(tx, ForcedWithdrawal):
        try:
            state.account(tx.account)
        except UnknownAccountError:
            return ()
        return (tx.account,)
    if isinstance(tx, Deposit):
        if not isinstance(record, DepositRecord):
            raise MalformedTransactionError("a deposit's accounts need its DepositRecord")
        if record.executed:
            return (record.account,)
        try:
            point = bj.unpack_point(tx.pubkey)
        except (bj.BabyJubJubError, TypeError, ValueError):
            return ()
        index = state.account_index(point)
        return () if index is None else (index,)
    raise MalformedTransactionError(f"not a transaction: {type(tx).__name__}")
