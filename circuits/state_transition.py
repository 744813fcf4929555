"""The batch circuit (issue E) on layout v2: a validity proof that a batch of transaction slots
takes the state root of ``rollup.state`` from ``old_root`` to ``new_root`` by D's rules, and
that the public inputs are exactly the batch's pubdata (``rollup.pubdata.public_inputs``).

Arithmetisation: the three-wire PLONK gate of ``circuits.builder`` (Gabizon, Williamson,
Ciobotaru, ePrint 2019/953, section 6). State layout: layout v2 (``rollup.state``'s docstring):
4-ary Poseidon(4) trees of accounts and, under each account, of order slots
(``circuits.gadgets.merkle_circuit.quad_*``); account leaf = P5(static_hash, collateral,
orders_root, sizes_hash, funding_hash) with P4 sub-hashes; state root = P6(accounts_root,
markets_hash, config_hash, insurance_dust, next_account, funding_time).

Shape
-----
``BatchShape(n_slots, account_depth, order_depth, n_markets, n_units, n_signatures)``: one
setup per shape (depths in 4-ary levels; ``n_units``, default ``default_units(n_slots)`` =
max(2, T // 2 + 1): the most distinct accounts a batch may touch, the insurance account's
end-of-batch update apart; ``n_signatures``, default ``default_signatures(n_slots)`` = T + 1
(at most 2T): the most distinct signed messages it may verify; the sequencer cuts a batch
before it touches more accounts or signed messages, ``rollup.batch.accessed_accounts`` and
``rollup.batch.signed_messages``).

Signatures: each signed message verified once per batch
-------------------------------------------------------
No slot verifies a signature. Each slot makes two signature *requests* (a message M, the key
(Ax, Ay) that must have signed it, and the slot's signature as a witness) to the batch's
signature table (``circuits.gadgets.signature_table``): S = ``n_signatures`` EdDSA-Poseidon
units verify the distinct requested triples, each once, and a Beneš network routes every
request under the unit that holds its triple (checked equal). An order filled twice in a batch
(a resting order hit by two takers, a taker sweeping two levels) is verified once: "hash each
order and check its signature once". A request that signs nothing is the *free* triple (the
dummy key signing 0, ``dummy_signature``), which takes no unit.

Accounts: loaded and stored once per batch
------------------------------------------
No slot hashes an account leaf or walks an account path. Every account a batch touches is
loaded and stored ONCE through offline memory checking (``circuits.gadgets.account_memory``:
Blum et al., FOCS 1991; Ben-Sasson et al., "SNARKs for C", CRYPTO 2013, section 2.3): slot i
records two accesses in the memory's log, A (access 2i) and B (2i + 1), each giving the
account's fields before it (key, L1 address; nonce, collateral, orders root, sizes, funding) and
taking the fields after it. After the last slot the memory sorts the log by (account, slot)
with a Beneš network, checks that each account's accesses chain (each before-state is the
previous after-state), and runs one 4-ary Merkle update per distinct account (``n_units``
units, under a cache of the top levels) from ``accounts_root`` of the old root; account 0's
insurance update then runs on the resulting root with its own path. Which accesses are enabled
(``slot<i>/accounts``):

- A: when the slot writes it (a deposit, a signed request or order, an executed forced
  withdrawal, a deleverage), or reads it to prove a refusal: a refused deposit reads the key's
  account unless the tree is full; a refused forced withdrawal the named account unless it does
  not exist. Existence is ``index < next_account`` (accounts are created in index order and
  never removed), so a missing account needs no read. An executed deposit at ``index =
  next_account`` creates the account (the memory's ``is_new``: its leaf must be empty and its
  first fields the empty account's; its key and L1 address are the deposit's).
- B: when the slot writes it (trade, transfer, liquidate, deleverage).

A disabled access (NoOp, ticks, B of one-account types) reads and writes nothing and its fields
are free: every rule that reads them is gated by the type flags. An enabled access that creates
nothing opens an existing account (the memory needs its leaf's preimage), which replaces the
per-slot "account exists" checks. A refusal reads A and writes it back unchanged.

Slots
-----
Every slot is *universal* (Loopring's design): it always performs

- the accesses of accounts A and B (above), each with one order-slot update under it (the
  order tree's path, in the account's ``orders_root`` field);
- two signature requests to the batch's table (above): request a is A's message (an order, a
  withdrawal or a transfer: one P2 over type-selected packed words, spec section 5) or an
  oracle's price message (P1 of the oracle word under a whitelisted key), request b B's maker
  order or a second oracle's message;
- the funding settlement, cash, position and margin arithmetic of both accounts, and the
  rule gadgets of ``circuits.gadgets.perp`` for the tick, liquidation and deleverage types
  (each disabled, so void, in the other slots);
- the slot's 3 public-input words (spec section 6), type-selected;

and the type flags (``is_deposit``, ``is_trade``, ``is_withdrawal``, ``is_transfer``,
``is_forced``, ``is_funding``, ``is_oracle``, ``is_liquidate``, ``is_deleverage``; none: NoOp,
or with ``is_cont`` an oracle tick's continuation) select what is written. What each uses:

=================  =========================  ======================  =======================
type               A                          B                       signature requests a, b
=================  =========================  ======================  =======================
NoOp               account 0, unchanged       = A, unchanged          dummy, dummy
Deposit            the account (new or not)   = A after, unchanged    dummy, dummy
Trade              taker                      maker                   taker's, maker's order
Withdrawal         the account                = A after, unchanged    A's withdrawal, dummy
Transfer           sender                     recipient               A's transfer, dummy
ForcedWithdrawal   the account                = A after, unchanged    dummy, dummy
FundingTick        account 0, unchanged       = A, unchanged          dummy, dummy
OraclePriceTick    account 0, unchanged       = A, unchanged          oracle 1, oracle 2
  (continuation)   account 0, unchanged       = A, unchanged          oracle 3, 4 (5, 6, ...)
Liquidate          liquidator (signed order)  liquidated (unsigned)   liquidator's, dummy
Deleverage         deleveraged (unsigned)     deleverager (unsigned)  dummy, dummy
=================  =========================  ======================  =======================

A request that signs nothing is the free triple (the dummy key signing 0): the message and
key are selected, and the table needs no unit for it. Order-slot
checks run on every slot; a slot that fills no order of an account (its ``uses`` flag: A's
in trades and liquidations, B's in trades) gives slot 0's content with a zero fill, which
passes them and writes nothing.

What each type proves, beyond the paths, the leaf hashes and the pubdata words:

- Trade: both orders (signatures, slot rules: no replay, no over-fill; limits, pro-rata
  fees, expiry), the fill's bounds, cash (the buyer pays the ceiling, the seller gets the
  floor, the dust to the fund), funding settlement of both, positions within max_position,
  D's margin rule for both (``margin``: initial margin, or a pure reduction not lowering
  TV/TR).
- Deposit, Withdrawal, Transfer, ForcedWithdrawal: as E1 built them (nonces, L1 addresses,
  free collateral, proven refusals); a deposit key must satisfy ``valid_deposit_key`` (on the
  curve, 8 key != identity: keys outside the prime-order subgroup are accepted, verification
  being cofactored).
- FundingTick (``perp.funding_tick``): funding_time < timestamp <= the batch timestamp, each
  |new - old| 10^12 <= max_funding_rate price elapsed (at the running prices); the indices,
  ``funding_time`` and the funding hash become running values: later slots settle at the new
  indices and write them into the accounts' funding fields, account 0's end-of-batch update
  uses the final ones, and the root's funding_time and markets_hash reflect them. The record's
  indices are 8-byte two's complement words (proven).
- OraclePriceTick (``perp_oracle``'s rules, spread over a run of slots: ``oracle_run`` and
  ``close_oracle_run``): price_time <= timestamp <= now, 1 <= price <= max_price; each
  signature of a whitelisted key (the 8 key slots opened once per batch from
  ``oracle_keys_hash``; an unused slot's (0, 0) is off the curve), oracle indices strictly
  increasing, freshness (timestamp - validity <= t_i <= timestamp), quorum and a median by
  counting. The price and price time become running values (later slots' margins use them; the
  final markets_hash reflects them).
- Liquidate: A's signed order as a taker's (order-slot update, limit, pro-rata fee, expiry,
  signature in request a) and D's margin rule for A; B, unsigned, by ``perp.liquidation``
  (settled TR > TV, the position shrinks without a flip, price within oracle (1 -+ mmf),
  penalty <= liquidation_fee size price and <= max(0, TV after the fill)); the liquidator's fee
  and the penalty go to the batch's insurance accumulator with the fill's dust and the
  settlements' dust, exactly as ``State._exec_liquidate``.
- Deleverage (unsigned; ``perp.deleverage``): A's settled TV < 0, both positions shrink by
  size with opposite signs, price no worse than the oracle's for A, A's TV after <= 0; the
  dust to the fund.

Oracle ticks with more than two signatures (quorum 3 and more): continuation
----------------------------------------------------------------------------
A slot makes two signature requests, so a tick with k signatures takes 1 + ceil((k - 2) / 2)
slots: its record, then NoOp records (``is_cont`` = 1; their pubdata words are the NoOp's zeros)
whose requests are the next signatures. The run's state (open, signature count, the counts for the
median, the last oracle index, the tick's price, timestamp and market) is carried from slot
to slot (``self.oc``); a continuation needs an open run (``slot<i>/type``); the order check
spans the run; quorum and median are checked when the run closes (at the next slot that does
not continue it, ``slot<i>/oracle_close``, or at the end of the batch,
``batch/oracle_close``). The tick's price is written in its own slot (nothing between it and
the close reads it: the continuation slots are NoOps). The sequencer must leave these NoOp
slots right after such a tick (``rollup.proving.slots_needed``); ``batch_witness`` names the
problem when a batch does not.

Empty leaves. A created account's fields before its deposit are the empty account's (zeros,
the empty orders root: the memory checks them), so a new account is "settle and credit an
all-zero account" plus its key and L1 address.

Batch level. Market parameters, prices and funding indices are opened once per batch from
``markets_hash``, ``exchange_id``, the oracle quorum and validity from ``config_hash`` (whose
depths are the shape's constants), the 8 oracle keys from its ``oracle_keys_hash`` (P16).
Prices, price times, funding indices and ``funding_time`` are running values through the slots
(a written account's funding fields are the running indices: a funding tick mid-batch is settled
by later slots at the new indices); ``markets_hash`` is recomputed from them at the end. The
insurance (spec section 4): fees, trade dust, liquidation penalties and settlement dust of every
slot go into one batch-level sum (``pending``, 2^-32 quanta); at the end account 0 is settled
and updated once: total = pending + insurance_dust + its dust, collateral += total >> 32,
insurance_dust = total mod 2^32 (``State.end_batch``). Values committed in the old root are
trusted to be in their bounds (every write range-checks what it writes).

Public inputs and the pubdata binding
-------------------------------------
``[old_root, new_root, batch_number, timestamp] + 3 words per slot`` (4 + 3 n_slots, spec 6):
the slot's record bytes (D's encoding, zero-padded to 80 bytes) as three big-endian integers of
31, 31 and 18 bytes. The circuit builds each type's words from its fields (a field that
straddles a word boundary is split there, which also range-checks it; the L1 address is split
into its 20 bytes once a slot and shared by deposits, forced withdrawals and withdrawals; a
deposit's key as the 32 bytes of circomlib's packPoint, proven) and sums flag_t * word_t.
Cost: ~1 gate a field byte in the circuit; on chain ~331 gas a 31-byte word
(bench/test_bench_binding_gas.py) against ~139k gas a slot for the first cut's Poseidon chain.
``batch_number`` is bound as a public input only (the contract checks it); ``timestamp``
drives the expiry checks.

Gates (``bench/test_bench_stf.py``, bench/out/stf_gates.json; account depth 8, order depth 2,
3 markets; per slot = the batch's gates / T, the memory, the table and the batch level shared
out; shapes (T, D, S) at the default units and signature units):

============================================  =========  ==========  ==========  ===========
per slot                                      8, 5, 9    16, 9, 17   16, 8, 17   20, 11, 21
============================================  =========  ==========  ==========  ===========
signatures: units (7,034 each)                7,913      7,474       7,474       7,386
signatures: the table's routing and checks    407        475         475         399
signatures: the slot's requests               722        722         722         722
order-slot paths (2 x 2 levels x 1,871)       7,482      7,482       7,482       7,482
account memory: unit leaves                   4,848      4,363       3,878       4,266
account memory: unit paths (under the top)    7,016      6,315       5,613       6,174
account memory: log, sort, compaction, chain  1,384      1,722       1,712       3,153
account memory: top cache                     1,214      634         628         518
message hashes                                1,049      1,049       1,049       1,049
range checks                                  3,846      3,846       3,846       3,846
pubdata (words, L1 address, deposit key)      2,242      2,242       2,242       2,242
type rules (liq., funding, delev., oracle)    4,986      4,988       4,988       4,989
the rest                                      1,532      1,532       1,532       1,532
batch level, amortized                        6,003      3,001       3,001       2,401
**total a slot**                              50,643     45,846      44,643      46,161
what a trade uses (its parts + its shares)    39,512     37,714      36,510      38,628
============================================  =========  ==========  ==========  ===========

(405,144 gates for (8, 5, 9), domain 2^19; 733,538 for (16, 9, 17), 714,283 for (16, 8, 17) and
923,211 for (20, 11, 21), 2^20.) A trade's shares: the memory per slot and the table / T (two
of its 2T requests). Before the signature table (two EdDSA units a slot) a slot cost 56,433 /
52,007 / 50,804 at (8, 5) / (16, 9) / (16, 8) and a trade used 45,301 / 43,875 / 42,671; before
the memory a slot cost 78,651. A unit of the memory (two leaves, one path under the top cache:
~19k) is the price of a distinct account, a signature unit (7,034) that of a distinct signed
message: D = T // 2 + 1 and S = T + 1 serve batches where accounts and orders come back (a
market maker, takers sweeping levels); S = 1.5 T + 1 costs 49,365 a slot and 41,232 a trade at
T = 16. Batch level: 48,022 gates (account 0's insurance update 21,037, the market openings
9,038 and the closing markets hash 9,028, the oracle keys 4,688, the config and the two roots
4,203). At T = 20 the access log has 64 rows for 40 accesses (a power of two for the network).

Gate labels: ``slot<i>/<part>``: ``type``, ``accounts`` (which accesses are enabled, whether A
is created or missing), ``acct_a``/``acct_b`` (the accesses), ``orders_a``/``orders_b``
(``replay``, ``overfill``, ``root``), ``msg_a``/``msg_b``, ``sig_a``/``sig_b`` (the
requests: message and key selection), ``limit_a``/``limit_b``, ``fee_a``/``fee_b``,
``expiry_a``/``expiry_b``, ``settle_a``/``settle_b``, ``cash``, ``position_a``/``position_b``,
``margin_a``/``margin_b``, ``funding`` (``funding/funding_tick/<rule>``), ``oracle``
(``oracle/<rule>``: tick, slots, order<j>, fresh<j>, price<j>, median<j>), ``oracle_close``
(quorum, median), ``liquidate`` (``liquidate/liquidation/<rule>``), ``deleverage``
(``deleverage/deleverage/<rule>``), ``running``, ``rules`` (distinct accounts, a deposit's key,
a new account's key and L1 address, the L1 address paid), ``refusal`` (a refused L1 request
without a proven reason), ``write_a``/``write_b`` (the fields written back: nonce, collateral,
orders root, sizes, funding at the running indices), ``pubdata`` (``pubdata/word<j>``: a wrong
public-input word fails there; ``pubdata/key/small_order``: a small-order deposit key),
``next_account``; batch level: ``batch/old_root``, ``batch/config``, ``batch/oracle_keys``,
``batch/markets``, ``account_memory/...`` (``log``, ``sort``, ``chain`` (``chain/before``: an
access that does not start from the account's previous state), ``compact``
(``compact/overflow``: more distinct accounts than units), ``units`` (``.../old_root`` or
``top``: a leaf that is not the tree's), ``top/old``, ``top/new``), ``signatures/...``
(``unit<u>/eddsa/check``: a forged signature, or a message or key the signer did not sign;
``unit<u>/eddsa/A_on_curve``: an unlisted oracle's (0, 0) key; ``chain``: a request no unit
holds; ``benes``), ``batch/oracle_close``,
``batch/insurance`` (account 0's update), ``batch/markets_end``, ``batch/new_root`` (a wrong new
root fails here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from circuits.builder import LC, CircuitBuilder, CircuitError, CompiledCircuit, Operand, Var, as_lc
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_circuit as bjc
from circuits.gadgets import bits, eddsa, perp
from circuits.gadgets import fixedpoint as fp
from circuits.gadgets import merkle_circuit as mc
from circuits.gadgets import perp_oracle as po
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.account_memory import AccountMemory, spec2_leaf
from circuits.gadgets.signature_table import SignatureTable
from circuits.stf.records import (
    RECORD_LAYOUTS,
    SLOT_WORDS,
    TX_DELEVERAGE,
    TX_DEPOSIT,
    TX_FORCED,
    TX_FUNDING,
    TX_LIQUIDATE,
    TX_NOOP,
    TX_ORACLE,
    TX_TRADE,
    TX_TRANSFER,
    TX_WITHDRAWAL,
    WORD_ENDS,
    record_words,
)
from prover import params

__all__ = [
    "BatchShape",
    "BatchCircuit",
    "SLOT_WORDS",
    "TX_NOOP",
    "TX_DEPOSIT",
    "TX_WITHDRAWAL",
    "TX_FORCED",
    "TX_TRANSFER",
    "TX_TRADE",
    "TX_FUNDING",
    "TX_ORACLE",
    "TX_LIQUIDATE",
    "TX_DELEVERAGE",
    "ORACLE_SLOTS",
    "build_batch_circuit",
    "build_batch_builder",
    "default_units",
    "default_signatures",
    "dummy_signature",
    "RECORD_LAYOUTS",
    "WORD_ENDS",
    "record_words",
]

R = params.R_ORDER
HALF = (R - 1) // 2
PRICE_SCALE = 1 << 32
RISK_SCALE = 10**6
DUST_BITS = 32
KIND_ORDER, KIND_WITHDRAWAL, KIND_TRANSFER = 1, 2, 3
MAX_MARKETS = 4
DUMMY_PRIVATE_KEY = b"zkperp stf dummy signer key 0000"  # 32 bytes
DUMMY_MESSAGE = 0
TYPES = (
    "deposit",
    "withdrawal",
    "forced",
    "transfer",
    "trade",
    "funding",
    "oracle",
    "liquidate",
    "deleverage",
)
ORACLE_SLOTS = 2  # oracle signatures a tick slot carries (the slot's two signature requests)
SIGNATURES_NAME = "signatures"  # the signature table's gate labels (signatures/unit<u>/eddsa/...)
MEMORY_NAME = "mem"  # the account memory's input names: mem.<k>.static, mem.unit<u>.siblings


@lru_cache(maxsize=1)
def dummy_signature() -> tuple[bj.Point, eddsa.Signature]:
    """The fixed key and its signature of ``DUMMY_MESSAGE``: what a slot that signs nothing
    verifies."""
    pub = eddsa.prv2pub(DUMMY_PRIVATE_KEY)
    return pub, eddsa.sign_poseidon(DUMMY_PRIVATE_KEY, DUMMY_MESSAGE)


@dataclass(frozen=True)
class BatchShape:
    """A circuit shape: slots per batch, the config's tree depths (4-ary levels) and number of
    markets."""

    n_slots: int
    account_depth: int = 8
    order_depth: int = 2
    n_markets: int = 3
    n_units: int = 0  # distinct accounts a batch may touch (0: ``default_units(n_slots)``)
    n_signatures: int = 0  # distinct signed messages it may verify (0: ``default_signatures``)

    def __post_init__(self) -> None:
        if self.n_units == 0 and isinstance(self.n_slots, int):
            object.__setattr__(self, "n_units", default_units(self.n_slots))
        if self.n_signatures == 0 and isinstance(self.n_slots, int):
            object.__setattr__(self, "n_signatures", default_signatures(self.n_slots))

    def validate(self) -> None:
        if not 1 <= self.n_slots <= 1 << 12:
            raise CircuitError(f"n_slots must be in 1..4096, got {self.n_slots}")
        if not 1 <= self.n_units <= 2 * self.n_slots:
            raise CircuitError(f"n_units must be in 1..{2 * self.n_slots}, got {self.n_units}")
        if not 2 <= self.n_signatures <= 2 * self.n_slots:
            raise CircuitError(
                f"n_signatures must be in 2..{2 * self.n_slots}, got {self.n_signatures}"
            )
        if not 1 <= self.account_depth <= 16:
            raise CircuitError("account_depth must be in 1..16 (4-ary levels)")
        if not 1 <= self.order_depth <= 8:
            raise CircuitError("order_depth must be in 1..8 (4-ary levels)")
        if not 1 <= self.n_markets <= MAX_MARKETS:
            raise CircuitError(f"n_markets must be in 1..{MAX_MARKETS}")

    @property
    def n_public(self) -> int:
        return 4 + SLOT_WORDS * self.n_slots

    @property
    def n_accesses(self) -> int:
        """Rows of the account memory: the slots' two accesses each, to a power of two."""
        return 1 << max(1, (2 * self.n_slots - 1).bit_length())


def default_units(n_slots: int) -> int:
    """The account units (distinct accounts, the insurance account's end-of-batch update
    apart) of a batch of ``n_slots`` slots: T // 2 + 1, at least 2 (a trade touches two)."""
    return max(2, n_slots // 2 + 1)


def default_signatures(n_slots: int) -> int:
    """The signature units (distinct signed messages: orders, requests, oracle prices) of a
    batch of ``n_slots`` slots: T + 1, at most 2 T (a slot verifies two). Each signed message is
    verified once however many slots use it (``circuits.gadgets.signature_table``): T + 1 holds
    T trades where every order but one serves two of them (a resting order filled twice, a
    taker sweeping two levels)."""
    return min(2 * n_slots, n_slots + 1)


@dataclass(frozen=True, eq=False)
class BatchCircuit:
    """A compiled batch circuit and its shape."""

    shape: BatchShape
    circuit: CompiledCircuit


# --- small helpers ---------------------------------------------------------------------------


def _onehot_dot(b: CircuitBuilder, e: Sequence[LC], xs: Sequence[Operand]) -> LC:
    """sum e_m x_m (one gate per variable x_m; constants free)."""
    return b.sum(b.mul(em, x) for em, x in zip(e, xs))


def _sign_bit(b: CircuitBuilder, x: LC, n: int) -> LC:
    """1 if x >= 0 else 0, for -2^n <= x < 2^n (proven: x + 2^n in [0, 2^(n+1)))."""
    return bits._top_bit(b, x + (1 << n), n)


def _flag(b: CircuitBuilder, name: str) -> LC:
    v = b.private_input(name)
    b.assert_bool(v)
    return v


def _chunks(xs: Sequence[LC], n: int) -> list[list[LC]]:
    return [list(xs[i : i + n]) for i in range(0, len(xs), n)]


# --- the circuit ------------------------------------------------------------------------------


class _Batch:
    def __init__(self, b: CircuitBuilder, shape: BatchShape) -> None:
        self.b = b
        self.shape = shape
        self.n = shape.n_markets

    # batch-level openings
    def open_state(self) -> None:
        b, s = self.b, self.shape
        self.old_root = b.public_input("old_root")
        self.new_root = b.public_input("new_root")
        self.batch_number = b.public_input("batch_number")
        self.timestamp = b.public_input("timestamp")
        self.pub_words = [b.public_inputs(f"s{i}/pubdata", SLOT_WORDS) for i in range(s.n_slots)]
        rf = b.private_inputs("root_fields", 6)
        self.accounts_root0, self.markets_hash, self.config_hash = rf[0], rf[1], rf[2]
        self.dust0, self.next_account0, self.funding_time = rf[3], rf[4], as_lc(rf[5])
        with b.scope("batch/old_root"):
            b.assert_equal(pc.poseidon(b, rf), self.old_root)
        with b.scope("batch/config"):
            cfg = b.private_inputs("config_fields", 4)  # exchange_id, keys_hash, quorum, validity
            self.exchange_id, self.quorum, self.validity = cfg[0], cfg[2], cfg[3]
            h = pc.poseidon(b, [cfg[0], s.account_depth, s.order_depth, cfg[1], cfg[2], cfg[3]])
            b.assert_equal(h, self.config_hash)
        with b.scope("batch/oracle_keys"):
            keys = b.private_inputs("oracle_keys", 2 * po.MAX_ORACLES)
            b.assert_equal(pc.poseidon(b, keys), cfg[1])
            self.oracle_keys = _chunks(keys, 2)
        with b.scope("batch/markets"):
            leaves = []
            self.markets = []
            for m in range(self.n):
                f = b.private_inputs(f"market{m}", 11)
                leaves.append(pc.hash_var(b, f))
                self.markets.append(f)
            h = pc.poseidon(b, leaves + [0] * (MAX_MARKETS - self.n))
            b.assert_equal(h, self.markets_hash)
            # running values (oracle and funding ticks change them slot by slot)
            self.price = [as_lc(f[8]) for f in self.markets]
            self.index = [as_lc(f[9]) for f in self.markets]
            self.ptime = [as_lc(f[10]) for f in self.markets]
            self.max_pos = [f[6] for f in self.markets]
            self.max_price = [f[7] for f in self.markets]
            self.unit_risks()

    def unit_risks(self) -> None:
        """The risk of one synthetic quantum at the current prices (maintenance, initial)."""
        b = self.b
        self.mp = [b.mul(f[2], self.price[m]) for m, f in enumerate(self.markets)]
        self.ip = [b.mul(f[3], self.price[m]) for m, f in enumerate(self.markets)]

    def close_markets(self) -> LC:
        """markets_hash of the running prices, funding indices and price times."""
        b = self.b
        with b.scope("batch/markets_end"):
            leaves = [
                pc.hash_var(b, [*f[:8], self.price[m], self.index[m], self.ptime[m]])
                for m, f in enumerate(self.markets)
            ]
            return pc.poseidon(b, leaves + [0] * (MAX_MARKETS - self.n))

    # accounts
    def slot_account(self, p: str, tag: str, enabled: LC, is_new: LC, index: Var) -> dict:
        """One access of the account memory (``mem.access``): the account's fields before it
        (static: key x, y, L1 address; dynamic: nonce, collateral, orders root, sizes,
        funding), proven by the memory when ``enabled``, free otherwise."""
        acc = self.mem.access(enabled, index=index, is_new=is_new)
        d = acc.before
        return {
            "access": acc,
            "index": as_lc(index),
            "static": [*acc.static, d[0]],  # key x, key y, L1 address, nonce
            "coll": d[1],
            "oroot": d[2],
            "sizes": list(d[3 : 3 + MAX_MARKETS]),
            "funding": list(d[3 + MAX_MARKETS :]),
        }

    def insurance_account(self) -> dict:
        """Account 0's old leaf and path for its end-of-batch update (outside the memory)."""
        b, ad = self.b, self.shape.account_depth
        p = "ins/acct"
        acc = {
            "static": b.private_inputs(f"{p}_static", 4),
            "coll": b.private_input(f"{p}_collateral"),
            "oroot": b.private_input(f"{p}_orders_root"),
            "sizes": b.private_inputs(f"{p}_sizes", MAX_MARKETS),
            "funding": b.private_inputs(f"{p}_funding", MAX_MARKETS),
            "sibs": _chunks(b.private_inputs(f"{p}_sibs", 3 * ad), 3),
            "bits": [0] * (2 * ad),
        }
        with b.scope("leaf"):
            acc["static_h"] = pc.hash_var(b, acc["static"])
            acc["sizes_h"] = pc.hash_var(b, acc["sizes"])
            fund_h = pc.hash_var(b, acc["funding"])
            acc["leaf_old"] = pc.hash_var(
                b, [acc["static_h"], acc["coll"], acc["oroot"], acc["sizes_h"], fund_h]
            )
        return acc

    def settle(self, acc: dict) -> tuple[LC, LC]:
        """(collateral after settling, dust in 2^-32 quanta) of the old fields (rollup.rules.
        funding_settlement: charge = ceil(F / 2^32), F = sum (g_m - f_m) s_m)."""
        b = self.b
        owed = b.sum(
            b.mul(b.materialize(self.index[m] - acc["funding"][m]), acc["sizes"][m])
            for m in range(self.n)
        )
        charge = fp.div_ceil(b, owed, PRICE_SCALE, q_bits=78, signed=True)
        dust = as_lc(charge) * PRICE_SCALE - owed
        return acc["coll"] - charge, dust

    def write(self, acc: dict, root: LC, leaf_new: LC, writes: LC, tag: str) -> LC:
        """The path update of ``acc`` from ``root``: the old leaf must sit under ``root``;
        returns the root with the new leaf (the old one when ``writes`` = 0)."""
        b = self.b
        leaf = b.select(writes, leaf_new, acc["leaf_old"])
        with b.scope("path"):
            old, new = mc.quad_update_roots(
                b, acc["leaf_old"], leaf, acc["bits"], acc["sibs"], check_bits=False
            )
        with b.scope("root"):
            b.assert_equal(old, root)
        return new

    # orders
    def order(self, p: str, tag: str, acc: dict, uses: LC, fill: LC) -> dict:
        """Order-slot rules and the order tree update (slot = order_id mod 4^order_depth) of a
        ``fill`` (0 unless the slot ``uses`` the order); the old orders root must be the
        account's."""
        b, s = self.b, self.shape
        od = s.order_depth
        o = {
            k: b.private_input(f"{p}{tag}_{k}")
            for k in ("size", "limit", "max_fee", "expiry", "oid", "oid_old", "filled_old")
        }
        osibs = _chunks(b.private_inputs(f"{p}{tag}_osibs", 3 * od), 3)
        with b.scope(f"orders_{tag}"):
            parts = bits.split(b, o["oid"], [1] * (2 * od) + [32 - 2 * od])
            slot_bits = parts[: 2 * od]
            bits.range_check(b, o["oid_old"], 32)
            bits.range_check(b, o["filled_old"], 48)
            bits.range_check(b, o["size"], 48)
            with b.scope("replay"):
                bits.assert_less_or_equal(b, o["oid_old"], o["oid"], 32)
            same = b.is_equal(o["oid"], o["oid_old"])
            filled = b.mul(same, o["filled_old"]) + fill
            with b.scope("overfill"):
                bits.assert_less_or_equal(b, filled, o["size"], 48)
            old_leaf = o["oid_old"] * (1 << 48) + o["filled_old"]
            new_leaf = b.select(uses, o["oid"] * (1 << 48) + filled, old_leaf)
            old_root, new_root = mc.quad_update_roots(
                b, old_leaf, new_leaf, slot_bits, osibs, check_bits=False
            )
            with b.scope("root"):
                b.assert_equal(old_root, acc["oroot"])
        o["new_root"] = new_root
        return o

    def order_words(self, acc: dict, o: dict, market: LC, side: LC) -> tuple[LC, LC]:
        """(w0, w1) of an order message (spec section 5)."""
        tag = KIND_ORDER + self.exchange_id * 256
        w0 = (
            tag
            + acc["index"] * (1 << 40)
            + market * (1 << 72)
            + as_lc(side) * (1 << 80)
            + o["oid"] * (1 << 88)
            + o["expiry"] * (1 << 120)
        )
        w1 = o["size"] + o["limit"] * (1 << 48) + o["max_fee"] * (1 << 104)
        return w0, w1

    def signature(
        self, p: str, tag: str, msg: LC, pk: Sequence[LC], signs: LC, osl: po.OracleSlot
    ) -> None:
        """One signature request: the account's message under its key when ``signs``, an oracle's
        price message (P1 of the oracle word) under the selected whitelisted key when the
        oracle slot ``osl`` is enabled, else the dummy signature."""
        b = self.b
        dpk, _ = dummy_signature()
        sig = (osl.r8x, osl.r8y, osl.s)
        with b.scope(f"sig_{tag}"):
            with b.scope("oracle"):
                w = po.oracle_word(b, self.exchange_id, self.oc["market"], osl.price, osl.timestamp)
                omsg = pc.hash_var(b, [w])
                kx = b.sum(b.mul(e, k[0]) for e, k in zip(osl.oracle, self.oracle_keys))
                ky = b.sum(b.mul(e, k[1]) for e, k in zip(osl.oracle, self.oracle_keys))
            off = 1 - as_lc(signs) - osl.enabled
            m = b.mul(signs, msg) + b.mul(osl.enabled, omsg)
            ax = b.mul(signs, pk[0]) + kx + off * dpk[0]
            ay = b.mul(signs, pk[1]) + ky + off * dpk[1]
            self.sigs.request(m, ax, ay, sig[0], sig[1], sig[2])

    def margin(self, acc, e, c_set, c_new, delta, abs_new, side, size) -> tuple[LC, LC]:
        """D's margin rule (rollup.rules.margin_ok) for a change of the traded position only:
        (ok, initial) with initial = [TRi_after <= TV_after 10^6] (a withdrawal's free
        collateral check when delta = 0) and ok = initial or (the change only reduces risk
        and TV/TR does not fall, cross-multiplied)."""
        b, n = self.b, self.n
        s_old = acc["sizes"][:n]
        absv, neg = [], []
        for m in range(n):
            a, ng = bits.abs_value(b, s_old[m], 50)
            absv.append(a)
            neg.append(ng)
        sp = b.sum(b.mul(s_old[m], self.price[m]) for m in range(n))
        tr = b.sum(b.mul(self.mp[m], absv[m]) for m in range(n))
        tri = b.sum(b.mul(self.ip[m], absv[m]) for m in range(n))
        tv0 = c_set * PRICE_SCALE + sp
        p_t = _onehot_dot(b, e, self.price)
        tv1 = c_new * PRICE_SCALE + sp + b.mul(delta, p_t)
        abs_old_t = _onehot_dot(b, e, absv)
        d_abs = b.materialize(abs_new - abs_old_t)
        tr1 = tr + b.mul(_onehot_dot(b, e, self.mp), d_abs)
        tri1 = tri + b.mul(_onehot_dot(b, e, self.ip), d_abs)
        with b.scope("initial"):
            ok1 = _sign_bit(b, b.materialize(tv1 * RISK_SCALE - tri1), 136)
        with b.scope("reduce"):
            le = bits.less_or_equal(b, size, abs_old_t, 50)
            neg_t = _onehot_dot(b, e, neg)
            reduce = b.mul(le, b.xor(neg_t, side))
        with b.scope("ratio"):
            x = b.mul(b.materialize(tv1), b.materialize(tr)) - b.mul(
                b.materialize(tv0), b.materialize(tr1)
            )
            ratio = _sign_bit(b, b.materialize(x), 240)
        return b.or_(ok1, b.mul(reduce, ratio)), ok1

    def build_slot(self, i: int, next_account: LC) -> tuple[LC, LC]:
        """One universal slot: returns (new next_account, insurance delta in 2^-32 quanta);
        records its two account accesses in the memory and updates the running prices, price
        times, funding indices and funding time."""
        b, n = self.b, self.n
        p = f"s{i}/"
        with b.scope(f"slot{i}"):
            with b.scope("type"):
                fl = {t: _flag(b, f"{p}is_{t}") for t in TYPES}
                # a NoOp record whose signature units continue the open oracle tick's
                cont = _flag(b, f"{p}is_cont")
                b.assert_bool(b.sum(fl.values()) + cont)
                b.assert_zero(b.mul(cont, 1 - self.oc["open"]))
                is_dep, is_trade, is_wd = fl["deposit"], fl["trade"], fl["withdrawal"]
                is_tr, is_fw = fl["transfer"], fl["forced"]
                is_orc = fl["oracle"]
                is_liq, is_dlv = fl["liquidate"], fl["deleverage"]
                fills = is_trade + is_liq + is_dlv  # a fill between A and B at (size, price)
                e = b.private_inputs(f"{p}market", n)
                for em in e:
                    b.assert_bool(em)
                b.assert_equal(b.sum(e), fills + is_orc)
                market = b.lincomb(list(range(n)), e)
                self.market = market
                side = _flag(b, f"{p}side")  # A's side: 0 buy, 1 sell
                size = b.private_input(f"{p}size")
                price = b.private_input(f"{p}price")
                fee = b.private_inputs(f"{p}fees", 2)
                amount = b.private_input(f"{p}amount")
                l1 = b.private_input(f"{p}l1")
                dep_pk = b.private_inputs(f"{p}dep_pk", 2)
                tick_time = b.private_input(f"{p}tick_time")  # a funding or oracle tick's
                # an L1 request (deposit, forced withdrawal) is executed or refused
                executed = _flag(b, f"{p}executed")
                b.assert_zero(b.mul(executed, 1 - is_dep - is_fw))
                dep_x, fw_x = b.mul(is_dep, executed), b.mul(is_fw, executed)
                debits = b.materialize(is_wd + is_tr + fw_x)  # A pays amount (and fee)
                uses_a = b.materialize(is_trade + is_liq)  # A's order is filled
                signs_a = b.materialize(uses_a + is_wd + is_tr)
                writes_a = b.materialize(dep_x + signs_a + fw_x + is_dlv)
                writes_b = b.materialize(is_trade + is_tr + is_liq + is_dlv)
                osl = [self.oracle_slot(p, j) for j in range(ORACLE_SLOTS)]
            with b.scope("accounts"):
                # which accounts the slot loads from the memory (``rollup.batch.
                # accessed_accounts``): A and B where written; a refused deposit reads the key's
                # account unless the tree is full, a refused forced withdrawal the named one
                # unless it does not exist (index >= next_account: accounts are created in
                # index order and never removed)
                ia = b.private_input(f"{p}a_index")
                ib = b.private_input(f"{p}b_index")
                full = b.is_equal(next_account, 1 << (2 * self.shape.account_depth))
                bits.range_check(b, ia, 32)
                missing = bits.less_or_equal(b, next_account, ia, 33)
                dep_r, fw_r = is_dep - dep_x, is_fw - fw_x
                reads_a = b.mul(dep_r, 1 - full) + b.mul(fw_r, 1 - missing)
                en_a = b.materialize(writes_a + reads_a)
                # a deposit at next_account creates the account (its leaf must be empty)
                new_acct = b.mul(dep_x, b.is_equal(ia, next_account))
            if i:
                with b.scope("oracle_close"):
                    self.close_oracle_run(self.oc["open"] - cont)
                with b.scope("prices"):
                    self.unit_risks()
            with b.scope("acct_a"):
                a = self.slot_account(p, "a", en_a, new_acct, ia)
            with b.scope("acct_b"):
                acc_b = self.slot_account(p, "b", writes_b, as_lc(0), ib)
            self.missing_a = missing
            with b.scope("rules"):
                # an enabled access that creates nothing opens an existing account (the
                # memory proves its leaf); two-account types between two distinct ones
                d = b.materialize(a["index"] - acc_b["index"])
                b.assert_nonzero(b.select(writes_b, d, 1))
                # a new account holds the deposit's key and L1 address; an existing one must
                # hold the deposit's key
                for f, v in zip(a["static"][:3], (dep_pk[0], dep_pk[1], l1)):
                    b.assert_zero(b.mul(new_acct, b.materialize(f - v)))
                old_key = dep_x - new_acct
                b.assert_zero(b.mul(old_key, b.materialize(a["static"][0] - dep_pk[0])))
                b.assert_zero(b.mul(old_key, b.materialize(a["static"][1] - dep_pk[1])))
                # a withdrawal pays the account's L1 address; a forced one names it
                names_l1 = b.materialize(is_wd + fw_x)
                b.assert_zero(b.mul(names_l1, b.materialize(l1 - a["static"][2])))
                bits.range_check(b, amount - b.materialize(is_dep + is_wd + is_tr + is_fw), 63)
                bits.range_check(b, fee[0], 63)
                bits.range_check(b, fee[1], 63)
            with b.scope("fill"):
                bits.range_check(b, size, 48)
                bits.range_check(b, size - fills, 48)  # a fill is >= 1
                bits.range_check(b, price - fills - is_orc, 56)
                max_price = _onehot_dot(b, e, self.max_price)
                bits.assert_less_or_equal(b, price, max_price, 56)
            sides = (side, 1 - side)
            accs = (a, acc_b)
            uses = (uses_a, is_trade)
            order_fee = (b.mul(uses_a, fee[0]), b.mul(is_trade, fee[1]))
            # orders: slot rules, trees, limits, fees, expiry
            orders = []
            for tag, acc, sd, f, u in zip("ab", accs, sides, order_fee, uses):
                o = self.order(p, tag, acc, u, b.mul(u, size))
                with b.scope(f"limit_{tag}"):
                    bits.range_check(b, o["limit"] - u, 56)
                    gap = b.mul(1 - 2 * sd, b.materialize(o["limit"] - price))
                    bits.range_check(b, b.mul(u, gap), 56)
                with b.scope(f"fee_{tag}"):
                    bits.range_check(b, o["max_fee"], 63)
                    lhs = b.mul(f, o["size"])
                    rhs = b.mul(o["max_fee"], size)
                    bits.range_check(b, rhs - lhs, 112)
                with b.scope(f"expiry_{tag}"):
                    bits.range_check(b, o["expiry"], 32)
                    bits.range_check(b, o["expiry"] - self.timestamp, 32)
                orders.append(o)
            # messages and signatures (A's request or order, B's order, or two oracles')
            nonce_a = a["static"][3]
            with b.scope("msg_a"):
                ow0, ow1 = self.order_words(a, orders[0], market, side)
                tag0 = self.exchange_id * 256
                ww0 = KIND_WITHDRAWAL + tag0 + a["index"] * (1 << 40) + nonce_a * (1 << 72)
                tw0 = (
                    KIND_TRANSFER
                    + tag0
                    + a["index"] * (1 << 40)
                    + acc_b["index"] * (1 << 72)
                    + nonce_a * (1 << 104)
                )
                w1x = amount + fee[0] * (1 << 64)
                w0 = b.mul(uses_a, b.materialize(ow0)) + b.mul(is_wd, b.materialize(ww0))
                w0 = w0 + b.mul(is_tr, b.materialize(tw0))
                w1 = b.mul(uses_a, b.materialize(ow1)) + b.mul(
                    b.materialize(is_wd + is_tr), b.materialize(w1x)
                )
                msg_a = pc.hash_var(b, [w0, w1])
            with b.scope("msg_b"):
                bw0, bw1 = self.order_words(acc_b, orders[1], market, 1 - side)
                msg_b = pc.hash_var(b, [bw0, bw1])
            with b.scope("oracle"):
                self.oracle_run(is_orc, cont, e, price, tick_time, osl)
            self.signature(p, "a", msg_a, a["static"][:2], signs_a, osl[0])
            self.signature(p, "b", msg_b, acc_b["static"][:2], is_trade, osl[1])
            # cash: the buyer pays ceil(size price / 2^32), the seller gets the floor
            with b.scope("cash"):
                notional = b.mul(size, price)
                debit = fp.div_ceil(b, notional, PRICE_SCALE, q_bits=72)
                rem = b.materialize(as_lc(debit) * PRICE_SCALE - notional)
                nz = 1 - b.is_zero(rem)
                credit = debit - nz
                trade_dust = nz * PRICE_SCALE
                cash_a = b.mul(side, b.materialize(credit + debit)) - debit
                cash_b = b.mul(side, b.materialize(-credit - debit)) + credit
            delta_a = b.mul(1 - 2 * side, size)  # A's position change
            fee_a = b.mul(signs_a, fee[0])  # trade, liquidator, withdrawal and transfer fees
            fee_b = b.mul(uses_a, fee[1])  # a maker's fee or a liquidation penalty
            insurance = fee_a * PRICE_SCALE + fee_b * PRICE_SCALE + b.mul(fills, trade_dust)
            settled = []
            for tag, acc, writes in zip("ab", accs, (writes_a, writes_b)):
                with b.scope(f"settle_{tag}"):
                    c_set, dust = self.settle(acc)
                    bits.signed_range_check(b, c_set, 64)
                    _not_min(b, c_set, writes)  # D's bound is strict: |c| < 2^63
                insurance = insurance + b.mul(writes, b.materialize(dust))
                settled.append(c_set)
            self.c_set_a = settled[0]
            self.tick_rules(p, e, fl, a, acc_b, settled, side, size, price, fee, tick_time)
            for tag, acc, cash, delta, sd, o, c_set in zip(
                "ab", accs, (cash_a, cash_b), (delta_a, -delta_a), sides, orders, settled
            ):
                writes = writes_a if tag == "a" else writes_b
                with b.scope(f"position_{tag}"):
                    s_old = acc["sizes"][:n]
                    s_new = [s_old[m] + b.mul(e[m], delta) for m in range(n)]
                    old_t = _onehot_dot(b, e, s_old)
                    abs_new, _ = bits.abs_value(b, old_t + delta, 50)
                    bits.assert_less_or_equal(b, abs_new, _onehot_dot(b, e, self.max_pos), 48)
                with b.scope(f"collateral_{tag}"):
                    if tag == "a":
                        # refused requests too: the balance their refusal is judged on (not
                        # written: writes_a counts executed requests only)
                        c_new = (
                            c_set
                            + b.mul(fills, b.materialize(cash))
                            - fee_a
                            + b.mul(b.materialize(is_dep - is_wd - is_tr - is_fw), amount)
                        )
                    else:
                        c_new = c_set + b.mul(fills, b.materialize(cash)) - fee_b
                        c_new = c_new + b.mul(is_tr, amount)
                    c_new = b.materialize(c_new)
                    # what is written is in range (a refusal may be for an out-of-range one)
                    bits.signed_range_check(b, b.select(writes, c_new, 0), 64)
                    _not_min(b, c_new, writes)
                with b.scope(f"margin_{tag}"):
                    ok, initial = self.margin(acc, e, c_set, c_new, delta, abs_new, sd, size)
                    if tag == "a":
                        b.assert_zero(b.mul(uses_a, 1 - ok))  # a trade's taker, a liquidator
                        b.assert_zero(b.mul(debits, 1 - initial))
                        self.initial_a = initial
                    else:
                        b.assert_zero(b.mul(is_trade, 1 - ok))
                if tag == "a":
                    with b.scope("refusal"):
                        self.refusals(fl, executed, dep_x, fw_x, a, full, amount, dep_pk, l1)
                with b.scope(f"write_{tag}"):
                    # the fields after the slot: funding settled at the running indices
                    nonce = acc["static"][3]
                    if tag == "a":
                        nonce = b.materialize(nonce + is_wd + is_tr)
                        bits.range_check(b, nonce, 32)
                    funding = [*self.index, *([0] * (MAX_MARKETS - n))]
                    after = [nonce, c_new, o["new_root"], *s_new, *acc["sizes"][n:], *funding]
                    if tag == "a":  # a refusal reads A and writes nothing
                        before = acc["access"].before
                        after = [
                            b.materialize(b.select(writes, x, y)) for x, y in zip(after, before)
                        ]
                    self.mem.write(acc["access"], after)
            with b.scope("pubdata"):
                values = {
                    "executed": executed,
                    "account": a["index"],
                    "amount": amount,
                    "l1": l1,
                    "dep_pk": dep_pk,
                    "fee": fee[0],
                    "sender": a["index"],
                    "recipient": acc_b["index"],
                    "market": market,
                    "taker_side": side,
                    "taker": a["index"],
                    "maker": acc_b["index"],
                    "taker_order_id": orders[0]["oid"],
                    "maker_order_id": orders[1]["oid"],
                    "size": size,
                    "price": price,
                    "taker_fee": fee[0],
                    "maker_fee": fee[1],
                    "timestamp": tick_time,
                    **{f"index_{m}": self.index_words[m] for m in range(MAX_MARKETS)},
                    "liquidator_side": side,
                    "liquidator": a["index"],
                    "liquidated": acc_b["index"],
                    "liquidator_order_id": orders[0]["oid"],
                    "liquidator_fee": fee[0],
                    "insurance_fee": fee[1],
                    "deleveraged_side": side,
                    "deleveraged": a["index"],
                    "deleverager": acc_b["index"],
                }
                self.pubdata(i, fl, values, executed)
            with b.scope("next_account"):
                next_account = b.materialize(next_account + new_acct)
            with b.scope("running"):
                self.advance(e, fl, price, tick_time)
        return next_account, insurance

    def oracle_run(self, is_orc, cont, e, price, tick_time, osl) -> None:
        """An oracle tick's rules (``perp_oracle.oracle_rules``, spread over a run of slots):
        the tick slot's own checks (``tick``: its timestamp < 2^32, price_time <= timestamp <=
        now; the price's bounds are the slot's ``fill`` checks) and, for the signatures of this
        slot (the tick's, or a continuation's), ``slots`` (flags, one-hots, a prefix),
        ``order<j>`` (strictly increasing oracle indices, across the run's slots),
        ``fresh<j>``, ``price<j>`` and the counts for the median, carried in ``self.oc`` to
        ``close_oracle_run``."""
        b, oc = self.b, self.oc
        act = is_orc + cont
        with b.scope("tick"):
            perp.assert_range(b, tick_time, 32, is_orc)
            perp.assert_range(b, as_lc(self.timestamp) - tick_time, 32, is_orc)
            perp.assert_range(b, tick_time - _onehot_dot(b, e, self.ptime), 32, is_orc)
            # the run's tick: this slot's, or the open one's in a continuation
            t_price = b.materialize(b.select(is_orc, price, oc["price"]))
            t_time = b.materialize(b.select(is_orc, tick_time, oc["time"]))
            t_market = b.materialize(b.select(is_orc, self.market, oc["market"]))
            last = b.select(is_orc, -1, oc["last"])
            count = b.mul(cont, oc["count"])
            le_count = b.mul(cont, oc["le"])
            ge_count = b.mul(cont, oc["ge"])
        with b.scope("slots"):
            for sl in osl:
                b.assert_bool(sl.enabled)
                for f in sl.oracle:
                    b.assert_bool(f)
                b.assert_equal(b.sum(sl.oracle), sl.enabled)
            prev = act  # a slot that continues no tick has no enabled signature
            for sl in osl:
                b.assert_bool(prev - sl.enabled)
                prev = as_lc(sl.enabled)
        price_e = b.mul(act, t_price)  # in [0, 2^56): checked in the tick's slot
        for j, sl in enumerate(osl):
            ej = as_lc(sl.enabled)
            index = b.lincomb(list(range(po.MAX_ORACLES)), sl.oracle)
            with b.scope(f"order{j}"):
                perp.assert_range(b, index - last - 1, 3, ej)
            with b.scope(f"fresh{j}"):
                tj = as_lc(sl.timestamp)
                perp.assert_range(b, tj, 32, ej)
                perp.assert_range(b, t_time - tj, 32, ej)
                perp.assert_range(b, tj + self.validity - t_time, 33, ej)
            with b.scope(f"price{j}"):
                perp.assert_range(b, as_lc(sl.price) - 1, 56, ej)
            with b.scope(f"median{j}"):
                pj = perp.gated(b, ej, sl.price)
                le = bits.less_or_equal(b, pj, price_e, 56)
                ge = 1 - le + b.is_equal(pj, price_e)
                le_count = le_count + b.mul(ej, le)
                ge_count = ge_count + b.mul(ej, ge)
                count = count + ej
            last = b.select(ej, index, last)
        self.oc = {
            "open": act,
            "count": b.materialize(count),
            "le": b.materialize(le_count),
            "ge": b.materialize(ge_count),
            "last": b.materialize(last),
            "price": t_price,
            "time": t_time,
            "market": t_market,
        }

    def close_oracle_run(self, closing: LC) -> None:
        """The end of an oracle tick's run of slots (``closing``: the run was open and this
        slot does not continue it; at the end of the batch: it was open): ``quorum`` (at
        least ``oracle_quorum`` signatures) and ``median`` (n <= 2 #{p_j <= price} and
        n <= 2 #{p_j >= price}), as ``perp_oracle.oracle_rules``."""
        b, oc = self.b, self.oc
        with b.scope("quorum"):
            perp.assert_range(b, oc["count"] - self.quorum, po.COUNT_BITS, closing)
        with b.scope("median"):
            perp.assert_range(b, oc["le"] * 2 - oc["count"], po.COUNT_BITS, closing)
            perp.assert_range(b, oc["ge"] * 2 - oc["count"], po.COUNT_BITS, closing)

    def oracle_slot(self, p: str, j: int) -> po.OracleSlot:
        """Oracle signature slot j of a tick (its signature is request a or b's)."""
        b = self.b
        sig = b.private_inputs(f"{p}{'ab'[j]}_sig", 3)
        return po.OracleSlot(
            enabled=b.private_input(f"{p}o{j}_enabled"),
            oracle=b.private_inputs(f"{p}o{j}_oracle", po.MAX_ORACLES),
            price=b.private_input(f"{p}o{j}_price"),
            timestamp=b.private_input(f"{p}o{j}_time"),
            r8x=sig[0],
            r8y=sig[1],
            s=sig[2],
        )

    def tick_rules(self, p, e, fl, a, acc_b, settled, side, size, price, fee, tick_time) -> None:
        """The rules of the slot types without a signed request of A's: the funding tick
        (``perp.funding_tick``; the new indices' pubdata encoding), the liquidated account B
        (``perp.liquidation``; the liquidator A is a trade's taker here) and the deleverage of
        A against B (``perp.deleverage``). Each gadget is disabled (void) in other slots."""
        b, n = self.b, self.n
        is_fund = fl["funding"]
        with b.scope("funding"):
            new = b.private_inputs(f"{p}funding", n)
            perp.funding_tick(
                b,
                old_indices=self.index,
                new_indices=new,
                max_rates=[f[5] for f in self.markets],
                prices=self.price,
                funding_time=self.funding_time,
                timestamp=tick_time,
                now=self.timestamp,
                enabled=is_fund,
            )
            self.new_index = new
            with b.scope("words"):
                # the record's 8-byte two's complement of each new index (|g| < 2^56)
                self.index_words = []
                for m in range(MAX_MARKETS):
                    if m >= n:
                        self.index_words.append(as_lc(0))
                        continue
                    g = b.mul(is_fund, new[m])
                    nonneg = perp.nonneg_bit(b, g, perp.INDEX_BITS)
                    self.index_words.append(g + (1 - nonneg) * (1 << 64))
        with b.scope("liquidate"):
            perp.liquidation(
                b,
                collateral=settled[1],
                positions=acc_b["sizes"][:n],
                prices=self.price,
                mmf=[f[2] for f in self.markets],
                liquidation_fees=[f[4] for f in self.markets],
                max_prices=self.max_price,
                market=e,
                liquidator_side=side,
                size=size,
                price=price,
                penalty=fee[1],
                enabled=fl["liquidate"],
            )
        with b.scope("deleverage"):
            perp.deleverage(
                b,
                collateral=settled[0],
                positions=a["sizes"][:n],
                collateral_deleverager=settled[1],
                positions_deleverager=acc_b["sizes"][:n],
                prices=self.price,
                max_prices=self.max_price,
                market=e,
                deleveraged_side=side,
                size=size,
                price=price,
                enabled=fl["deleverage"],
            )

    def advance(self, e, fl, price, tick_time) -> None:
        """The running market values after the slot: an oracle tick sets its market's price
        and price time, a funding tick the indices and the funding time."""
        b = self.b
        is_orc, is_fund = fl["oracle"], fl["funding"]
        for m in range(self.n):
            upd = b.mul(is_orc, e[m])
            self.price[m] = b.materialize(self.price[m] + b.mul(upd, price - self.price[m]))
            self.ptime[m] = b.materialize(self.ptime[m] + b.mul(upd, tick_time - self.ptime[m]))
            self.index[m] = b.materialize(b.select(is_fund, self.new_index[m], self.index[m]))
        self.funding_time = b.materialize(b.select(is_fund, tick_time, self.funding_time))

    def pubdata(self, i, fl, values: dict, executed: LC) -> None:
        """The slot's 3 public-input words: sum over types of flag * the type's words."""
        b = self.b
        with b.scope("l1"):
            values["l1_address"] = list(reversed(bits.split(b, values["l1"], [8] * 20)))
        with b.scope("key"):
            values["pubkey"] = self.packed_key(values["dep_pk"], fl["deposit"])
        recs = {}
        for kind in TYPES:
            v = dict(values)
            if kind == "deposit":
                v["account"] = b.mul(executed, values["account"])  # a refusal carries 0
            recs[kind] = record_words(b, kind, v)
        for j in range(SLOT_WORDS):
            with b.scope(f"word{j}"):
                word = b.sum(
                    b.mul(fl[t], b.materialize(recs[t][j]))
                    for t in TYPES
                    if not recs[t][j].is_constant() or recs[t][j].k
                )
                b.assert_equal(word, self.pub_words[i][j])

    def refusals(self, fl, executed, dep_x, fw_x, a, full, amount, dep_pk, l1) -> None:
        """A refused L1 request must have a reason the circuit proves (rollup.state's
        outcomes). A deposit: the accounts tree is full (next_account = 4^depth), or A is an
        account holding the deposit's key whose balance would leave its bound (collateral
        after settling + amount >= 2^63). A forced withdrawal: A does not exist, its L1 address
        is another, or the initial-margin rule fails after the debit. Not proven (so not
        provable as refusals): a deposit key that does not unpack or has small order (the
        contract rejects such keys at deposit time), and a forced withdrawal refused only for
        the collateral bound while the margin holds."""
        b = self.b
        dep_r = fl["deposit"] - dep_x
        fw_r = fl["forced"] - fw_x
        key_ok = b.and_(
            b.is_equal(a["static"][0], dep_pk[0]), b.is_equal(a["static"][1], dep_pk[1])
        )
        over = _sign_bit(b, b.materialize(self.c_set_a + amount - (1 << 63)), 64)
        dep_reason = b.or_(full, b.and_(key_ok, over))
        b.assert_zero(b.mul(dep_r, 1 - dep_reason))
        other_l1 = 1 - b.is_equal(l1, a["static"][2])
        fw_reason = b.or_(self.missing_a, b.or_(other_l1, 1 - self.initial_a))
        b.assert_zero(b.mul(fw_r, 1 - fw_reason))

    def packed_key(self, pk: Sequence[LC], is_dep: LC) -> list[LC]:
        """The 32 bytes of circomlibjs's packPoint(pk) in record order (y little-endian, the
        sign of x in bit 7 of the last byte), proven: y's bytes (y < r), the sign of x
        (x > (r-1)/2). Also checks a deposit key by ``rollup.types.valid_deposit_key``: on the
        curve and not of small order (8 key != identity: three doublings, x of 8 key != 0;
        keys outside the prime-order subgroup are accepted, as signature verification is
        cofactored). A slot that is not a deposit proves these for the dummy key."""
        b = self.b
        dpk, _ = dummy_signature()
        kx = b.materialize(b.select(is_dep, pk[0], dpk[0]))
        ky = b.materialize(b.select(is_dep, pk[1], dpk[1]))
        x2 = bjc.assert_on_curve(b, (kx, ky))
        k8 = bjc.double(b, bjc.double(b, bjc.double(b, (kx, ky), x2)))
        with b.scope("small_order"):
            b.assert_nonzero(k8[0])  # 8 key is in the subgroup: it is the identity iff x = 0
        top = b.hint(lambda y: y >> 248, ky)
        bits.range_check(b, top, 6)
        ybytes = [*bits.split(b, ky - top * (1 << 248), [8] * 31), top]
        y_lo = b.lincomb([1 << (8 * k) for k in range(16)], ybytes[:16])
        y_hi = b.lincomb([1 << (8 * k) for k in range(16)], ybytes[16:])
        _assert_parts_le(b, y_lo, y_hi, R - 1)
        sign = b.hint(lambda x: int(x > HALF), kx)
        b.assert_bool(sign)
        small = b.materialize(b.select(sign, -kx, kx))
        hi = b.hint(lambda v: v >> 128, small)
        lo = small - hi * (1 << 128)
        bits.range_check(b, lo, 128)
        bits.range_check(b, hi, 126)
        _assert_parts_le(b, lo, hi, HALF)
        out = list(ybytes)
        out[31] = ybytes[31] + sign * 128
        return out

    def insurance_update(self, root: LC, pending: LC) -> tuple[LC, LC]:
        """Account 0's one update of the batch (State.end_batch): returns (accounts root,
        new insurance_dust)."""
        b, n = self.b, self.n
        with b.scope("batch/insurance"):
            acc = self.insurance_account()
            c_set, dust = self.settle(acc)
            total = b.materialize(pending + self.dust0 + dust)
            lo, hi = bits.split(b, total, [DUST_BITS, 96])
            c_new = b.materialize(c_set + hi)
            bits.signed_range_check(b, c_new, 64)
            _not_min(b, c_new, 1)
            funding_hash = pc.hash_var(b, self.index + [0] * (MAX_MARKETS - n))
            leaf_new = pc.hash_var(
                b, [acc["static_h"], c_new, acc["oroot"], acc["sizes_h"], funding_hash]
            )
            new_root = self.write(acc, root, leaf_new, as_lc(1), "ins")
        return new_root, lo

    def build(self) -> None:
        b, s = self.b, self.shape
        self.open_state()
        self.mem = AccountMemory(
            b,
            n_accesses=s.n_accesses,
            n_units=s.n_units,
            depth=s.account_depth,
            leaf=spec2_leaf(s.order_depth),
            name=MEMORY_NAME,
        )
        dpk, dsig = dummy_signature()
        self.sigs = SignatureTable(
            b,
            s.n_signatures,
            (DUMMY_MESSAGE, dpk[0], dpk[1]),
            (dsig.r8[0], dsig.r8[1], dsig.s),
            name=SIGNATURES_NAME,
        )
        next_account = as_lc(self.next_account0)
        pending = as_lc(0)
        zero = as_lc(0)
        self.oc = {k: zero for k in ("open", "count", "le", "ge", "price", "time", "market")}
        self.oc["last"] = as_lc(-1)
        for i in range(s.n_slots):
            next_account, ins = self.build_slot(i, next_account)
            with b.scope(f"slot{i}/insurance"):
                pending = b.materialize(pending + ins)
        root = self.mem.finish(self.accounts_root0)
        self.sigs.finish()
        with b.scope("batch/oracle_close"):
            self.close_oracle_run(self.oc["open"])
        root, dust = self.insurance_update(root, pending)
        markets_hash = self.close_markets()
        with b.scope("batch/new_root"):
            fields = [
                root,
                markets_hash,
                self.config_hash,
                dust,
                next_account,
                self.funding_time,
            ]
            b.assert_equal(pc.poseidon(b, fields), self.new_root)


def _not_min(b: CircuitBuilder, c: Operand, enabled: Operand) -> None:
    """enabled => c != -2^63: with a signed 64-bit range check, D's strict collateral bound
    -2^63 < c < 2^63 (``rollup.state._check_collateral``)."""
    with b.scope("ne63"):
        b.assert_nonzero(b.select(enabled, as_lc(c) + (1 << 63), 1))


def _assert_parts_le(b: CircuitBuilder, lo: LC, hi: LC, k: int) -> None:
    """hi 2^128 + lo <= k (as integers) for range-checked lo < 2^128, hi < 2^126: with the
    borrow beta = [lo > k_lo], k_lo - lo + beta 2^128 in [0, 2^128) and k_hi - hi - beta >= 0."""
    k_lo, k_hi = k & ((1 << 128) - 1), k >> 128
    beta = b.hint(lambda v: int(v > k_lo), lo)
    b.assert_bool(beta)
    bits.range_check(b, k_lo - lo + beta * (1 << 128), 128)
    bits.range_check(b, k_hi - hi - beta, 126)


def build_batch_builder(shape: BatchShape) -> CircuitBuilder:
    """The builder itself (gate counts per label without compiling)."""
    shape.validate()
    b = CircuitBuilder()
    _Batch(b, shape).build()
    return b


@lru_cache(maxsize=8)
def build_batch_circuit(shape: BatchShape) -> BatchCircuit:
    """Build and compile the batch circuit of ``shape`` (cached per shape)."""
    return BatchCircuit(shape, build_batch_builder(shape).compile())
