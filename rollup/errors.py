"""Typed rejections of the exchange's rules: one class (and one stable ``code``) per reason.

Every error is a ``RollupError``, itself a ``ValueError``. ``State.apply`` raises one of these
*before* it changes anything: on a rejection the state and its root are exactly as they were.
The ``code`` strings are stable identifiers for logs, JSON answers and the database (the
sequencer stores them); the message says what was wrong in words.

L1 requests (``Deposit``, ``ForcedWithdrawal``) are never rejected for a reason that depends on
the state (an unknown account, too little collateral, a bad public key): they come from the
contract's queue and must always be includable, so they are *refused* instead (included with
status "refused" and no effect, see ``rollup.state``). Only a malformed L1 request raises.
"""

from __future__ import annotations

__all__ = [
    "BatchCapacityError",
    "MalformedRequestError",
    "StorageError",
    "L1QueueError",
    "OrderNotFoundError",
    "PostOnlyCrossError",
    "AccountNotLiquidatableError",
    "AccountNotDeleveragableError",
    "BadNonceError",
    "BadSignatureError",
    "ConfigError",
    "FeeTooHighError",
    "FundingTooLargeError",
    "InsufficientCollateralError",
    "InsufficientMarginError",
    "InvalidReductionError",
    "MalformedTransactionError",
    "OracleMedianError",
    "OracleQuorumError",
    "OracleSignersError",
    "OracleStaleError",
    "OrderExpiredError",
    "OrderMismatchError",
    "OrderOverfilledError",
    "OrderReplayedError",
    "OutOfBoundsError",
    "PositionLimitError",
    "PriceOutsideLimitError",
    "PubdataError",
    "RebuildError",
    "RollupError",
    "SameAccountError",
    "TimestampError",
    "UnfairDeleverageError",
    "UnknownAccountError",
    "UnknownMarketError",
]


class RollupError(ValueError):
    """Base class of every rejection; ``code`` names the reason."""

    code = "rollup_error"


class ConfigError(RollupError):
    """An exchange configuration or genesis outside its bounds (markets, oracle keys, depths)."""

    code = "bad_config"


class MalformedTransactionError(RollupError):
    """A field of the wrong type or shape (not an int, a wrong tuple length, an unknown type)."""

    code = "malformed"


class OutOfBoundsError(RollupError):
    """A quantity outside its documented bound (amount, size, price, id, timestamp, or a
    balance, position or index that the change would push out of range)."""

    code = "out_of_bounds"


class UnknownAccountError(RollupError):
    """An account index that holds no account."""

    code = "unknown_account"


class UnknownMarketError(RollupError):
    """A market index that is not configured."""

    code = "unknown_market"


class SameAccountError(RollupError):
    """Both sides of a trade, transfer, liquidation or deleverage are one account."""

    code = "same_account"


class BadSignatureError(RollupError):
    """A signature that does not verify under the signer's key."""

    code = "bad_signature"


class BadNonceError(RollupError):
    """A withdrawal or transfer whose nonce is not the account's next nonce (a replay)."""

    code = "bad_nonce"


class OrderMismatchError(RollupError):
    """Two orders that cannot trade together (other market, same side) or an order whose
    account or market disagrees with the transaction."""

    code = "order_mismatch"


class OrderExpiredError(RollupError):
    """An order whose expiry is before the current time."""

    code = "order_expired"


class OrderReplayedError(RollupError):
    """An order id below the id held by its storage slot: an old (replayed or cancelled)
    order."""

    code = "order_replayed"


class OrderOverfilledError(RollupError):
    """A fill that takes an order beyond its size."""

    code = "order_overfilled"


class PriceOutsideLimitError(RollupError):
    """A fill price outside an order's limit price (or above the market's maximum)."""

    code = "price_outside_limit"


class FeeTooHighError(RollupError):
    """A fee above the order's pro-rata maximum fee, or a liquidation penalty above its cap."""

    code = "fee_too_high"


class PositionLimitError(RollupError):
    """A position that would exceed the market's maximum position size."""

    code = "position_limit"


class InsufficientMarginError(RollupError):
    """After the change TR_initial > TV and the change did not only reduce risk without
    lowering TV/TR."""

    code = "insufficient_margin"


class InsufficientCollateralError(RollupError):
    """A withdrawal or transfer beyond the free collateral."""

    code = "insufficient_collateral"


class AccountNotLiquidatableError(RollupError):
    """A liquidation of an account whose maintenance risk does not exceed its value."""

    code = "not_liquidatable"


class AccountNotDeleveragableError(RollupError):
    """A deleverage of an account whose total value is not negative."""

    code = "not_deleveragable"


class InvalidReductionError(RollupError):
    """A liquidation or deleverage that would grow or flip a position instead of shrinking
    it."""

    code = "invalid_reduction"


class UnfairDeleverageError(RollupError):
    """A deleverage price worse than the oracle price for the deleveraged account, or one that
    leaves it with a positive value (a profit taken from the deleverager)."""

    code = "unfair_deleverage"


class FundingTooLargeError(RollupError):
    """A funding index change above max_funding_rate * price * elapsed."""

    code = "funding_too_large"


class TimestampError(RollupError):
    """A tick timestamp in the future or not after the previous one."""

    code = "bad_timestamp"


class OracleQuorumError(RollupError):
    """Fewer oracle signatures than the quorum."""

    code = "oracle_quorum"


class OracleSignersError(RollupError):
    """Oracle signer indices not strictly increasing or not in the whitelist."""

    code = "oracle_signers"


class OracleStaleError(RollupError):
    """An oracle price signed outside the validity window before the tick's timestamp."""

    code = "oracle_stale"


class OracleMedianError(RollupError):
    """A tick price that is not a median of the signed prices."""

    code = "oracle_median"


class PubdataError(RollupError):
    """Pubdata bytes that do not decode (bad type byte, length, padding or field)."""

    code = "bad_pubdata"


class RebuildError(RollupError):
    """Pubdata whose records do not replay on the state (the batch could not be valid)."""

    code = "rebuild_failed"


class PostOnlyCrossError(RollupError):
    """A post-only order that would take liquidity (cross the opposite side)."""

    code = "post_only_would_cross"


class OrderNotFoundError(RollupError):
    """A cancel of an order that is not resting in the book."""

    code = "order_not_found"


class L1QueueError(RollupError):
    """An L1 request out of queue order: already included (a repeat) or skipping some."""

    code = "l1_queue_order"


class BatchCapacityError(RollupError):
    """A transaction that needs more batch slots than the largest batch shape has (an oracle
    tick with more signatures than its continuation slots can carry)."""

    code = "batch_capacity"


class StorageError(RollupError):
    """The database is missing, not a sequencer's, of another version, changed by another
    writer, or disagrees with a replay of its own requests."""

    code = "storage"


class MalformedRequestError(MalformedTransactionError):
    """Request JSON that does not parse or has the wrong shape (a missing, unknown or
    mistyped field)."""

    code = "malformed_request"
