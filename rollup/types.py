"""The exchange's data: constants and bounds, markets, accounts, orders, transactions, pubdata
records and the signed-message layouts (all frozen dataclasses of Python ints).

The design follows StarkEx Perpetual (starkware-libs/stark-perpetual, see
../shared/notes/perpetual-rules.md), adapted to BN254 and to a PLONK circuit (issue E) that must
prove every rule cheaply.

Units and scales (integers only; no floats anywhere in the rules)
-----------------------------------------------------------------
- Collateral: one USDC-like asset with 6 decimals; balances, amounts and fees are integers in
  collateral *quanta* (1 quantum = 10^-6 USDC).
- Synthetic assets (the perpetual markets): sizes are integers in synthetic quanta
  (1 quantum = 10^-synthetic_decimals units of the asset, a per-market choice).
- Prices and funding indices: collateral quanta per synthetic quantum in binary fixed point,
  scaled by ``PRICE_SCALE`` = 2^32 (StarkEx's 32.32). Example: BTC at 60,000 USDC with a
  satoshi quantum is 600 quanta/sat, the price 600 * 2^32.
- Risk factors (maintenance, initial margin, liquidation fee): parts per million,
  ``RISK_SCALE`` = 10^6 (3% = 30,000). They only ever multiply, so a decimal scale costs
  nothing in the circuit.
- Funding rate cap: per second, scaled by ``RATE_SCALE`` = 10^12.
- The insurance fund (account 0's collateral, plus the dust and the pending accumulator of
  ``rollup.state``) counts fractions in units of 2^-32 quanta (``INSURANCE_SCALE``) so that
  rounding dust (fractions of a quantum) lands there exactly and conservation is exact.

Bounds (what the circuit range-checks; every input and every result is checked natively)
----------------------------------------------------------------------------------------
=====================  =====================================  =======================
quantity               bound                                  pubdata width
=====================  =====================================  =======================
collateral balance     -2^63 < c < 2^63 (signed)              (not published)
amount, fee, max_fee   0 <= x < 2^63 (deposit/withdraw/       8 bytes
                       transfer amounts >= 1)
order size, fill size  0 < q < 2^48                           6 bytes
position size          |s| < 2^48 and |s| <= max_position     (not published)
price (limit, fill,    0 < p < 2^56, and p <= max_price of    7 bytes
oracle)                the market for fills and oracle ticks
funding index          -2^56 < g < 2^56 (signed)              8 bytes (two's compl.)
order id               0 <= id < 2^32                         4 bytes
nonce                  0 <= n < 2^32                          (not published)
timestamp, expiry      0 <= t < 2^32 (seconds)                4 bytes
account index          0 <= i < 4^account_depth (<= 2^32)     4 bytes
market index           0 <= m < number of markets (<= 4)      1 byte
L1 address             0 <= a < 2^160                         20 bytes
insurance dust         0 <= d < 2^32 (2^-32 quanta)           (in the root)
pending insurance      0 <= p, 2^32 * c_0 + d + p < 2^95      (not published)
exchange id            0 <= e < 2^32                          (in the root)
risk factors (ppm)     0 < mmf <= imf <= 10^6,                (in the root)
                       0 <= liquidation_fee <= 10^6
max funding rate       0 <= r < 2^40 (per second, 10^-12)     (in the root)
=====================  =====================================  =======================

Derived magnitudes the circuit can rely on (from the bounds above, 4 markets):
|size * price| < 2^104; |TV| (scaled by 2^32) < 2^108; TR (scaled by 2^32 * 10^6) < 2^126;
a cross-multiplied ratio test TV_a * TR_b < 2^234 < r / 2.

Signed values inside hashes are stored as their residue mod r (BN254's scalar field):
``to_field(-1) == r - 1``. The circuit range-checks a signed x < 2^k as x + 2^k < 2^(k+1).

Signed messages (EdDSA-Poseidon on Baby Jubjub, ``circuits.gadgets.eddsa``; layout v2)
---------------------------------------------------------------------------------------
Each signed request signs one field element M = P_k(words): the Poseidon hash of at most two
*packed words* (``tag = kind + 256 * exchange_id``, 40 bits, binds a message to its kind and
its exchange; offsets in bits, the lowest field first). Packing cuts the circuit's cost of a
message hash from P9 (an order, 1,403+ gates) to P2 (509):

- order (kind 1):      w0 = tag + account<<40 + market<<72 + side<<80 + order_id<<88
                            + expiry<<120;
                       w1 = size + limit_price<<48 + max_fee<<104;            M = P2(w0, w1)
- withdrawal (kind 2): w0 = tag + account<<40 + nonce<<72; w1 = amount + fee<<64; M = P2
- transfer (kind 3):   w0 = tag + sender<<40 + recipient<<72 + nonce<<104;
                       w1 = amount + fee<<64;                                 M = P2(w0, w1)
- oracle price (4):    w0 = tag + market<<40 + timestamp<<48 + price<<80;      M = P1(w0)
- cancel (kind 5):     w0 = tag + account<<40 + order_id<<72;                 M = P1(w0)

``side`` is 0 for a buy, 1 for a sell. Every field is range-checked to its bound above before
packing (``OutOfBoundsError`` otherwise: account, order id, expiry, timestamp and nonce < 2^32,
market and side < 2^8, size < 2^48, prices < 2^56, amounts and fees < 2^63), so no two fields
overlap and every word is below 2^253 < r. ``message()`` methods return the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Union

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.eddsa import Signature
from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon, poseidon_many
from rollup.errors import ConfigError, MalformedTransactionError, OutOfBoundsError

__all__ = [
    "ACCOUNT_LEAF_FIELDS",
    "DEMO_MARKETS",
    "MAX_ACCOUNT_DEPTH",
    "MAX_ORDER_DEPTH",
    "AMOUNT_BOUND",
    "COLLATERAL_BOUND",
    "EXCHANGE_ID_BOUND",
    "FUNDING_INDEX_BOUND",
    "INSURANCE_BOUND",
    "INSURANCE_SCALE",
    "L1_ADDRESS_BOUND",
    "MAX_MARKETS",
    "MAX_ORACLES",
    "NONCE_BOUND",
    "ORDER_ID_BOUND",
    "PRICE_BOUND",
    "PRICE_SCALE",
    "RATE_BOUND",
    "RATE_SCALE",
    "RISK_SCALE",
    "SIZE_BOUND",
    "SLOT_FILLED_BITS",
    "TIMESTAMP_BOUND",
    "Account",
    "Deleverage",
    "DeleverageRecord",
    "Deposit",
    "DepositRecord",
    "ExchangeConfig",
    "ForcedWithdrawal",
    "ForcedWithdrawalRecord",
    "FundingRecord",
    "FundingTick",
    "Genesis",
    "Liquidate",
    "LiquidateRecord",
    "MarketParams",
    "MarketState",
    "MessageKind",
    "NoopRecord",
    "OraclePriceTick",
    "OracleRecord",
    "OracleSignature",
    "Order",
    "Record",
    "Side",
    "Signature",
    "SignedOrder",
    "Trade",
    "TradeRecord",
    "Transaction",
    "Transfer",
    "TransferRecord",
    "Withdrawal",
    "WithdrawalRecord",
    "check_int",
    "check_signed",
    "message_hash",
    "message_tag",
    "oracle_message",
    "pack_slot",
    "prehash",
    "sign_oracle_price",
    "sign_order",
    "sign_transfer",
    "sign_withdrawal",
    "symbol_to_int",
    "to_field",
    "unpack_slot",
    "valid_deposit_key",
    "valid_public_key",
    "withdrawal_message",
    "transfer_message",
    "order_message",
    "cancel_message",
    "pack_word",
    "DEMO_INSURANCE_KEY",
]

# --- scales and bounds (see the module docstring) ------------------------------------------

MAX_MARKETS = 4
MAX_ORACLES = 8
PRICE_SCALE = 1 << 32
RISK_SCALE = 10**6
RATE_SCALE = 10**12
INSURANCE_SCALE = PRICE_SCALE

COLLATERAL_BOUND = 1 << 63
AMOUNT_BOUND = 1 << 63
SIZE_BOUND = 1 << 48
PRICE_BOUND = 1 << 56
FUNDING_INDEX_BOUND = 1 << 56
ORDER_ID_BOUND = 1 << 32
NONCE_BOUND = 1 << 32
TIMESTAMP_BOUND = 1 << 32
L1_ADDRESS_BOUND = 1 << 160
INSURANCE_BOUND = 1 << 127
EXCHANGE_ID_BOUND = 1 << 32
RATE_BOUND = 1 << 40
MAX_ACCOUNT_DEPTH = 16  # 4-ary levels: 4^16 = 2^32 accounts at most
MAX_ORDER_DEPTH = 8  # 4-ary levels: 4^8 = 65,536 order slots per account at most
SLOT_FILLED_BITS = 48  # an order slot leaf is order_id * 2^48 + filled

ACCOUNT_LEAF_FIELDS = 5  # leaf = P5(static_hash, collateral, orders_root, sizes, funding)

DEMO_INSURANCE_KEY = bytes([0xEE]) * 32
"""Private key of the development insurance account (account 0) that ``Genesis`` uses when no
``insurance_pubkey`` is given (public: tests and demos only; a deployment sets its own)."""

R = FIELD_MODULUS


def to_field(value: int) -> int:
    """A signed integer as a field element (its residue mod r)."""
    return value % R


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: object, lo: int, hi: int, what: str) -> int:
    """``value`` if it is an int with lo <= value < hi; else MalformedTransactionError (not an int)
    or OutOfBoundsError (outside the range)."""
    if not _is_int(value):
        raise MalformedTransactionError(f"{what} must be an int, got {type(value).__name__}")
    if not lo <= value < hi:
        raise OutOfBoundsError(f"{what} = {value} is outside [{lo}, {hi})")
    return value  # type: ignore[return-value]


def check_signed(value: object, bound: int, what: str) -> int:
    """``value`` if it is an int with -bound < value < bound."""
    return check_int(value, -bound + 1, bound, what)


class Side(IntEnum):
    BUY = 0
    SELL = 1


class MessageKind(IntEnum):
    ORDER = 1
    WITHDRAWAL = 2
    TRANSFER = 3
    ORACLE_PRICE = 4
    CANCEL = 5


def message_tag(kind: MessageKind, exchange_id: int) -> int:
    """The low 40 bits of every signed message's first word: kind + 256 * exchange_id."""
    check_int(exchange_id, 0, EXCHANGE_ID_BOUND, "exchange_id")
    return int(kind) + (exchange_id << 8)


def pack_word(fields: Sequence[tuple[object, int, str]]) -> int:
    """Pack (value, bits, name) fields into one word, the first at bit 0; each value must be
    an int in [0, 2^bits) (``OutOfBoundsError`` / ``MalformedTransactionError`` otherwise)."""
    word, offset = 0, 0
    for value, bits, name in fields:
        word |= check_int(value, 0, 1 << bits, name) << offset
        offset += bits
    return word


def order_message(
    account: int,
    market: int,
    side: int,
    size: int,
    limit_price: int,
    max_fee: int,
    expiry: int,
    order_id: int,
    exchange_id: int,
) -> tuple[int, int]:
    """The packed words (w0, w1) an order signs (module docstring)."""
    w0 = pack_word(
        (
            (message_tag(MessageKind.ORDER, exchange_id), 40, "tag"),
            (account, 32, "account"),
            (market, 8, "market"),
            (int(side) if isinstance(side, IntEnum) else side, 8, "side"),
            (order_id, 32, "order_id"),
            (expiry, 32, "expiry"),
        )
    )
    w1 = pack_word(((size, 48, "size"), (limit_price, 56, "limit_price"), (max_fee, 63, "max_fee")))
    return w0, w1


def cancel_message(account: int, order_id: int, exchange_id: int) -> tuple[int]:
    """The packed word (w0,) a cancel signs."""
    tag = message_tag(MessageKind.CANCEL, exchange_id)
    return (pack_word(((tag, 40, "tag"), (account, 32, "account"), (order_id, 32, "order_id"))),)


def symbol_to_int(symbol: str) -> int:
    """A market symbol (1..8 ASCII characters) as the big-endian integer of its bytes."""
    if not isinstance(symbol, str) or not 1 <= len(symbol) <= 8 or not symbol.isascii():
        raise ConfigError(f"a market symbol is 1..8 ASCII characters, got {symbol!r}")
    return int.from_bytes(symbol.encode("ascii"), "big")


def pack_slot(order_id: int, filled: int) -> int:
    """The leaf of an order storage slot: order_id * 2^48 + filled."""
    return (order_id << SLOT_FILLED_BITS) | filled


def unpack_slot(leaf: int) -> tuple[int, int]:
    """(order_id, filled) of an order slot leaf."""
    return leaf >> SLOT_FILLED_BITS, leaf & ((1 << SLOT_FILLED_BITS) - 1)


# --- message hashes (cached: Poseidon on Python ints costs milliseconds) -----------------

_HASH_CACHE: dict[tuple[int, ...], int] = {}
_HASH_CACHE_MAX = 1 << 16


def message_hash(fields: Sequence[int], *, fast: bool = False) -> int:
    """``poseidon(fields)``, remembered for the last few thousand messages (``prehash`` fills
    the memory for many messages in one Numba batch). ``fast``: hash through the Numba kernel
    (``poseidon_many`` of one row, ~0.1 ms instead of ~0.3-1 ms in pure Python; it loads
    Numba, which the fast signature verifier has loaded anyway)."""
    key = tuple(fields)
    h = _HASH_CACHE.get(key)
    if h is None:
        h = poseidon_many([key])[0] if fast else poseidon(key)
        if len(_HASH_CACHE) >= _HASH_CACHE_MAX:
            _HASH_CACHE.clear()
        _HASH_CACHE[key] = h
    return h


def prehash(messages: Iterable[Sequence[int]]) -> None:
    """Hash many messages at once through ``poseidon_many`` (grouped by length) into the
    memory of ``message_hash``: the sequencer's intake of a burst of orders."""
    groups: dict[int, list[tuple[int, ...]]] = {}
    for m in messages:
        key = tuple(m)
        if key not in _HASH_CACHE:
            groups.setdefault(len(key), []).append(key)
    for rows in groups.values():
        rows = list(dict.fromkeys(rows))
        if len(_HASH_CACHE) + len(rows) >= _HASH_CACHE_MAX:
            _HASH_CACHE.clear()
        for key, h in zip(rows, poseidon_many(rows)):
            _HASH_CACHE[key] = h


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketParams:
    """A perpetual market's fixed parameters (set at genesis, committed in the root)."""

    symbol: str  # 1..8 ASCII characters, e.g. "BTC"
    synthetic_decimals: int  # 1 synthetic quantum = 10^-synthetic_decimals units (0..30)
    maintenance_margin: int  # ppm: the risk factor of TR (liquidation below it)
    initial_margin: int  # ppm: the factor of TR_initial (new risk and withdrawals)
    liquidation_fee: int  # ppm of the liquidated notional, at most, to the insurance fund
    max_funding_rate: int  # per second, RATE_SCALE
    max_position: int  # |position| <= max_position (synthetic quanta)
    max_price: int  # fills and oracle prices <= max_price (PRICE_SCALE)

    def validate(self) -> None:
        symbol_to_int(self.symbol)
        try:
            check_int(self.synthetic_decimals, 0, 31, "synthetic_decimals")
            check_int(self.maintenance_margin, 1, RISK_SCALE + 1, "maintenance_margin")
            check_int(
                self.initial_margin,
                self.maintenance_margin,
                RISK_SCALE + 1,
                "initial_margin (>= maintenance_margin)",
            )
            check_int(self.liquidation_fee, 0, RISK_SCALE + 1, "liquidation_fee")
            check_int(self.max_funding_rate, 0, RATE_BOUND, "max_funding_rate")
            check_int(self.max_position, 1, SIZE_BOUND, "max_position")
            check_int(self.max_price, 1, PRICE_BOUND, "max_price")
        except (OutOfBoundsError, MalformedTransactionError) as exc:
            raise ConfigError(f"market {self.symbol!r}: {exc}") from exc

    def fields(self) -> tuple[int, ...]:
        return (
            symbol_to_int(self.symbol),
            self.synthetic_decimals,
            self.maintenance_margin,
            self.initial_margin,
            self.liquidation_fee,
            self.max_funding_rate,
            self.max_position,
            self.max_price,
        )


@dataclass(frozen=True)
class MarketState:
    """A market's moving values: oracle price, global funding index, time of the price."""

    price: int  # PRICE_SCALE, 0 < price <= max_price
    funding_index: int  # PRICE_SCALE, signed, |g| < 2^56
    price_time: int  # timestamp of the last oracle tick (genesis time at first)


@dataclass(frozen=True)
class ExchangeConfig:
    """Everything fixed at genesis: markets, oracle whitelist and quorum, tree depths."""

    exchange_id: int
    markets: tuple[MarketParams, ...]  # 1..MAX_MARKETS, market index = position
    oracle_keys: tuple[bj.Point, ...]  # 1..MAX_ORACLES whitelisted keys, oracle index = position
    oracle_quorum: int  # 1..len(oracle_keys) signatures needed per price
    oracle_validity: int  # seconds: a signed price is fresh for this long (1..2^32)
    account_depth: int = 8  # 4-ary levels: 4^8 = 65,536 accounts (1..16)
    order_depth: int = 2  # 4-ary levels: 4^2 = 16 order storage slots per account (1..8)

    def validate(self) -> None:
        try:
            check_int(self.exchange_id, 0, EXCHANGE_ID_BOUND, "exchange_id")
            check_int(self.account_depth, 1, MAX_ACCOUNT_DEPTH + 1, "account_depth")
            check_int(self.order_depth, 1, MAX_ORDER_DEPTH + 1, "order_depth")
            check_int(self.oracle_validity, 1, TIMESTAMP_BOUND, "oracle_validity")
            if not isinstance(self.markets, tuple) or not 1 <= len(self.markets) <= MAX_MARKETS:
                raise ConfigError(f"between 1 and {MAX_MARKETS} markets (a tuple)")
            if not isinstance(self.oracle_keys, tuple) or not 1 <= len(self.oracle_keys) <= 8:
                raise ConfigError(f"between 1 and {MAX_ORACLES} oracle keys (a tuple)")
            check_int(self.oracle_quorum, 1, len(self.oracle_keys) + 1, "oracle_quorum")
        except (OutOfBoundsError, MalformedTransactionError) as exc:
            raise ConfigError(str(exc)) from exc
        for m in self.markets:
            if not isinstance(m, MarketParams):
                raise ConfigError("markets must be MarketParams")
            m.validate()
        if len({m.symbol for m in self.markets}) != len(self.markets):
            raise ConfigError("market symbols must be distinct")
        for i, key in enumerate(self.oracle_keys):
            if not valid_public_key(key):
                raise ConfigError(f"oracle key {i} is not a point of the prime-order subgroup")
        if len(set(self.oracle_keys)) != len(self.oracle_keys):
            raise ConfigError("oracle keys must be distinct")

    @property
    def n_markets(self) -> int:
        return len(self.markets)

    @property
    def n_accounts(self) -> int:
        """4^account_depth: the accounts tree's leaves."""
        return 1 << (2 * self.account_depth)

    @property
    def n_slots(self) -> int:
        """4^order_depth: the order storage slots of an account."""
        return 1 << (2 * self.order_depth)


def valid_deposit_key(key: object) -> bool:
    """A key an account may be opened with: a Baby Jubjub point whose torsion-free part is not
    the identity (8 * key != identity). Keys outside the prime-order subgroup are accepted:
    EdDSA-Poseidon verification is cofactored in the key (circomlib checks
    S * B8 = R8 + (8 * h) * A, h hashing A itself), so such a key is controlled by whoever
    knows the discrete log of its torsion-free part (with a signer that hashes the key as
    given: wallets never make such keys, as prv2pub lands in the subgroup). The rollup
    contract checks this rule cheaply at deposit time (the key unpacks, and is not one of the
    8 small-order points), so a deposit reaching a batch is never refused for its key; proving
    the subgroup instead would cost the contract ~150k gas a deposit or the circuit a scalar
    multiplication by the group order per slot (issue E)."""
    return (
        isinstance(key, tuple)
        and len(key) == 2
        and bj.on_curve(key)
        and bj.mul(key, 8) != bj.IDENTITY
    )


def valid_public_key(key: object) -> bool:
    """A Baby Jubjub point of the prime-order subgroup other than the identity."""
    return (
        isinstance(key, tuple)
        and len(key) == 2
        and bj.on_curve(key)
        and key != bj.IDENTITY
        and bj.in_subgroup(key)
    )


@dataclass(frozen=True)
class Genesis:
    """The starting point of a state: config, the first oracle prices, the time, and the
    insurance account (account 0: the operator's key and L1 address; a development key,
    ``DEMO_INSURANCE_KEY``'s, when none is given)."""

    config: ExchangeConfig
    prices: tuple[int, ...]  # one per configured market, PRICE_SCALE
    timestamp: int
    insurance_pubkey: bj.Point | None = None  # None: eddsa.prv2pub(DEMO_INSURANCE_KEY)
    insurance_l1_address: int = 0

    def __post_init__(self) -> None:
        if self.insurance_pubkey is None:
            object.__setattr__(self, "insurance_pubkey", _demo_insurance_pubkey())

    def validate(self) -> None:
        self.config.validate()
        if not valid_public_key(self.insurance_pubkey):
            raise ConfigError("the insurance key is not a point of the prime-order subgroup")
        try:
            check_int(self.insurance_l1_address, 0, L1_ADDRESS_BOUND, "insurance_l1_address")
        except (OutOfBoundsError, MalformedTransactionError) as exc:
            raise ConfigError(str(exc)) from exc
        if not isinstance(self.prices, tuple) or len(self.prices) != self.config.n_markets:
            raise ConfigError(f"one genesis price per market ({self.config.n_markets})")
        try:
            for m, (p, params) in enumerate(zip(self.prices, self.config.markets)):
                check_int(p, 1, params.max_price + 1, f"genesis price of market {m}")
            check_int(self.timestamp, 0, TIMESTAMP_BOUND, "genesis timestamp")
        except (OutOfBoundsError, MalformedTransactionError) as exc:
            raise ConfigError(str(exc)) from exc


_DEMO_INSURANCE_PUB: list[bj.Point] = []


def _demo_insurance_pubkey() -> bj.Point:
    if not _DEMO_INSURANCE_PUB:
        _DEMO_INSURANCE_PUB.append(eddsa.prv2pub(DEMO_INSURANCE_KEY))
    return _DEMO_INSURANCE_PUB[0]


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """An account leaf's content (its orders root lives in the state's order trees).

    Leaf hash (layout v2, signed values mod r)::

        leaf         = P5(static_hash, collateral, orders_root, sizes_hash, funding_hash)
        static_hash  = P4(pubkey.x, pubkey.y, l1_address, nonce)     (static_fields)
        sizes_hash   = P4(size_0, size_1, size_2, size_3)            (size_fields)
        funding_hash = P4(funding_0, .., funding_3)                  (funding_fields)

    where size_m is the signed position in market m and funding_m the global funding index of
    m when the account was last written (every write settles funding first). Unused markets
    hold 0 and 0. An empty leaf (no account) is the field element 0.
    """

    pubkey: bj.Point
    l1_address: int
    collateral: int = 0
    nonce: int = 0
    positions: tuple[int, ...] = (0,) * MAX_MARKETS
    funding: tuple[int, ...] = (0,) * MAX_MARKETS

    def static_fields(self) -> tuple[int, int, int, int]:
        return (self.pubkey[0], self.pubkey[1], self.l1_address, self.nonce)

    def size_fields(self) -> tuple[int, ...]:
        return tuple(s % R for s in self.positions)

    def funding_fields(self) -> tuple[int, ...]:
        return tuple(g % R for g in self.funding)

    def leaf_parts(self, orders_root: int) -> tuple:
        """(static_fields, collateral mod r, orders_root, size_fields, funding_fields)."""
        return (
            self.static_fields(),
            self.collateral % R,
            orders_root,
            self.size_fields(),
            self.funding_fields(),
        )

    def leaf(self, orders_root: int) -> int:
        """The leaf hash (pure Python; the state hashes leaves in Numba batches)."""
        return poseidon(
            [
                poseidon(self.static_fields()),
                self.collateral % R,
                orders_root,
                poseidon(self.size_fields()),
                poseidon(self.funding_fields()),
            ]
        )


# --- orders and transactions ---------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """A limit order as its owner signs it."""

    account: int
    market: int
    side: int  # Side.BUY (0) or Side.SELL (1)
    size: int  # synthetic quanta, 0 < size < 2^48
    limit_price: int  # PRICE_SCALE: the worst price (highest for a buy, lowest for a sell)
    max_fee: int  # collateral quanta for the whole size; a fill pays at most pro rata
    expiry: int  # timestamp: fillable while now <= expiry
    order_id: int  # 0 <= id < 2^32; its storage slot is id mod 4^order_depth

    def message(self, exchange_id: int) -> tuple[int, ...]:
        """The packed words (w0, w1) the owner signs (module docstring)."""
        return order_message(
            self.account,
            self.market,
            self.side,
            self.size,
            self.limit_price,
            self.max_fee,
            self.expiry,
            self.order_id,
            exchange_id,
        )


@dataclass(frozen=True)
class SignedOrder:
    order: Order
    signature: Signature


@dataclass(frozen=True)
class Deposit:
    """An L1 deposit from the contract's queue: credit ``amount`` to the account of
    ``pubkey`` (circomlibjs-packed, 32 bytes), creating it in the next free leaf with
    ``l1_address`` (the depositor) as its withdrawal address if the key has no account."""

    pubkey: bytes
    l1_address: int
    amount: int


@dataclass(frozen=True)
class Withdrawal:
    """Signed: move ``amount`` to the account's L1 address, paying ``fee`` to the fund."""

    account: int
    amount: int
    fee: int
    nonce: int
    signature: Signature

    def message(self, exchange_id: int) -> tuple[int, ...]:
        return withdrawal_message(self.account, self.amount, self.fee, self.nonce, exchange_id)


@dataclass(frozen=True)
class Transfer:
    """Signed by the sender: move ``amount`` of collateral to ``recipient``."""

    sender: int
    recipient: int
    amount: int
    fee: int
    nonce: int
    signature: Signature

    def message(self, exchange_id: int) -> tuple[int, ...]:
        return transfer_message(
            self.sender, self.recipient, self.amount, self.fee, self.nonce, exchange_id
        )


@dataclass(frozen=True)
class ForcedWithdrawal:
    """An L1 request (unsigned on L2): the account's L1 address asks for ``amount``."""

    account: int
    l1_address: int
    amount: int


@dataclass(frozen=True)
class Trade:
    """Two signed limit orders and the fill: ``size`` at ``price``, each side's fee."""

    taker: SignedOrder
    maker: SignedOrder
    size: int
    price: int
    taker_fee: int
    maker_fee: int


@dataclass(frozen=True)
class FundingTick:
    """New global funding indices (one per configured market) at ``timestamp``."""

    timestamp: int
    indices: tuple[int, ...]


@dataclass(frozen=True)
class OracleSignature:
    """Oracle ``oracle`` (an index into the whitelist) signed (market, price, timestamp)."""

    oracle: int
    price: int
    timestamp: int
    signature: Signature


@dataclass(frozen=True)
class OraclePriceTick:
    """A new oracle price for one market: a median of a quorum of signed prices."""

    market: int
    timestamp: int
    price: int
    signatures: tuple[OracleSignature, ...]


@dataclass(frozen=True)
class Liquidate:
    """The liquidator's signed order takes over (part of) the liquidated account's position
    in the order's market, on the opposite side, at ``price``."""

    liquidator: SignedOrder
    liquidated: int
    size: int
    price: int
    liquidator_fee: int  # the liquidator's trading fee (its order's max_fee, pro rata)
    insurance_fee: int  # the liquidation penalty paid by the liquidated account


@dataclass(frozen=True)
class Deleverage:
    """The operator closes part of a bankrupt account's position (TV < 0) against an account
    holding the opposite position, at ``price``."""

    market: int
    deleveraged: int
    deleverager: int
    size: int
    price: int


Transaction = Union[  # noqa: UP007 (a runtime alias)
    Deposit,
    Withdrawal,
    Transfer,
    ForcedWithdrawal,
    Trade,
    FundingTick,
    OraclePriceTick,
    Liquidate,
    Deleverage,
]


# --- pubdata records: the public effect of each transaction (rollup.pubdata encodes them) --


@dataclass(frozen=True)
class NoopRecord:
    """Padding."""


@dataclass(frozen=True)
class DepositRecord:
    account: int  # the credited account (0 when refused)
    pubkey: bytes  # packed, as in the deposit
    l1_address: int
    amount: int
    executed: bool


@dataclass(frozen=True)
class WithdrawalRecord:
    account: int
    l1_address: int  # the account's, where the contract pays ``amount``
    amount: int
    fee: int


@dataclass(frozen=True)
class ForcedWithdrawalRecord:
    account: int
    l1_address: int
    amount: int
    executed: bool


@dataclass(frozen=True)
class TransferRecord:
    sender: int
    recipient: int
    amount: int
    fee: int


@dataclass(frozen=True)
class TradeRecord:
    market: int
    taker_side: int
    taker: int
    maker: int
    taker_order_id: int
    maker_order_id: int
    size: int
    price: int
    taker_fee: int
    maker_fee: int


@dataclass(frozen=True)
class FundingRecord:
    timestamp: int
    indices: tuple[int, ...]  # MAX_MARKETS entries, 0 for unused markets


@dataclass(frozen=True)
class OracleRecord:
    market: int
    timestamp: int
    price: int


@dataclass(frozen=True)
class LiquidateRecord:
    market: int
    liquidator_side: int
    liquidator: int
    liquidated: int
    liquidator_order_id: int
    size: int
    price: int
    liquidator_fee: int
    insurance_fee: int


@dataclass(frozen=True)
class DeleverageRecord:
    market: int
    deleveraged_side: int  # SELL when the deleveraged account is long
    deleveraged: int
    deleverager: int
    size: int
    price: int


Record = Union[  # noqa: UP007 (a runtime alias)
    NoopRecord,
    DepositRecord,
    WithdrawalRecord,
    ForcedWithdrawalRecord,
    TransferRecord,
    TradeRecord,
    FundingRecord,
    OracleRecord,
    LiquidateRecord,
    DeleverageRecord,
]


# --- message layouts and client-side signing -------------------------------------------------


def withdrawal_message(
    account: int, amount: int, fee: int, nonce: int, exchange_id: int
) -> tuple[int, ...]:
    """The packed words (w0, w1) a withdrawal signs."""
    tag = message_tag(MessageKind.WITHDRAWAL, exchange_id)
    w0 = pack_word(((tag, 40, "tag"), (account, 32, "account"), (nonce, 32, "nonce")))
    return w0, pack_word(((amount, 64, "amount"), (fee, 64, "fee")))


def transfer_message(
    sender: int, recipient: int, amount: int, fee: int, nonce: int, exchange_id: int
) -> tuple[int, ...]:
    """The packed words (w0, w1) a transfer signs."""
    tag = message_tag(MessageKind.TRANSFER, exchange_id)
    w0 = pack_word(
        (
            (tag, 40, "tag"),
            (sender, 32, "sender"),
            (recipient, 32, "recipient"),
            (nonce, 32, "nonce"),
        )
    )
    return w0, pack_word(((amount, 64, "amount"), (fee, 64, "fee")))


def oracle_message(market: int, price: int, timestamp: int, exchange_id: int) -> tuple[int, ...]:
    """The packed word (w0,) an oracle signs for a price."""
    tag = message_tag(MessageKind.ORACLE_PRICE, exchange_id)
    return (
        pack_word(
            (
                (tag, 40, "tag"),
                (market, 8, "market"),
                (timestamp, 32, "timestamp"),
                (price, 56, "price"),
            )
        ),
    )


def _sign(prv: bytes, words: tuple[int, ...]) -> Signature:
    for i, v in enumerate(words):
        if not _is_int(v) or not 0 <= v < R:
            raise MalformedTransactionError(f"message word {i} is not a field element: {v!r}")
    return eddsa.sign_poseidon(prv, message_hash(words))


def sign_order(prv: bytes, order: Order, exchange_id: int) -> SignedOrder:
    return SignedOrder(order, _sign(prv, order.message(exchange_id)))


def sign_withdrawal(
    prv: bytes, account: int, amount: int, fee: int, nonce: int, exchange_id: int
) -> Withdrawal:
    sig = _sign(prv, withdrawal_message(account, amount, fee, nonce, exchange_id))
    return Withdrawal(account, amount, fee, nonce, sig)


def sign_transfer(
    prv: bytes, sender: int, recipient: int, amount: int, fee: int, nonce: int, exchange_id: int
) -> Transfer:
    sig = _sign(prv, transfer_message(sender, recipient, amount, fee, nonce, exchange_id))
    return Transfer(sender, recipient, amount, fee, nonce, sig)


def sign_oracle_price(
    prv: bytes, oracle: int, market: int, price: int, timestamp: int, exchange_id: int
) -> OracleSignature:
    sig = _sign(prv, oracle_message(market, price, timestamp, exchange_id))
    return OracleSignature(oracle, price, timestamp, sig)


# --- a demonstration configuration (tests, the demo, the sequencer's defaults) --------------

DEMO_MARKETS: tuple[MarketParams, ...] = (
    # BTC in satoshi quanta: 60,000 USDC is 600 quanta/sat, the price 600 * 2^32
    MarketParams("BTC", 8, 30_000, 50_000, 10_000, 277_778, 10**12, 100_000 * PRICE_SCALE),
    # ETH in gwei quanta: 3,000 USDC is 3 quanta/gwei
    MarketParams("ETH", 9, 30_000, 50_000, 10_000, 277_778, 10**14, 1_000 * PRICE_SCALE),
    # SOL in micro-SOL quanta: 150 USDC is 150 quanta/uSOL
    MarketParams("SOL", 6, 50_000, 100_000, 10_000, 277_778, 10**12, 100_000 * PRICE_SCALE),
)
"""BTC, ETH and SOL with 3% / 3% / 5% maintenance, 5% / 5% / 10% initial margin, a 1%
liquidation penalty cap and a funding cap of 0.1% of the price an hour."""
