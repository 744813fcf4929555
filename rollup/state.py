"""The exchange's state: accounts and their order slots in Poseidon Merkle trees, markets,
the insurance fund, and ``State.apply(tx)``: validate everything, then change everything.

Commitment: layout v2 (every hash is circomlib's Poseidon, ``circuits.gadgets.poseidon``;
P_n = Poseidon of n inputs; decided 2026-11-29, the reference the circuit and the contract follow)
-------------------------------------------------------------------------------------------------
::

    state_root    = P6(accounts_root, markets_hash, config_hash, insurance_dust,
                       next_account, funding_time)
    accounts_root : 4-ary sparse Merkle tree (circuits.gadgets.merkle.QuadMerkleTree) of depth
                    config.account_depth 4-ary levels (default 8: 65,536 accounts; 1..16)
    node          = P4(c0, c1, c2, c3), children in index order; empty leaf 0; empty subtree
                    E_0 = 0, E_h = P4(E_{h-1} x 4). Leaf i's path: at level k (0 = leaves) the
                    path node is child (i >> 2k) & 3 of its parent; a proof holds the 3 other
                    children of each level's parent in increasing child position (QuadProof).
    account leaf  = P5(static_hash, collateral mod r, orders_root, sizes_hash, funding_hash)
                    or 0 for no account, where
      static_hash = P4(pubkey.x, pubkey.y, l1_address, nonce)
      sizes_hash  = P4(size_0 mod r, .., size_3 mod r)        (0 for unused markets)
      funding_hash= P4(funding_0 mod r, .., funding_3 mod r)  (cached global indices)
    orders_root   : the account's order-slot tree, 4-ary, depth config.order_depth (default 2:
                    16 slots; 1..8); slot leaf = order_id * 2^48 + filled (0 = unused); an
                    account without orders has orders_root = E_order_depth
    markets_hash  = P4(market_leaf_0, .., market_leaf_3) (0 for unconfigured markets)
    market_leaf   = P11(symbol, synthetic_decimals, maintenance_margin, initial_margin,
                        liquidation_fee, max_funding_rate, max_position, max_price,
                        price, funding_index mod r, price_time)
    config_hash   = P6(exchange_id, account_depth, order_depth, oracle_keys_hash,
                       oracle_quorum, oracle_validity)   (depths in 4-ary levels)
    oracle_keys_hash = P16(x_0, y_0, .., x_7, y_7) (0, 0 for unused key slots)

``insurance_dust`` in [0, 2^32) is the fractional part of the insurance fund in 2^-32 quanta;
``next_account`` the next free leaf (1 at genesis); ``funding_time`` the timestamp of the last
funding tick (the genesis time at first).

Because every write of an account settles its funding for all markets first, every account
written in a batch gets funding_hash = P4(the current global indices): the circuit hashes it
once per funding epoch, so a write costs P5 + P4(sizes) and a read P5 + 3 x P4.

The insurance account (account 0)
---------------------------------
Account 0 is the insurance fund, created at genesis with ``Genesis.insurance_pubkey`` (the
operator's BabyJubJub key) and ``Genesis.insurance_l1_address``, collateral 0; ``next_account``
starts at 1. Otherwise it is an ordinary account (it withdraws, transfers and trades with its
key's signatures). Trading fees, trade rounding dust, liquidation penalties and funding
settlement dust accumulate during a batch in a *pending* accumulator (2^-32 quanta;
``pending_insurance``; not in the root; saved by ``dump``/``load``). ``end_batch()`` (the
sequencer calls it when it cuts a batch; ``rollup.pubdata.rebuild`` after each batch's records;
the circuit at the end of every batch) does one Merkle update of account 0:

    settle account 0's funding (as every write), dust d
    total = pending + insurance_dust + d
    account 0 collateral += total >> 32;  insurance_dust = total & (2^32 - 1);  pending = 0

Exact conservation: 2^32 * sum(collateral, account 0 included) + insurance_dust + pending
- U = 2^32 * (deposits - withdrawals), where U = sum over accounts and markets of
(g_m - f_m) * size_m is the funding the accounts owe and have not settled yet
(``unsettled_funding``; as positions sum to zero per market, -U = sum f_m * size_m).

Deposits and keys
-----------------
A deposit to account index i: if i == next_account the leaf must be empty and becomes a new
account with the deposit's key and L1 address (next_account += 1); otherwise account i must
exist and hold the deposit's key. The circuit does not prove that a key has at most one
account (there is no key -> index tree; as in zkSync Lite): uniqueness is the sequencer's
policy, which sends a key's deposits to its existing account (``account_index``).
``apply_record`` (the rebuild) follows the circuit's rule, so it accepts a record that opens a
second account for a key; ``account_index`` keeps the first.

Design decisions (issue D; bounds in rollup.types, rule formulas in rollup.rules)
--------------------------------------------------------------------------------
- Positions are inline in the account leaf (at most ``MAX_MARKETS`` = 4 markets): no position
  subtree, and the margin rule, which needs every position anyway, reads one leaf.
- Orders live under their account (a short path): Loopring-style storage slots. An order with
  id ``i`` uses slot ``i mod 4^order_depth``, which holds (order_id, filled). A fill of order
  ``i`` is accepted when the slot holds ``i`` (continue its fill) or an id below ``i`` (the slot
  is reused: filled restarts at 0, and the older order can never be filled again); an id below
  the slot's is a replay. So an account has at most 4^order_depth orders in flight, and a
  client must use increasing ids per slot.
- Withdrawals and transfers use the account's nonce (replay protection).
- Every write of an account settles its funding first: it pays ceil(F / 2^32) quanta of the
  unsettled funding F and caches the global funding index of every market. So "before" in the
  margin rule is the settled account; liquidation and deleverage conditions are evaluated on
  the settled account too (as ``value_and_risk`` does).
- The insurance fund is account 0 plus ``insurance_dust`` (above): trading fees, rounding dust
  (trade cash flows and funding settlements, fractions of a quantum: hence 2^-32 units) and
  liquidation penalties reach it through the pending accumulator, one Merkle update per batch
  instead of one per trade. Paying out of it is an ordinary withdrawal or transfer signed by
  the operator's insurance key.
- Collateral is signed: it is the cash leg of the positions (a long bought with borrowed cash
  holds negative collateral; there is no entry price). Withdrawals and transfers may take
  collateral only while TR_initial <= TV afterwards (dYdX v3's "free collateral" = TV - TRi),
  so an account without positions can never go below 0 by them; below 0 it goes only through
  the cash flows, funding and fees of positions.
- L1 requests (deposits, forced withdrawals) are never rejected for a state reason: they are
  *refused* (included with no effect, status in the pubdata) so one bad request cannot block
  the queue (cf. 0xPolygon/zkevm-node #3770). A deposit is refused when its key does not
  unpack to a curve point or has small order (``valid_deposit_key``; the contract rejects such
  keys at deposit time, so this refusal never reaches a proven batch), the tree is full, or
  the balance would leave its bound; a forced
  withdrawal when the account does not exist, its L1 address differs, or the collateral is not
  free. The circuit must prove the refusal reason, as ``apply_record`` checks it on a rebuild.
- Signatures: ``EdDSAVerifier`` verifies EdDSA-Poseidon (``circuits.gadgets.eddsa``) and
  remembers verified (message, key, signature) triples, so an order resting in the book is
  verified once however many fills it gets. Verification is cofactored in the key
  (S * B8 = R8 + 8 * h * A): an account key may lie outside the prime-order subgroup
  (``valid_deposit_key``: only small-order keys are refused), oracle and insurance keys are
  checked for the subgroup at genesis; R8 lies in the subgroup whenever the equation holds.

Transactions (what each checks and writes; "settle" = the funding settlement above)
-----------------------------------------------------------------------------------
- Deposit(pubkey, l1_address, amount): the key's account, or a new one at ``next_account``
  (``next_account`` += 1) with the depositor as its L1 address; settle, credit. Refusals above
  (a refused deposit's record carries account 0 and executed = 0).
- Withdrawal(account, amount, fee, nonce, sig): nonce = the account's; settle, debit amount +
  fee, nonce += 1; free collateral after. The record carries the account's L1 address.
- Transfer(sender, recipient, amount, fee, nonce, sig): as a withdrawal for the sender, then
  settle and credit the recipient (another existing account).
- ForcedWithdrawal(account, l1_address, amount): as a withdrawal without fee, nonce or
  signature, when the L1 address matches; else refused.
- Trade(taker, maker, size, price, taker_fee, maker_fee): both orders signed, unexpired
  (now <= expiry), same market, opposite sides, other accounts; price within both limits and
  <= max_price; each fee <= max_fee * size / order size; filled + size <= order size per
  order (slot rule above). Settle both; the buyer pays ceil(size * price / 2^32) + its fee,
  the seller gets floor(..) - its fee; positions +-size, |position| <= max_position; the
  margin rule for both; fees and dust to the fund.
- FundingTick(timestamp, indices): funding_time < timestamp <= now; each market's
  |new - old| * 10^12 <= max_funding_rate * price * (timestamp - funding_time).
- OraclePriceTick(market, timestamp, price, sigs): price_time <= timestamp <= now; at least
  ``oracle_quorum`` signatures with strictly increasing whitelisted oracle indices, each over
  (market, price_i, timestamp_i) with timestamp - oracle_validity <= timestamp_i <= timestamp;
  ``price`` a median by counting; price <= max_price. Sets price and price_time.
- Liquidate(liquidator order, liquidated, size, price, liquidator_fee, insurance_fee): the
  order's checks as in a trade; the liquidated account (settled) has TR > TV; its position in
  the order's market is on the other side and shrinks by size (no flip); price no worse for it
  than oracle * (1 -+ maintenance_margin); the penalty insurance_fee <= liquidation_fee * size
  * price and <= max(0, its TV after the fill); the liquidator passes the margin rule.
- Deleverage(market, deleveraged, deleverager, size, price): operator-initiated, unsigned;
  the deleveraged account (settled) has TV < 0; both positions shrink by size (opposite
  signs, no flip); price no worse than the oracle's for the deleveraged account, and its TV
  after <= 0 (at most the bankruptcy price).

Atomicity and speed
-------------------
``apply`` computes the complete change (a ``_Plan``) and raises a ``RollupError`` before
touching anything; only then does it commit. Hashing is lazy: a commit stages leaves, and
``root`` (or ``flush()``) hashes every changed order slot, account leaf and tree node once,
level by level in Numba batches (``poseidon_many``, ``quad_flush_many``) across all accounts:
one flush per batch, not per transaction.

For the circuit (issue E): ``check(tx)`` returns the receipt (which accounts and slots the
transaction writes) without changing the state; ``account_proof`` / ``order_proof``
(``QuadProof``), ``account_leaf_parts``, ``root_fields`` and ``pending_insurance`` give the
witness values; ``dump()`` / ``State.load()`` copy a state as JSON-able data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa, eddsa_batch
from circuits.gadgets.merkle import QuadMerkleTree, QuadProof, quad_empty_hashes, quad_flush_many
from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon, poseidon_many
from rollup import rules
from rollup.errors import (
    AccountNotDeleveragableError,
    AccountNotLiquidatableError,
    BadNonceError,
    BadSignatureError,
    FeeTooHighError,
    FundingTooLargeError,
    InsufficientCollateralError,
    InsufficientMarginError,
    InvalidReductionError,
    MalformedTransactionError,
    OracleMedianError,
    OracleQuorumError,
    OracleSignersError,
    OracleStaleError,
    OrderExpiredError,
    OrderMismatchError,
    OrderOverfilledError,
    OrderReplayedError,
    OutOfBoundsError,
    PositionLimitError,
    PriceOutsideLimitError,
    RebuildError,
    RollupError,
    SameAccountError,
    StorageError,
    TimestampError,
    UnfairDeleverageError,
    UnknownAccountError,
    UnknownMarketError,
)
from rollup.types import (
    AMOUNT_BOUND,
    COLLATERAL_BOUND,
    FUNDING_INDEX_BOUND,
    L1_ADDRESS_BOUND,
    MAX_MARKETS,
    MAX_ORACLES,
    NONCE_BOUND,
    ORDER_ID_BOUND,
    PRICE_BOUND,
    PRICE_SCALE,
    SIZE_BOUND,
    TIMESTAMP_BOUND,
    Account,
    Deleverage,
    DeleverageRecord,
    Deposit,
    DepositRecord,
    ForcedWithdrawal,
    ForcedWithdrawalRecord,
    FundingRecord,
    FundingTick,
    Genesis,
    Liquidate,
    LiquidateRecord,
    MarketState,
    NoopRecord,
    OraclePriceTick,
    OracleRecord,
    OracleSignature,
    Order,
    Record,
    Side,
    Signature,
    SignedOrder,
    Trade,
    TradeRecord,
    Transaction,
    Transfer,
    TransferRecord,
    Withdrawal,
    WithdrawalRecord,
    check_int,
    message_hash,
    oracle_message,
    pack_slot,
    to_field,
    unpack_slot,
    valid_deposit_key,
)

__all__ = ["INSURANCE_ACCOUNT", "EdDSAVerifier", "Receipt", "SignatureVerifier", "State"]

Backend = Literal["numba", "python"]

INSURANCE_ACCOUNT = 0
DUST_BITS = 32  # insurance_dust in [0, 2^32): 2^-32 quanta
_DUST_MASK = (1 << DUST_BITS) - 1
# 2^32 * collateral(0) + insurance_dust + pending stays below 2^95, so end_batch's collateral
# for account 0 stays below the collateral bound 2^63.
_FUND_BOUND = COLLATERAL_BOUND << DUST_BITS
DUMP_VERSION = 2


# --- signatures ----------------------------------------------------------------------------


class SignatureVerifier(Protocol):
    """Checks that ``signature`` signs ``poseidon(message)`` under ``pubkey``."""

    def verify(self, pubkey: bj.Point, message: tuple[int, ...], signature: object) -> bool: ...


class EdDSAVerifier:
    """EdDSA-Poseidon verification with a memory of verified (hash, key, signature) triples.

    ``pubkey`` must already be known to lie in the prime-order subgroup (the state checks
    account keys at their deposit and oracle keys in the config). ``fast`` (default) verifies
    with the Numba kernels of ``circuits.gadgets.eddsa_batch`` (~50x the pure-Python
    ``eddsa.verify_poseidon``, same verdicts); ``fast=False`` uses the pure-Python reference."""

    def __init__(self, max_entries: int = 1 << 16, fast: bool = True) -> None:
        self.max_entries = max_entries
        self.fast = fast
        self._ok: set[tuple] = set()

    def verify(self, pubkey: bj.Point, message: tuple[int, ...], signature: object) -> bool:
        if not isinstance(signature, Signature):
            return False
        try:
            h = message_hash(message, fast=self.fast)
        except (TypeError, ValueError):
            return False
        try:
            key = (h, pubkey, signature.r8, signature.s)
            hash(key)
        except TypeError:
            return False
        if key in self._ok:
            return True
        if self.fast:
            ok = eddsa_batch.verify_one(h, signature, pubkey, check_subgroup=False)
        else:
            ok = eddsa.verify_poseidon(h, signature, pubkey, check_subgroup=False)
        if ok:
            if len(self._ok) >= self.max_entries:
                self._ok.clear()
            self._ok.add(key)
        return ok


# --- receipts and plans --------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What one transaction did: its public record (``rollup.pubdata`` encodes it), whether it
    was executed (L1 requests may be refused, with a reason), the accounts and order slots it
    writes (in this order), and the insurance fund's change (2^-32 quanta)."""

    record: Record
    executed: bool = True
    reason: str | None = None
    accounts: tuple[int, ...] = ()
    slots: tuple[tuple[int, int], ...] = ()
    insurance_delta: int = 0


@dataclass
class _Plan:
    accounts: dict[int, Account] = field(default_factory=dict)
    slots: dict[tuple[int, int], int] = field(default_factory=dict)
    new_keys: dict[bj.Point, int] = field(default_factory=dict)
    markets: tuple[MarketState, ...] | None = None
    insurance: int = 0
    next_account: int | None = None
    funding_time: int | None = None


def _require(cond: bool, exc: type[RollupError], message: str) -> None:
    if not cond:
        raise exc(message)


def _check_side(side: object, what: str) -> int:
    if side not in (Side.BUY, Side.SELL) or isinstance(side, bool):
        raise MalformedTransactionError(f"{what} must be 0 (buy) or 1 (sell), got {side!r}")
    return int(side)  # type: ignore[arg-type]


# --- the state -----------------------------------------------------------------------------


class State:
    """The exchange's state from a ``Genesis``; see the module docstring."""

    insurance_dust: int
    next_account: int

    def __init__(
        self,
        genesis: Genesis,
        *,
        verifier: SignatureVerifier | None = None,
        backend: Backend = "numba",
    ) -> None:
        if not isinstance(genesis, Genesis):
            raise MalformedTransactionError("State needs a Genesis")
        genesis.validate()
        if backend not in ("numba", "python"):
            raise ValueError(f"backend must be 'numba' or 'python', got {backend!r}")
        cfg = genesis.config
        self.genesis = genesis
        self.config = cfg
        self.verifier: SignatureVerifier = verifier if verifier is not None else EdDSAVerifier()
        self.backend: Backend = backend
        self.markets: tuple[MarketState, ...] = tuple(
            MarketState(p, 0, genesis.timestamp) for p in genesis.prices
        )
        self.insurance_dust = 0
        self._pending = 0
        self.next_account = INSURANCE_ACCOUNT + 1
        self.funding_time = genesis.timestamp
        self.now = genesis.timestamp
        pad = (0,) * (MAX_MARKETS - cfg.n_markets)
        self._mmf = tuple(m.maintenance_margin for m in cfg.markets) + pad
        self._imf = tuple(m.initial_margin for m in cfg.markets) + pad
        self._accounts: dict[int, Account] = {}
        self._by_key: dict[bj.Point, int] = {}
        self._order_trees: dict[int, QuadMerkleTree] = {}
        self._orders_empty = quad_empty_hashes(cfg.order_depth)[-1]
        self._account_tree = QuadMerkleTree(cfg.account_depth, backend=backend)
        self._dirty_accounts: set[int] = set()
        self._dirty_orders: set[int] = set()
        self._funding_hashes: dict[tuple[int, ...], int] = {}
        self._markets_hash: int | None = None
        self._root: int | None = None
        pub = genesis.insurance_pubkey
        assert pub is not None  # Genesis.__post_init__ fills it
        self._accounts[INSURANCE_ACCOUNT] = Account(
            pubkey=pub, l1_address=genesis.insurance_l1_address, funding=self.funding_indices
        )
        self._by_key[pub] = INSURANCE_ACCOUNT
        self._dirty_accounts.add(INSURANCE_ACCOUNT)
        keys: list[int] = []
        for k in range(MAX_ORACLES):
            keys += list(cfg.oracle_keys[k]) if k < len(cfg.oracle_keys) else [0, 0]
        self.oracle_keys_hash = poseidon(keys)
        self.config_hash = poseidon(
            [
                cfg.exchange_id,
                cfg.account_depth,
                cfg.order_depth,
                self.oracle_keys_hash,
                cfg.oracle_quorum,
                cfg.oracle_validity,
            ]
        )

    # --- reading ---------------------------------------------------------------------------

    @property
    def prices(self) -> tuple[int, ...]:
        """Oracle prices of all MAX_MARKETS market slots (0 where unconfigured)."""
        pad = (0,) * (MAX_MARKETS - len(self.markets))
        return tuple(m.price for m in self.markets) + pad

    @property
    def funding_indices(self) -> tuple[int, ...]:
        pad = (0,) * (MAX_MARKETS - len(self.markets))
        return tuple(m.funding_index for m in self.markets) + pad

    def __len__(self) -> int:
        """The number of accounts."""
        return len(self._accounts)

    def account(self, index: int) -> Account:
        acc = self._accounts.get(index) if isinstance(index, int) else None
        if acc is None:
            raise UnknownAccountError(f"no account at index {index!r}")
        return acc

    def accounts(self) -> Iterator[tuple[int, Account]]:
        """(index, account) for every account, by index."""
        return ((i, self._accounts[i]) for i in sorted(self._accounts))

    def account_index(self, pubkey: bj.Point) -> int | None:
        """The account of a public key, or None."""
        return self._by_key.get(pubkey)

    def _slot_value(self, account: int, slot: int) -> int:
        tree = self._order_trees.get(account)
        return tree.get(slot) if tree is not None else 0

    def order_slot(self, account: int, slot: int) -> tuple[int, int]:
        """(order_id, filled) held by an account's order storage slot."""
        self.account(account)
        check_int(slot, 0, self.config.n_slots, "slot")
        return unpack_slot(self._slot_value(account, slot))

    def order_slots(self, account: int) -> Iterator[tuple[int, int]]:
        """(slot, leaf) for the used order slots of an account, by slot."""
        self.account(account)
        tree = self._order_trees.get(account)
        return tree.items() if tree is not None else iter(())

    def filled(self, account: int, order_id: int) -> int:
        """How much of order ``order_id`` of ``account`` is filled (0 for a new order);
        raises OrderReplayedError when its slot already holds a later order."""
        slot = order_id & (self.config.n_slots - 1)
        sid, filled = self.order_slot(account, slot)
        if order_id < sid:
            raise OrderReplayedError(
                f"order {order_id} of account {account}: its slot {slot} holds order {sid}"
            )
        return filled if order_id == sid else 0

    def value_and_risk(self, index: int) -> tuple[int, int, int]:
        """(TV, TR, TR_initial) of an account at the current prices after settling its
        funding, exactly as a liquidation or deleverage would see it (scales as in
        rollup.rules)."""
        acc, _ = self._settle(self.account(index))
        return self._tv(acc), self._tr(acc), self._tri(acc)

    def is_liquidatable(self, index: int) -> bool:
        tv, tr, _ = self.value_and_risk(index)
        return rules.is_liquidatable(tv, tr)

    def total_collateral(self) -> int:
        """The collateral of every account, the insurance account 0 included."""
        return sum(a.collateral for a in self._accounts.values())

    @property
    def pending_insurance(self) -> int:
        """The insurance accumulated in the open batch (2^-32 quanta; ``end_batch`` moves it
        to account 0 and ``insurance_dust``); not in the root."""
        return self._pending

    @property
    def insurance(self) -> int:
        """The whole insurance fund in 2^-32 quanta: 2^32 * account 0's collateral +
        insurance_dust + pending_insurance."""
        return (
            (self._accounts[INSURANCE_ACCOUNT].collateral << DUST_BITS)
            + self.insurance_dust
            + self._pending
        )

    def unsettled_funding(self) -> int:
        """U = sum over accounts and markets of (g_m - f_m) * size_m (2^-32 quanta): the
        funding the accounts owe and have not settled (the conservation law subtracts it)."""
        g = self.funding_indices
        return sum(
            (gm - fm) * sm
            for a in self._accounts.values()
            for sm, fm, gm in zip(a.positions, a.funding, g)
            if sm
        )

    def open_interest(self, market: int) -> tuple[int, int]:
        """(sum of long positions, sum of short positions) of a market."""
        longs = sum(a.positions[market] for a in self._accounts.values() if a.positions[market] > 0)
        shorts = sum(
            a.positions[market] for a in self._accounts.values() if a.positions[market] < 0
        )
        return longs, shorts

    # --- commitment ------------------------------------------------------------------------

    def _hash(self, rows: list[list[int]]) -> list[int]:
        if not rows:
            return []
        if self.backend == "python":
            return [poseidon(r) for r in rows]
        return poseidon_many(rows)

    def _market_leaf(self, m: int) -> list[int]:
        params, st = self.config.markets[m], self.markets[m]
        return [*params.fields(), st.price, to_field(st.funding_index), st.price_time]

    def _orders_root_of(self, account: int) -> int:
        tree = self._order_trees.get(account)
        return tree.root if tree is not None else self._orders_empty

    def flush(self) -> None:
        """Hash every changed order slot, account leaf and tree node (once each, in Numba
        batches level by level across all accounts), then the root."""
        if self._root is not None:
            return
        if self._dirty_orders:
            trees = [self._order_trees[a] for a in sorted(self._dirty_orders)]
            quad_flush_many(trees, self.backend)
            self._dirty_orders.clear()
        if self._dirty_accounts:
            idx = sorted(self._dirty_accounts)
            accs = [self._accounts[i] for i in idx]
            n = len(accs)
            fund = self._funding_hashes
            new_funding = list(dict.fromkeys(a.funding for a in accs if a.funding not in fund))
            rows4 = [list(a.static_fields()) for a in accs] + [list(a.size_fields()) for a in accs]
            rows4 += [[g % FIELD_MODULUS for g in f] for f in new_funding]
            h4 = self._hash(rows4)
            if len(fund) + len(new_funding) > 256:
                fund.clear()
            fund.update(zip(new_funding, h4[2 * n :]))
            rows5 = [
                [
                    h4[k],
                    a.collateral % FIELD_MODULUS,
                    self._orders_root_of(i),
                    h4[n + k],
                    fund[a.funding],
                ]
                for k, (i, a) in enumerate(zip(idx, accs))
            ]
            self._account_tree.set_many(zip(idx, self._hash(rows5)))
            self._dirty_accounts.clear()
        if self._markets_hash is None:
            n = self.config.n_markets
            leaves = self._hash([self._market_leaf(m) for m in range(n)])
            self._markets_hash = self._hash([leaves + [0] * (MAX_MARKETS - n)])[0]
        self._root = self._hash([list(self.root_fields(flushed=True))])[0]

    def root_fields(self, *, flushed: bool = False) -> tuple[int, int, int, int, int, int]:
        """The six inputs of the state root: (accounts_root, markets_hash, config_hash,
        insurance_dust, next_account, funding_time)."""
        if not flushed:
            self.flush()
        return (
            self._account_tree.root,
            self._markets_hash or 0,
            self.config_hash,
            self.insurance_dust,
            self.next_account,
            self.funding_time,
        )

    @property
    def root(self) -> int:
        """The state root (hashes what changed since the last flush)."""
        self.flush()
        assert self._root is not None
        return self._root

    @property
    def accounts_root(self) -> int:
        self.flush()
        return self._account_tree.root

    @property
    def markets_hash(self) -> int:
        self.flush()
        assert self._markets_hash is not None
        return self._markets_hash

    def orders_root(self, account: int) -> int:
        self.account(account)
        self.flush()
        return self._orders_root_of(account)

    def account_leaf_parts(self, index: int) -> tuple:
        """(static_fields (4), collateral mod r, orders_root, size_fields (4),
        funding_fields (4)) of account ``index``'s leaf (rollup.types.Account)."""
        return self.account(index).leaf_parts(self.orders_root(index))

    def account_leaf(self, index: int) -> int:
        """Leaf ``index`` of the accounts tree (0 for no account)."""
        self.flush()
        return self._account_tree.get(self._check_account_index(index, "account"))

    def accounts_tree(self) -> QuadMerkleTree:
        """A copy of the accounts tree (every change hashed in): the batch witness's memory
        (``rollup.proving``) replays a batch's account updates on it."""
        self.flush()
        return self._account_tree.copy()

    def account_proof(self, index: int) -> QuadProof:
        """Inclusion proof of leaf ``index`` of the accounts tree (empty leaves too)."""
        self._check_account_index(index, "account")
        self.flush()
        return self._account_tree.proof(index)

    def order_proof(self, account: int, slot: int) -> QuadProof:
        """Inclusion proof of an order slot in its account's orders tree."""
        self.account(account)
        depth = self.config.order_depth
        check_int(slot, 0, self.config.n_slots, "slot")
        self.flush()
        tree = self._order_trees.get(account)
        if tree is not None:
            return tree.proof(slot)
        zeros = quad_empty_hashes(depth)
        return QuadProof(slot, 0, tuple((zeros[h],) * 3 for h in range(depth)))

    # --- the end of a batch ------------------------------------------------------------------

    def end_batch(self) -> int:
        """Move the pending insurance to account 0 (module docstring): settle account 0's
        funding, total = pending + insurance_dust + its settlement dust; account 0 collateral
        += total >> 32, insurance_dust = total mod 2^32, pending = 0. Returns the quanta
        credited to account 0. Called once per batch (sequencer cut, rebuild, circuit)."""
        acc0, dust = self._settle(self._accounts[INSURANCE_ACCOUNT])
        total = self._pending + self.insurance_dust + dust
        c = acc0.collateral + (total >> DUST_BITS)
        _check_collateral(c)
        self._accounts[INSURANCE_ACCOUNT] = replace(acc0, collateral=c)
        self._dirty_accounts.add(INSURANCE_ACCOUNT)
        self.insurance_dust = total & _DUST_MASK
        self._pending = 0
        self._root = None
        return total >> DUST_BITS

    # --- copies as data ------------------------------------------------------------------------

    def dump(self) -> dict:
        """The state as JSON-able data (``State.load`` rebuilds it, every hash recomputed and
        checked against the recorded root)."""
        from rollup.requests_json import genesis_to_json

        accounts = [
            [
                i,
                [str(a.pubkey[0]), str(a.pubkey[1])],
                str(a.l1_address),
                a.collateral,
                a.nonce,
                list(a.positions),
                list(a.funding),
            ]
            for i, a in self.accounts()
        ]
        slots = [
            [acct, slot, str(leaf)]
            for acct in sorted(self._order_trees)
            for slot, leaf in self._order_trees[acct].items()
        ]
        return {
            "version": DUMP_VERSION,
            "genesis": genesis_to_json(self.genesis),
            "accounts": accounts,
            "slots": slots,
            "markets": [[m.price, m.funding_index, m.price_time] for m in self.markets],
            "insurance_dust": self.insurance_dust,
            "pending_insurance": str(self._pending),
            "next_account": self.next_account,
            "funding_time": self.funding_time,
            "now": self.now,
            "root": str(self.root),
        }

    @classmethod
    def load(
        cls,
        data: dict,
        genesis: Genesis | None = None,
        *,
        verifier: SignatureVerifier | None = None,
        backend: Backend = "numba",
    ) -> State:
        """The state ``dump`` gave (its genesis unless ``genesis`` is given), every hash
        recomputed; StorageError when the data does not load or does not hash to its
        recorded root."""
        from rollup.requests_json import genesis_from_json

        try:
            if data.get("version") != DUMP_VERSION:
                raise ValueError(f"unknown state dump version {data.get('version')!r}")
            if genesis is None:
                genesis = genesis_from_json(data["genesis"])
            s = cls(genesis, verifier=verifier, backend=backend)
            s._accounts.clear()
            s._by_key.clear()
            for i, pub, l1, collateral, nonce, positions, funding in data["accounts"]:
                key = (int(pub[0]), int(pub[1]))
                if len(positions) != MAX_MARKETS or len(funding) != MAX_MARKETS:
                    raise ValueError("positions and funding have one entry per market slot")
                check_int(i, 0, genesis.config.n_accounts, "account index")
                s._accounts[i] = Account(
                    key, int(l1), collateral, nonce, tuple(positions), tuple(funding)
                )
                s._by_key.setdefault(key, i)
                s._dirty_accounts.add(i)
            if INSURANCE_ACCOUNT not in s._accounts:
                raise ValueError("the insurance account 0 is missing")
            for acct, slot, leaf in data["slots"]:
                if acct not in s._accounts:
                    raise ValueError(f"order slots of a missing account {acct}")
                s._order_tree(acct).stage(slot, int(leaf))
                s._dirty_orders.add(acct)
            s.markets = tuple(MarketState(p, g, t) for p, g, t in data["markets"])
            s.insurance_dust = check_int(data["insurance_dust"], 0, 1 << DUST_BITS, "dust")
            s._pending = int(data["pending_insurance"])
            s.next_account = data["next_account"]
            s.funding_time = data["funding_time"]
            s.now = data["now"]
            s._markets_hash = None
            s._root = None
            root = s.root
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise StorageError(f"a state dump does not load: {exc}") from None
        if root != int(data["root"]):
            raise StorageError("a state dump does not hash to its recorded root")
        return s

    # --- time and copies -------------------------------------------------------------------

    def set_time(self, now: int) -> None:
        """Set the current time (the batch timestamp): expiries, oracle freshness and ticks are
        measured against it. Time never goes back."""
        check_int(now, 0, TIMESTAMP_BOUND, "now")
        if now < self.now:
            raise TimestampError(f"time goes back: {now} < {self.now}")
        self.now = now

    def snapshot(self) -> State:
        """An independent copy (the signature memory is shared)."""
        self.flush()
        new = State.__new__(State)
        new.__dict__.update(self.__dict__)
        new._accounts = dict(self._accounts)
        new._by_key = dict(self._by_key)
        new._order_trees = {a: t.copy() for a, t in self._order_trees.items()}
        new._account_tree = self._account_tree.copy()
        new._dirty_accounts = set()
        new._dirty_orders = set()
        return new

    copy = snapshot

    # --- applying --------------------------------------------------------------------------

    def check(self, tx: Transaction, now: int | None = None) -> Receipt:
        """Validate ``tx`` fully (raising a RollupError) and return its receipt, changing
        nothing."""
        return self._prepare(tx, now)[0]

    def apply(self, tx: Transaction, now: int | None = None) -> Receipt:
        """Validate ``tx`` fully, then apply it. On a rejection a RollupError is raised and
        nothing changes (state and root)."""
        receipt, plan = self._prepare(tx, now)
        self._commit(plan)
        return receipt

    def apply_record(self, record: Record) -> Receipt:
        """Apply a public record (from pubdata) without the private parts (signatures, order
        limits, expiries): the auditor's replay. Every check that needs only the state runs
        (margin, bounds, replays, liquidation and deleverage conditions, L1 request outcomes);
        a failure raises RebuildError (or the specific RollupError)."""
        plan, receipt = self._execute(record)
        self._commit(plan)
        return receipt

    def _prepare(self, tx: Transaction, now: int | None) -> tuple[Receipt, _Plan]:
        t = self.now if now is None else check_int(now, 0, TIMESTAMP_BOUND, "now")
        handler = _TX_HANDLERS.get(type(tx))
        if handler is None:
            raise MalformedTransactionError(f"not a transaction: {type(tx).__name__}")
        record, refusal = handler(self, tx, t)
        if refusal is not None:
            return Receipt(record, executed=False, reason=refusal), _Plan()
        plan, receipt = self._execute(record)
        return receipt, plan

    def _order_tree(self, account: int) -> QuadMerkleTree:
        tree = self._order_trees.get(account)
        if tree is None:
            tree = QuadMerkleTree(self.config.order_depth, backend=self.backend)
            self._order_trees[account] = tree
        return tree

    def _commit(self, plan: _Plan) -> None:
        for index, acc in plan.accounts.items():
            self._accounts[index] = acc
            self._dirty_accounts.add(index)
        for key, index in plan.new_keys.items():
            self._by_key.setdefault(key, index)
        for (acct, slot), leaf in plan.slots.items():
            self._order_tree(acct).stage(slot, leaf)
            self._dirty_orders.add(acct)
            self._dirty_accounts.add(acct)
        if plan.markets is not None:
            self.markets = plan.markets
            self._markets_hash = None
        self._pending += plan.insurance
        if plan.next_account is not None:
            self.next_account = plan.next_account
        if plan.funding_time is not None:
            self.funding_time = plan.funding_time
        self._root = None

    # --- helpers for plans ---------------------------------------------------------------

    def _acc(self, plan: _Plan, index: int) -> Account:
        acc = plan.accounts.get(index)
        if acc is None:
            acc = self._accounts.get(index)
        if acc is None:
            raise UnknownAccountError(f"no account at index {index}")
        return acc

    def _settle(self, acc: Account) -> tuple[Account, int]:
        """The account with its funding settled, and the dust (2^-32 quanta) for the fund."""
        indices = self.funding_indices
        charge, dust = rules.funding_settlement(acc.positions, acc.funding, indices)
        if charge == 0 and acc.funding == indices:
            return acc, dust
        c = acc.collateral - charge
        _check_collateral(c)
        return replace(acc, collateral=c, funding=indices), dust

    def _tv(self, acc: Account) -> int:
        return rules.total_value(acc.collateral, acc.positions, self.prices)

    def _tr(self, acc: Account) -> int:
        return rules.total_risk(acc.positions, self.prices, self._mmf)

    def _tri(self, acc: Account) -> int:
        return rules.total_risk(acc.positions, self.prices, self._imf)

    def _check_margin(self, before: Account, after: Account, who: int) -> None:
        ok = rules.margin_ok(
            self._tv(before),
            self._tr(before),
            before.positions,
            self._tv(after),
            self._tr(after),
            self._tri(after),
            after.positions,
        )
        _require(
            ok,
            InsufficientMarginError,
            f"account {who}: TR_initial > TV after the change "
            "and the change does not only reduce risk keeping TV/TR",
        )

    def _check_free_collateral(self, after: Account, who: int) -> None:
        _require(
            rules.meets_initial_margin(self._tv(after), self._tri(after)),
            InsufficientCollateralError,
            f"account {who}: the amount exceeds the free collateral",
        )

    def _move(self, acc: Account, market: int, delta: int, cash: int) -> Account:
        """acc with position ``market`` moved by ``delta`` and collateral by ``cash``."""
        pos = list(acc.positions)
        pos[market] += delta
        limit = self.config.markets[market].max_position
        _require(
            abs(pos[market]) <= limit,
            PositionLimitError,
            f"position {pos[market]} in market {market} exceeds {limit}",
        )
        c = acc.collateral + cash
        _check_collateral(c)
        return replace(acc, collateral=c, positions=tuple(pos))

    def _slot_leaf(self, plan: _Plan, account: int, order_id: int, fill: int) -> tuple[int, int]:
        """(slot, new leaf) after filling ``fill`` of order ``order_id``."""
        slot = order_id & (self.config.n_slots - 1)
        leaf = plan.slots.get((account, slot))
        if leaf is None:
            leaf = self._slot_value(account, slot)
        sid, filled = unpack_slot(leaf)
        if order_id < sid:
            raise OrderReplayedError(
                f"order {order_id} of account {account}: its slot {slot} holds order {sid}"
            )
        new = (filled if order_id == sid else 0) + fill
        if new >= SIZE_BOUND:
            raise OutOfBoundsError(f"order {order_id} of account {account}: filled {new} >= 2^48")
        return slot, pack_slot(order_id, new)

    def _check_market(self, market: object) -> int:
        if not isinstance(market, int) or isinstance(market, bool):
            raise MalformedTransactionError(f"market must be an int, got {market!r}")
        if not 0 <= market < self.config.n_markets:
            raise UnknownMarketError(f"market {market} is not configured")
        return market

    def _check_account_index(self, index: object, what: str) -> int:
        return check_int(index, 0, self.config.n_accounts, what)

    def _insurance(self, plan: _Plan, delta: int) -> None:
        plan.insurance += delta
        acc0 = plan.accounts.get(INSURANCE_ACCOUNT) or self._accounts[INSURANCE_ACCOUNT]
        fund = (acc0.collateral << DUST_BITS) + self.insurance_dust + self._pending + plan.insurance
        if not 0 <= self._pending + plan.insurance or fund >= _FUND_BOUND:
            raise OutOfBoundsError("the insurance fund would leave its bound (2^63 quanta)")

    def _verify(self, index: int, message: tuple[int, ...], signature: object, what: str) -> None:
        pub = self.account(index).pubkey
        if not self.verifier.verify(pub, message, signature):
            raise BadSignatureError(
                f"{what}: the signature does not verify under account {index}'s key"
            )

    # --- execution of public records (shared by apply and the rebuild) -----------------------

    def _execute(self, record: Record) -> tuple[_Plan, Receipt]:
        handler = _RECORD_HANDLERS.get(type(record))
        if handler is None:
            raise MalformedTransactionError(f"not a record: {type(record).__name__}")
        return handler(self, record)

    def _exec_noop(self, record: NoopRecord) -> tuple[_Plan, Receipt]:
        return _Plan(), Receipt(record)

    # deposits

    def _deposit_outcome(
        self, pubkey: bytes, l1_address: int, amount: int, to: int | None = None
    ) -> tuple[int, _Plan | None, str | None]:
        """(account, plan, None) for an executable deposit, (0, None, reason) otherwise.
        ``to``: the account a record names (the circuit's rule: next_account opens a new
        account, an existing one must hold the key); None: the sequencer's policy (the key's
        account, else next_account)."""
        try:
            point = bj.unpack_point(pubkey)
        except bj.BabyJubJubError as exc:
            return 0, None, f"the public key does not unpack: {exc}"
        plan = _Plan()
        index = self._by_key.get(point) if to is None else to
        if index is not None and index != self.next_account:
            acc = self._accounts.get(index)
            if acc is None or acc.pubkey != point:
                raise RebuildError(f"account {index} does not hold the deposit's key")
        try:
            if index is None or index == self.next_account:
                if not valid_deposit_key(point):
                    return 0, None, "the public key has small order (8 * key = identity)"
                index = self.next_account
                if index >= self.config.n_accounts:
                    return 0, None, "the accounts tree is full"
                _check_collateral(amount)
                acc = Account(
                    pubkey=point,
                    l1_address=l1_address,
                    collateral=amount,
                    funding=self.funding_indices,
                )
                plan.new_keys[point] = index
                plan.next_account = index + 1
            else:
                acc, dust = self._settle(self._accounts[index])
                self._insurance(plan, dust)
                c = acc.collateral + amount
                _check_collateral(c)
                acc = replace(acc, collateral=c)
        except OutOfBoundsError as exc:
            return 0, None, str(exc)
        plan.accounts[index] = acc
        return index, plan, None

    def _check_deposit_fields(self, pubkey: object, l1_address: object, amount: object) -> None:
        if not isinstance(pubkey, bytes) or len(pubkey) != 32:
            raise MalformedTransactionError("a deposit's public key is 32 packed bytes")
        check_int(l1_address, 0, L1_ADDRESS_BOUND, "l1_address")
        check_int(amount, 1, AMOUNT_BOUND, "amount")

    def _tx_deposit(self, tx: Deposit, now: int) -> tuple[Record, str | None]:
        self._check_deposit_fields(tx.pubkey, tx.l1_address, tx.amount)
        index, _, reason = self._deposit_outcome(tx.pubkey, tx.l1_address, tx.amount)
        return DepositRecord(index, tx.pubkey, tx.l1_address, tx.amount, reason is None), reason

    def _exec_deposit(self, r: DepositRecord) -> tuple[_Plan, Receipt]:
        self._check_deposit_fields(r.pubkey, r.l1_address, r.amount)
        self._check_account_index(r.account, "account")
        to = r.account if r.executed else None
        index, plan, reason = self._deposit_outcome(r.pubkey, r.l1_address, r.amount, to)
        if plan is None:
            if r.executed:
                raise RebuildError(f"a deposit marked executed must be refused: {reason}")
            if r.account != 0:
                raise RebuildError("a refused deposit carries account 0")
            return _Plan(), Receipt(r, executed=False, reason=reason)
        if not r.executed:
            raise RebuildError("a valid deposit was refused")
        if r.account != index:
            raise RebuildError(f"the deposit goes to account {index}, not {r.account}")
        return plan, Receipt(r, accounts=(index,), insurance_delta=plan.insurance)

    # withdrawals

    def _withdraw_plan(self, index: int, amount: int, fee: int, bump_nonce: bool) -> _Plan:
        plan = _Plan()
        acc, dust = self._settle(self._acc(plan, index))
        c = acc.collateral - amount - fee
        _check_collateral(c)
        nonce = acc.nonce + 1 if bump_nonce else acc.nonce
        if nonce >= NONCE_BOUND:
            raise OutOfBoundsError(f"account {index}: the nonce would reach 2^32")
        after = replace(acc, collateral=c, nonce=nonce)
        self._check_free_collateral(after, index)
        self._insurance(plan, dust + fee * PRICE_SCALE)
        plan.accounts[index] = after
        return plan

    def _tx_withdrawal(self, tx: Withdrawal, now: int) -> tuple[Record, None]:
        self._check_account_index(tx.account, "account")
        check_int(tx.amount, 1, AMOUNT_BOUND, "amount")
        check_int(tx.fee, 0, AMOUNT_BOUND, "fee")
        check_int(tx.nonce, 0, NONCE_BOUND, "nonce")
        acc = self.account(tx.account)
        _require(
            tx.nonce == acc.nonce,
            BadNonceError,
            f"account {tx.account}: nonce {tx.nonce}, expected {acc.nonce}",
        )
        self._verify(tx.account, tx.message(self.config.exchange_id), tx.signature, "withdrawal")
        return WithdrawalRecord(tx.account, acc.l1_address, tx.amount, tx.fee), None

    def _exec_withdrawal(self, r: WithdrawalRecord) -> tuple[_Plan, Receipt]:
        self._check_account_index(r.account, "account")
        check_int(r.amount, 1, AMOUNT_BOUND, "amount")
        check_int(r.fee, 0, AMOUNT_BOUND, "fee")
        if self.account(r.account).l1_address != r.l1_address:
            raise RebuildError(f"account {r.account} has another L1 address")
        plan = self._withdraw_plan(r.account, r.amount, r.fee, bump_nonce=True)
        return plan, Receipt(r, accounts=(r.account,), insurance_delta=plan.insurance)

    def _forced_outcome(self, index: int, l1_address: int, amount: int) -> tuple[_Plan | None, str]:
        if index not in self._accounts:
            return None, f"no account at index {index}"
        if self._accounts[index].l1_address != l1_address:
            return None, f"account {index} has another L1 address"
        try:
            return self._withdraw_plan(index, amount, 0, bump_nonce=False), ""
        except RollupError as exc:
            return None, str(exc)

    def _check_forced_fields(self, index: object, l1_address: object, amount: object) -> None:
        self._check_account_index(index, "account")
        check_int(l1_address, 0, L1_ADDRESS_BOUND, "l1_address")
        check_int(amount, 1, AMOUNT_BOUND, "amount")

    def _tx_forced(self, tx: ForcedWithdrawal, now: int) -> tuple[Record, str | None]:
        self._check_forced_fields(tx.account, tx.l1_address, tx.amount)
        plan, reason = self._forced_outcome(tx.account, tx.l1_address, tx.amount)
        record = ForcedWithdrawalRecord(tx.account, tx.l1_address, tx.amount, plan is not None)
        return record, None if plan is not None else reason

    def _exec_forced(self, r: ForcedWithdrawalRecord) -> tuple[_Plan, Receipt]:
        self._check_forced_fields(r.account, r.l1_address, r.amount)
        plan, reason = self._forced_outcome(r.account, r.l1_address, r.amount)
        if plan is None:
            if r.executed:
                raise RebuildError(f"a forced withdrawal marked executed must be refused: {reason}")
            return _Plan(), Receipt(r, executed=False, reason=reason)
        if not r.executed:
            raise RebuildError("a valid forced withdrawal was refused")
        return plan, Receipt(r, accounts=(r.account,), insurance_delta=plan.insurance)

    # transfers

    def _tx_transfer(self, tx: Transfer, now: int) -> tuple[Record, None]:
        self._check_account_index(tx.sender, "sender")
        self._check_account_index(tx.recipient, "recipient")
        check_int(tx.amount, 1, AMOUNT_BOUND, "amount")
        check_int(tx.fee, 0, AMOUNT_BOUND, "fee")
        check_int(tx.nonce, 0, NONCE_BOUND, "nonce")
        acc = self.account(tx.sender)
        self.account(tx.recipient)
        _require(tx.sender != tx.recipient, SameAccountError, "a transfer to its own sender")
        _require(
            tx.nonce == acc.nonce,
            BadNonceError,
            f"account {tx.sender}: nonce {tx.nonce}, expected {acc.nonce}",
        )
        self._verify(tx.sender, tx.message(self.config.exchange_id), tx.signature, "transfer")
        return TransferRecord(tx.sender, tx.recipient, tx.amount, tx.fee), None

    def _exec_transfer(self, r: TransferRecord) -> tuple[_Plan, Receipt]:
        self._check_account_index(r.sender, "sender")
        self._check_account_index(r.recipient, "recipient")
        check_int(r.amount, 1, AMOUNT_BOUND, "amount")
        check_int(r.fee, 0, AMOUNT_BOUND, "fee")
        _require(r.sender != r.recipient, SameAccountError, "a transfer to its own sender")
        self.account(r.recipient)
        plan = self._withdraw_plan(r.sender, r.amount, r.fee, bump_nonce=True)
        rec, dust = self._settle(self.account(r.recipient))
        c = rec.collateral + r.amount
        _check_collateral(c)
        plan.accounts[r.recipient] = replace(rec, collateral=c)
        self._insurance(plan, dust)
        receipt = Receipt(r, accounts=(r.sender, r.recipient), insurance_delta=plan.insurance)
        return plan, receipt

    # orders (trades and liquidations)

    def _check_fill(self, size: object, price: object, market: int) -> None:
        check_int(size, 1, SIZE_BOUND, "fill size")
        check_int(price, 1, PRICE_BOUND, "fill price")
        max_price = self.config.markets[market].max_price
        _require(
            price <= max_price,
            PriceOutsideLimitError,  # type: ignore[operator]
            f"price {price} above the market's maximum {max_price}",
        )

    def _check_order(
        self, so: object, now: int, fill: int, price: int, fee: int, what: str
    ) -> Order:
        """The private checks of one signed order (all but the signature)."""
        o = _check_signed_order(so, what)
        self._check_account_index(o.account, f"{what}.account")
        self._check_market(o.market)
        _check_side(o.side, f"{what}.side")
        check_int(o.size, 1, SIZE_BOUND, f"{what}.size")
        check_int(o.limit_price, 1, PRICE_BOUND, f"{what}.limit_price")
        check_int(o.max_fee, 0, AMOUNT_BOUND, f"{what}.max_fee")
        check_int(o.expiry, 0, TIMESTAMP_BOUND, f"{what}.expiry")
        check_int(o.order_id, 0, ORDER_ID_BOUND, f"{what}.order_id")
        self.account(o.account)
        _require(now <= o.expiry, OrderExpiredError, f"{what} expired at {o.expiry} (now {now})")
        _require(
            rules.price_within_limit(o.side, price, o.limit_price),
            PriceOutsideLimitError,
            f"{what}: price {price} beyond its limit {o.limit_price}",
        )
        _require(
            rules.fee_within_limit(fee, o.max_fee, fill, o.size),
            FeeTooHighError,
            f"{what}: fee {fee} above its pro-rata maximum ({o.max_fee} for {o.size})",
        )
        done = self.filled(o.account, o.order_id)
        _require(
            done + fill <= o.size,
            OrderOverfilledError,
            f"{what}: {done} + {fill} exceeds its size {o.size}",
        )
        return o

    def _tx_trade(self, tx: Trade, now: int) -> tuple[Record, None]:
        _check_signed_order(tx.taker, "taker order")
        _check_signed_order(tx.maker, "maker order")
        market = self._check_market(tx.taker.order.market)
        self._check_fill(tx.size, tx.price, market)
        check_int(tx.taker_fee, 0, AMOUNT_BOUND, "taker_fee")
        check_int(tx.maker_fee, 0, AMOUNT_BOUND, "maker_fee")
        t = self._check_order(tx.taker, now, tx.size, tx.price, tx.taker_fee, "taker order")
        m = self._check_order(tx.maker, now, tx.size, tx.price, tx.maker_fee, "maker order")
        _require(t.market == m.market, OrderMismatchError, "the orders are for different markets")
        _require(t.side != m.side, OrderMismatchError, "both orders are on the same side")
        _require(t.account != m.account, SameAccountError, "taker and maker are one account")
        x = self.config.exchange_id
        self._verify(t.account, t.message(x), tx.taker.signature, "taker order")
        self._verify(m.account, m.message(x), tx.maker.signature, "maker order")
        record = TradeRecord(
            market,
            int(t.side),
            t.account,
            m.account,
            t.order_id,
            m.order_id,
            tx.size,
            tx.price,
            tx.taker_fee,
            tx.maker_fee,
        )
        return record, None

    def _exec_trade(self, r: TradeRecord) -> tuple[_Plan, Receipt]:
        market = self._check_market(r.market)
        side = _check_side(r.taker_side, "taker_side")
        self._check_account_index(r.taker, "taker")
        self._check_account_index(r.maker, "maker")
        check_int(r.taker_order_id, 0, ORDER_ID_BOUND, "taker_order_id")
        check_int(r.maker_order_id, 0, ORDER_ID_BOUND, "maker_order_id")
        self._check_fill(r.size, r.price, market)
        check_int(r.taker_fee, 0, AMOUNT_BOUND, "taker_fee")
        check_int(r.maker_fee, 0, AMOUNT_BOUND, "maker_fee")
        _require(r.taker != r.maker, SameAccountError, "taker and maker are one account")
        plan = _Plan()
        taker0, d1 = self._settle(self._acc(plan, r.taker))
        maker0, d2 = self._settle(self._acc(plan, r.maker))
        ts, tleaf = self._slot_leaf(plan, r.taker, r.taker_order_id, r.size)
        ms, mleaf = self._slot_leaf(plan, r.maker, r.maker_order_id, r.size)
        debit, credit, dust = rules.trade_cash(r.size, r.price)
        if side == Side.BUY:
            taker1 = self._move(taker0, market, r.size, -debit - r.taker_fee)
            maker1 = self._move(maker0, market, -r.size, credit - r.maker_fee)
        else:
            taker1 = self._move(taker0, market, -r.size, credit - r.taker_fee)
            maker1 = self._move(maker0, market, r.size, -debit - r.maker_fee)
        self._check_margin(taker0, taker1, r.taker)
        self._check_margin(maker0, maker1, r.maker)
        self._insurance(plan, d1 + d2 + dust + (r.taker_fee + r.maker_fee) * PRICE_SCALE)
        plan.accounts[r.taker] = taker1
        plan.accounts[r.maker] = maker1
        plan.slots[(r.taker, ts)] = tleaf
        plan.slots[(r.maker, ms)] = mleaf
        receipt = Receipt(
            r,
            accounts=(r.taker, r.maker),
            slots=((r.taker, ts), (r.maker, ms)),
            insurance_delta=plan.insurance,
        )
        return plan, receipt

    # funding and oracle ticks

    def _tx_funding(self, tx: FundingTick, now: int) -> tuple[Record, None]:
        n = self.config.n_markets
        if not isinstance(tx.indices, tuple) or len(tx.indices) != n:
            raise MalformedTransactionError(f"a funding tick has one index per market ({n})")
        check_int(tx.timestamp, 0, TIMESTAMP_BOUND, "timestamp")
        _require(
            tx.timestamp <= now,
            TimestampError,
            f"funding tick at {tx.timestamp} is in the future (now {now})",
        )
        indices = tuple(tx.indices) + (0,) * (MAX_MARKETS - n)
        return FundingRecord(tx.timestamp, indices), None

    def _exec_funding(self, r: FundingRecord) -> tuple[_Plan, Receipt]:
        if not isinstance(r.indices, tuple) or len(r.indices) != MAX_MARKETS:
            raise MalformedTransactionError(f"a funding record has {MAX_MARKETS} indices")
        check_int(r.timestamp, 0, TIMESTAMP_BOUND, "timestamp")
        _require(
            r.timestamp > self.funding_time,
            TimestampError,
            f"funding tick at {r.timestamp} is not after {self.funding_time}",
        )
        elapsed = r.timestamp - self.funding_time
        n = self.config.n_markets
        new = []
        for m, g in enumerate(r.indices):
            if m >= n:
                check_int(g, 0, 1, f"funding index of unconfigured market {m}")
                continue
            check_int(g, -FUNDING_INDEX_BOUND + 1, FUNDING_INDEX_BOUND, f"funding index {m}")
            st, params = self.markets[m], self.config.markets[m]
            ok = rules.funding_change_ok(
                st.funding_index, g, params.max_funding_rate, st.price, elapsed
            )
            _require(
                ok,
                FundingTooLargeError,
                f"market {m}: funding index change "
                f"{g - st.funding_index} above max_rate * price * {elapsed}s",
            )
            new.append(replace(st, funding_index=g))
        plan = _Plan(markets=tuple(new), funding_time=r.timestamp)
        return plan, Receipt(r)

    def _tx_oracle(self, tx: OraclePriceTick, now: int) -> tuple[Record, None]:
        market = self._check_market(tx.market)
        check_int(tx.timestamp, 0, TIMESTAMP_BOUND, "timestamp")
        check_int(tx.price, 1, PRICE_BOUND, "price")
        _require(
            tx.timestamp <= now,
            TimestampError,
            f"oracle tick at {tx.timestamp} is in the future (now {now})",
        )
        cfg = self.config
        sigs = tx.signatures
        if not isinstance(sigs, tuple) or not all(isinstance(s, OracleSignature) for s in sigs):
            raise MalformedTransactionError("an oracle tick's signatures are OracleSignatures")
        _require(
            len(sigs) >= cfg.oracle_quorum,
            OracleQuorumError,
            f"{len(sigs)} oracle signatures, the quorum is {cfg.oracle_quorum}",
        )
        prev = -1
        for s in sigs:
            check_int(s.oracle, 0, MAX_ORACLES, "oracle index")
            _require(
                prev < s.oracle < len(cfg.oracle_keys),
                OracleSignersError,
                "oracle indices must increase strictly and name whitelisted keys",
            )
            prev = s.oracle
            check_int(s.price, 1, PRICE_BOUND, "signed price")
            check_int(s.timestamp, 0, TIMESTAMP_BOUND, "signed timestamp")
            _require(
                tx.timestamp - cfg.oracle_validity <= s.timestamp <= tx.timestamp,
                OracleStaleError,
                f"oracle {s.oracle} signed at {s.timestamp}, outside "
                f"[{tx.timestamp - cfg.oracle_validity}, {tx.timestamp}]",
            )
        _require(
            rules.median_ok([s.price for s in sigs], tx.price),
            OracleMedianError,
            f"price {tx.price} is not a median of the signed prices",
        )
        for s in sigs:
            msg = oracle_message(market, s.price, s.timestamp, cfg.exchange_id)
            if not self.verifier.verify(cfg.oracle_keys[s.oracle], msg, s.signature):
                raise BadSignatureError(f"oracle {s.oracle}'s signature does not verify")
        return OracleRecord(market, tx.timestamp, tx.price), None

    def _exec_oracle(self, r: OracleRecord) -> tuple[_Plan, Receipt]:
        market = self._check_market(r.market)
        check_int(r.timestamp, 0, TIMESTAMP_BOUND, "timestamp")
        check_int(r.price, 1, PRICE_BOUND, "price")
        max_price = self.config.markets[market].max_price
        _require(
            r.price <= max_price,
            PriceOutsideLimitError,
            f"price {r.price} above the market's maximum {max_price}",
        )
        st = self.markets[market]
        _require(
            r.timestamp >= st.price_time,
            TimestampError,
            f"oracle tick at {r.timestamp} is before the last one ({st.price_time})",
        )
        markets = list(self.markets)
        markets[market] = replace(st, price=r.price, price_time=r.timestamp)
        return _Plan(markets=tuple(markets)), Receipt(r)

    # liquidation and deleverage

    def _tx_liquidate(self, tx: Liquidate, now: int) -> tuple[Record, None]:
        _check_signed_order(tx.liquidator, "liquidator order")
        market = self._check_market(tx.liquidator.order.market)
        self._check_fill(tx.size, tx.price, market)
        check_int(tx.liquidator_fee, 0, AMOUNT_BOUND, "liquidator_fee")
        check_int(tx.insurance_fee, 0, AMOUNT_BOUND, "insurance_fee")
        self._check_account_index(tx.liquidated, "liquidated")
        o = self._check_order(
            tx.liquidator, now, tx.size, tx.price, tx.liquidator_fee, "liquidator order"
        )
        self.account(tx.liquidated)
        _require(o.account != tx.liquidated, SameAccountError, "an account cannot liquidate itself")
        x = self.config.exchange_id
        self._verify(o.account, o.message(x), tx.liquidator.signature, "liquidator order")
        record = LiquidateRecord(
            market,
            int(o.side),
            o.account,
            tx.liquidated,
            o.order_id,
            tx.size,
            tx.price,
            tx.liquidator_fee,
            tx.insurance_fee,
        )
        return record, None

    def _exec_liquidate(self, r: LiquidateRecord) -> tuple[_Plan, Receipt]:
        market = self._check_market(r.market)
        side = _check_side(r.liquidator_side, "liquidator_side")
        self._check_account_index(r.liquidator, "liquidator")
        self._check_account_index(r.liquidated, "liquidated")
        check_int(r.liquidator_order_id, 0, ORDER_ID_BOUND, "liquidator_order_id")
        self._check_fill(r.size, r.price, market)
        check_int(r.liquidator_fee, 0, AMOUNT_BOUND, "liquidator_fee")
        check_int(r.insurance_fee, 0, AMOUNT_BOUND, "insurance_fee")
        _require(
            r.liquidator != r.liquidated, SameAccountError, "an account cannot liquidate itself"
        )
        plan = _Plan()
        liq0, d1 = self._settle(self._acc(plan, r.liquidator))
        vic0, d2 = self._settle(self._acc(plan, r.liquidated))
        _require(
            rules.is_liquidatable(self._tv(vic0), self._tr(vic0)),
            AccountNotLiquidatableError,
            f"account {r.liquidated} is not liquidatable (TR <= TV)",
        )
        pos = vic0.positions[market]
        victim_side = Side.SELL if side == Side.BUY else Side.BUY
        shrinks = 0 < r.size <= pos if victim_side == Side.SELL else 0 < r.size <= -pos
        _require(
            shrinks,
            InvalidReductionError,
            f"liquidating {r.size} of position {pos} "
            f"(liquidator side {side}) would grow or flip it",
        )
        oracle = self.markets[market].price
        mmf = self.config.markets[market].maintenance_margin
        _require(
            rules.liquidation_price_ok(victim_side, r.price, oracle, mmf),
            PriceOutsideLimitError,
            f"liquidation price {r.price} beyond the liquidation bound of oracle {oracle}",
        )
        slot, leaf = self._slot_leaf(plan, r.liquidator, r.liquidator_order_id, r.size)
        debit, credit, dust = rules.trade_cash(r.size, r.price)
        if side == Side.BUY:
            liq1 = self._move(liq0, market, r.size, -debit - r.liquidator_fee)
            vic1 = self._move(vic0, market, -r.size, credit)
        else:
            liq1 = self._move(liq0, market, -r.size, credit - r.liquidator_fee)
            vic1 = self._move(vic0, market, r.size, -debit)
        fee_ppm = self.config.markets[market].liquidation_fee
        _require(
            rules.liquidation_penalty_ok(r.insurance_fee, r.size, r.price, fee_ppm, self._tv(vic1)),
            FeeTooHighError,
            f"liquidation penalty {r.insurance_fee} above its cap",
        )
        vic2 = self._move(vic1, market, 0, -r.insurance_fee)
        self._check_margin(liq0, liq1, r.liquidator)
        fees = (r.liquidator_fee + r.insurance_fee) * PRICE_SCALE
        self._insurance(plan, d1 + d2 + dust + fees)
        plan.accounts[r.liquidator] = liq1
        plan.accounts[r.liquidated] = vic2
        plan.slots[(r.liquidator, slot)] = leaf
        receipt = Receipt(
            r,
            accounts=(r.liquidator, r.liquidated),
            slots=((r.liquidator, slot),),
            insurance_delta=plan.insurance,
        )
        return plan, receipt

    def _tx_deleverage(self, tx: Deleverage, now: int) -> tuple[Record, None]:
        market = self._check_market(tx.market)
        self._check_account_index(tx.deleveraged, "deleveraged")
        self._check_account_index(tx.deleverager, "deleverager")
        pos = self.account(tx.deleveraged).positions[market]
        self.account(tx.deleverager)
        _require(pos != 0, InvalidReductionError, f"account {tx.deleveraged} has no position")
        side = int(Side.SELL if pos > 0 else Side.BUY)
        record = DeleverageRecord(market, side, tx.deleveraged, tx.deleverager, tx.size, tx.price)
        return record, None

    def _exec_deleverage(self, r: DeleverageRecord) -> tuple[_Plan, Receipt]:
        market = self._check_market(r.market)
        side = _check_side(r.deleveraged_side, "deleveraged_side")
        self._check_account_index(r.deleveraged, "deleveraged")
        self._check_account_index(r.deleverager, "deleverager")
        self._check_fill(r.size, r.price, market)
        _require(
            r.deleveraged != r.deleverager, SameAccountError, "an account cannot deleverage itself"
        )
        plan = _Plan()
        vic0, d1 = self._settle(self._acc(plan, r.deleveraged))
        dlv0, d2 = self._settle(self._acc(plan, r.deleverager))
        tv0 = self._tv(vic0)
        _require(
            rules.is_deleveragable(tv0),
            AccountNotDeleveragableError,
            f"account {r.deleveraged} has TV >= 0",
        )
        vpos, dpos = vic0.positions[market], dlv0.positions[market]
        if side == Side.SELL:
            ok = r.size <= vpos and r.size <= -dpos
        else:
            ok = r.size <= -vpos and r.size <= dpos
        _require(
            ok,
            InvalidReductionError,
            f"deleveraging {r.size} (positions {vpos} and {dpos}) would grow or flip a position",
        )
        oracle = self.markets[market].price
        _require(
            rules.deleverage_price_ok(side, r.price, oracle),
            UnfairDeleverageError,
            f"price {r.price} is worse than the oracle's {oracle} for the deleveraged account",
        )
        debit, credit, dust = rules.trade_cash(r.size, r.price)
        if side == Side.SELL:
            vic1 = self._move(vic0, market, -r.size, credit)
            dlv1 = self._move(dlv0, market, r.size, -debit)
        else:
            vic1 = self._move(vic0, market, r.size, -debit)
            dlv1 = self._move(dlv0, market, -r.size, credit)
        _require(
            self._tv(vic1) <= 0,
            UnfairDeleverageError,
            "the deleveraged account would end with a positive value",
        )
        self._insurance(plan, d1 + d2 + dust)
        plan.accounts[r.deleveraged] = vic1
        plan.accounts[r.deleverager] = dlv1
        receipt = Receipt(
            r, accounts=(r.deleveraged, r.deleverager), insurance_delta=plan.insurance
        )
        return plan, receipt


def _check_signed_order(so: object, what: str) -> Order:
    if not isinstance(so, SignedOrder) or not isinstance(so.order, Order):
        raise MalformedTransactionError(f"{what} must be a SignedOrder of an Order")
    return so.order


def _check_collateral(c: int) -> None:
    if not -COLLATERAL_BOUND < c < COLLATERAL_BOUND:
        raise OutOfBoundsError(f"collateral balance {c} would leave (-2^63, 2^63)")


_TX_HANDLERS = {
    Deposit: State._tx_deposit,
    Withdrawal: State._tx_withdrawal,
    Transfer: State._tx_transfer,
    ForcedWithdrawal: State._tx_forced,
    Trade: State._tx_trade,
    FundingTick: State._tx_funding,
    OraclePriceTick: State._tx_oracle,
    Liquidate: State._tx_liquidate,
    Deleverage: State._tx_deleverage,
}

_RECORD_HANDLERS = {
    NoopRecord: State._exec_noop,
    DepositRecord: State._exec_deposit,
    WithdrawalRecord: State._exec_withdrawal,
    ForcedWithdrawalRecord: State._exec_forced,
    TransferRecord: State._exec_transfer,
    TradeRecord: State._exec_trade,
    FundingRecord: State._exec_funding,
    OracleRecord: State._exec_oracle,
    LiquidateRecord: State._exec_liquidate,
    DeleverageRecord: State._exec_deleverage,
}
