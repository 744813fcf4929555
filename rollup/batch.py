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

Padding: with ``shapes`` (circuit sizes in transaction slots, issue E picks them), their
account units D(T) (a deployment setting, ``rollup.sequencer.SequencerConfig.units``; default
``default_units(T)``) and their signature units S(T) (``SequencerConfig.signatures``; default
``default_signatures(T)``) a batch of n slots that touches k distinct accounts and verifies m
distinct signed messages is padded to the smallest shape T with T >= n, D(T) >= k and S(T) >= m
(``circuits.state_transition``: the batch circuit loads and stores each account a batch touches
once, in one of its D account units, and verifies each distinct signed message once, in one of
its S signature units; ``accessed_accounts`` says which accounts a transaction touches,
``signed_messages`` which signed messages it uses; the insurance account's end-of-batch update
is apart). The largest shape T_max is the most a batch holds: T_max slots, D(T_max) accounts
and S(T_max) signed messages (units are nondecreasing with T, ``check_units`` and
``check_signatures``). Without padding a batch is n slots, or more (NoOps) when n slots lack the
units.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
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
    "batch_signatures",
    "batch_units",
    "check_shapes",
    "check_signatures",
    "check_units",
    "padded_size",
    "signed_messages",
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


def batch_signatures(n_slots: int) -> int:
    """The default signature units of a batch of ``n_slots`` slots: the distinct signed messages
    it may verify when the deployment does not set them
    (``circuits.state_transition.default_signatures``)."""
    from circuits.state_transition import default_signatures  # lazy: the circuit is heavy

    return default_signatures(n_slots)


def _check_per_shape(
    shapes: object, counts: object, key: str, noun: str, why: str
) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(shapes, counts) validated and sorted by shape together (``check_units``,
    ``check_signatures``): ``key`` names the setting, ``noun`` what is counted, ``why`` the
    bound 2 T."""
    if counts is None:
        return check_shapes(shapes), None
    if not isinstance(shapes, tuple | list) or not shapes:
        raise ConfigError("batch shapes: a non-empty list of sizes")
    word = noun.split()[0]  # "account", "signature"
    if not isinstance(counts, tuple | list):
        raise ConfigError(f"batch {key}: a list of {word} counts, one per shape, got {counts!r}")
    if len(counts) != len(shapes):
        raise ConfigError(
            f"batch {key}: {len(counts)} counts for {len(shapes)} shapes "
            f"(one per shape, in the order of the shapes)"
        )
    sorted_shapes = check_shapes(shapes)
    by_shape = dict(zip(shapes, counts))
    out: list[int] = []
    for t in sorted_shapes:
        d = by_shape[t]
        if not isinstance(d, int) or isinstance(d, bool) or not 2 <= d <= 2 * t:
            raise ConfigError(
                f"the {noun} of shape {t} must be an integer in 2..{2 * t} ({why}), got {d!r}"
            )
        if out and d < out[-1]:
            raise ConfigError(
                f"batch {key} must not decrease with the shape: shape {t} has {d}, a smaller "
                f"shape has {out[-1]}"
            )
        out.append(d)
    return sorted_shapes, tuple(out)


def check_units(shapes: object, units: object) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(shapes, units) validated and sorted by shape together: ``shapes`` as ``check_shapes``;
    ``units`` None (``batch_units`` of each) or one count per shape, in the same order, each in
    2..2T (a trade touches two accounts; a slot at most two) and nondecreasing with T (the
    largest shape holds the most). ConfigError naming the shape otherwise."""
    return _check_per_shape(shapes, units, "units", "account units", "2 T: two accounts a slot")


def check_signatures(
    shapes: object, signatures: object
) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(shapes, signatures) validated and sorted by shape together, as ``check_units``:
    ``signatures`` None (``batch_signatures`` of each) or one count of signature units per
    shape, in the same order, each in 2..2T (a trade verifies two orders; a slot at most two
    signatures) and nondecreasing with T. ConfigError naming the shape otherwise."""
    return _check_per_shape(
        shapes, signatures, "signatures", "signature units", "2 T: two signatures a slot"
    )


UnitsSpec = Union[Sequence[int], Mapping[int, int], None]  # noqa: UP007 (a runtime alias)
"""Account units (or signature units): one count per shape (parallel to ``shapes``), a
``{T: count}`` mapping, or None (``batch_units``, ``batch_signatures`` of each size)."""


def _units_of(
    shapes: Sequence[int], units: UnitsSpec, default: Callable[[int], int] = batch_units
) -> Callable[[int], int]:
    """D(size) of ``units`` (a size that is not a shape: ``default``, ``batch_units``)."""
    if units is None:
        return default
    table = dict(units) if isinstance(units, Mapping) else dict(zip(shapes, units, strict=True))
    return lambda size: table[size] if size in table else default(size)


def padded_size(
    n_slots: int,
    shapes: tuple[int, ...],
    pad: bool,
    n_accounts: int = 0,
    units: UnitsSpec = None,
    n_signatures: int = 0,
    signatures: UnitsSpec = None,
) -> int:
    """The slots of a batch of ``n_slots`` slots touching ``n_accounts`` distinct accounts
    (``accessed_accounts``) and verifying ``n_signatures`` distinct signed messages
    (``signed_messages``): the smallest shape with n_slots or more slots, n_accounts or more
    account units and n_signatures or more signature units (``pad``; ``units``, ``signatures``:
    each shape's, as ``UnitsSpec``); or (no padding) ``n_slots`` itself, or the fewest slots >=
    n_slots whose units hold n_accounts and n_signatures."""
    units_of = _units_of(shapes, units)
    sigs_of = _units_of(shapes, signatures, batch_signatures)

    def fits(size: int) -> bool:
        return units_of(size) >= n_accounts and sigs_of(size) >= n_signatures

    if not pad:
        size = n_slots
        while not fits(size):
            size += 1
        return size
    for s in shapes:
        if s >= n_slots and fits(s):
            return s
    top = shapes[-1]
    if n_signatures:
        raise ConfigError(
            f"{n_slots} slots touching {n_accounts} accounts and verifying {n_signatures} "
            f"signed messages exceed the largest batch shape {top} ({units_of(top)} accounts, "
            f"{sigs_of(top)} signature units)"
        )
    raise ConfigError(
        f"{n_slots} slots touching {n_accounts} accounts exceed the largest batch shape "
        f"{top} ({units_of(top)} accounts)"
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


def signed_messages(tx: object) -> tuple[Hashable, ...]:
    """Identities of the signed messages a transaction's batch slot(s) verify (the batch
    circuit verifies each distinct one once, in one of its signature units): two identities are
    equal only if the message and the signer are the same (an identity names the signer's
    account or oracle; counting one message twice would be safe, merging two would not):

    - ``Trade``: the taker's order, the maker's (``("order", Order)``: the frozen ``Order``
      holds the account, so equal orders are the same message under the same key; an order
      filled twice in a batch is one identity);
    - ``Liquidate``: the liquidator's order (the same kind of identity);
    - ``Withdrawal``: ``("withdrawal", account, amount, fee, nonce)``; ``Transfer``:
      ``("transfer", sender, recipient, amount, fee, nonce)`` (the signed fields);
    - ``OraclePriceTick``: one per signature, ``("oracle", oracle, market, price, timestamp)``
      (what that oracle signed; a tick's continuation slots verify the rest of them);
    - ``Deposit``, ``ForcedWithdrawal`` (L1 requests), ``FundingTick``, ``Deleverage`` (the
      operator's), a NoOp (``None``): none.

    ``tx`` may be an ``L1Request`` (its ``tx`` is used). The identities hold the transaction's
    fields as they are: a malformed field may make one unhashable (a ``TypeError`` when it is
    put in a set; ``State.check`` says what is wrong with it)."""
    if isinstance(tx, L1Request):
        tx = tx.tx
    if tx is None or isinstance(tx, Deposit | ForcedWithdrawal | FundingTick | Deleverage):
        return ()
    if isinstance(tx, Trade):
        return (("order", tx.taker.order), ("order", tx.maker.order))
    if isinstance(tx, Liquidate):
        return (("order", tx.liquidator.order),)
    if isinstance(tx, Withdrawal):
        return (("withdrawal", tx.account, tx.amount, tx.fee, tx.nonce),)
    if isinstance(tx, Transfer):
        return (("transfer", tx.sender, tx.recipient, tx.amount, tx.fee, tx.nonce),)
    if isinstance(tx, OraclePriceTick):
        return tuple(("oracle", s.oracle, tx.market, s.price, s.timestamp) for s in tx.signatures)
    raise MalformedTransactionError(f"not a transaction: {type(tx).__name__}")
