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

Padding: with ``shapes`` (circuit sizes in transaction slots, issue E picks them) a batch of n
transactions is padded to the smallest shape >= n; the largest shape is the most a batch holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from rollup.errors import ConfigError, MalformedTransactionError
from rollup.orderbook import CancelOrder, PlaceOrder
from rollup.types import (
    Deleverage,
    Deposit,
    ForcedWithdrawal,
    FundingTick,
    Liquidate,
    OraclePriceTick,
    Record,
    Transaction,
    Transfer,
    Withdrawal,
    check_int,
)

__all__ = [
    "Batch",
    "L1Request",
    "MAX_BATCH_SLOTS",
    "ORACLE_SIGNATURES_PER_SLOT",
    "Request",
    "check_shapes",
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


def padded_size(n_txs: int, shapes: tuple[int, ...], pad: bool) -> int:
    """The slots of a batch of ``n_txs`` transactions: the smallest shape that holds them
    (``pad``), or ``n_txs`` itself."""
    if not pad:
        return n_txs
    for s in shapes:
        if s >= n_txs:
            return s
    raise ConfigError(f"{n_txs} transactions exceed the largest batch shape {shapes[-1]}")
