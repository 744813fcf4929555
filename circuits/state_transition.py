"""The batch circuit (issue E, first cut): a validity proof that a batch of transaction slots
takes the state root of ``rollup.state`` from ``old_root`` to ``new_root`` by D's rules.

Arithmetisation: the three-wire PLONK gate of ``circuits.builder`` (Gabizon, Williamson,
Ciobotaru, ePrint 2019/953, section 6). State layout: exactly D's CURRENT commitment (see
``rollup.state``): binary Poseidon(2) account tree, account leaf = Poseidon of 14 fields, order
slots under the account (binary, ``order_depth``), state root = Poseidon(6) of (accounts_root,
markets_hash, config_hash, insurance, next_account, funding_time).

Shape
-----
``BatchShape(n_slots, account_depth, order_depth, n_markets)``: one setup per shape. Every slot
is *universal* (Loopring's design): it always performs

- the update of account A (its leaf, old and new, along one path) and then of account B (from
  the intermediate root), each with one order-slot update under it;
- two EdDSA-Poseidon verifications (A's and B's order);
- the funding settlement, trade cash flow, position and margin arithmetic of both accounts;

and a type (``is_trade``, ``is_deposit``, neither: NoOp) selects which results are written. A
non-trade slot verifies a fixed dummy signature (a fixed key signing 0) in place of the orders':
the EdDSA gadget has no ``enabled`` input, so the message and key are selected instead. A NoOp
writes nothing (new leaves = old leaves); a Deposit writes A only.

Implemented types: NoOp, Deposit (executed; to an existing account or a new one at
``next_account``; refusals are not provable yet), Trade (A = taker, B = maker).

Market parameters, prices and funding indices are opened once per batch from ``markets_hash``
(Poseidon(11) per market, Poseidon(4) over the leaves) and ``exchange_id`` from
``config_hash`` (whose ``account_depth`` and ``order_depth`` are the shape's constants, so a
proof for one shape cannot speak about another config). They are batch constants in this cut
(FundingTick and OraclePriceTick slots are not implemented). Values committed in the old root
are trusted to be in their bounds (every write range-checks what it writes).

Public inputs and the pubdata binding
-------------------------------------
``old_root, new_root, batch_number, timestamp, pubdata_hash`` (5 public signals). The pubdata
(``rollup.pubdata``: records of whole 16-byte chunks, NoOp padding to ``n_slots`` records) is
bound by a Poseidon chain over slots: ``h_0 = 0``, ``h_{i+1} = Poseidon(h_i, c_0, .., c_4)``
with ``c_j`` the record's j-th chunk as a 128-bit big-endian integer (zero past the record's
end; 5 = the most chunks of an implemented type, a deposit). ``native_pubdata_hash`` computes
it from the bytes as a contract would (walk the records by their type byte).
Prover side: 1,403 gates a slot (Poseidon(6) with the output materialised) plus the chunk
assembly (the splits of fields that straddle a chunk boundary, which double as their range
checks). Measured since (``bench/test_bench_binding_gas.py``): packing the pubdata as public
inputs instead costs ~1 gate per 31-byte word in the circuit and ~331 execution gas per word on
chain with our verifier (245 to verify + 86 to rebuild the word from calldata), ~513-663 gas a
48-byte trade, against ~139k gas a slot for this Poseidon chain recomputed on chain (circomlibjs's
Poseidon(6) contract): the chain is to be replaced by packed public inputs.
``batch_number`` is bound as a public input only (the contract checks it); ``timestamp``
drives the expiry checks.

Gate labels: ``slot<i>/<part>``; the parts of a trade: ``acct_a``/``acct_b`` (leaf hashing and
Merkle path, ``merkle/root`` fails on a wrong old leaf), ``orders_a``/``orders_b`` (slot
rules: ``replay``, ``overfill``), ``sig_a``/``sig_b`` (a forged signature fails at
``eddsa/check``), ``msg_a``/``msg_b`` (order hashes), ``limit_a``/``limit_b`` (price outside
the order's limit), ``fee_a``/``fee_b``, ``expiry_a``/``expiry_b``, ``settle_a``/
``settle_b``, ``cash``, ``position_a``/``position_b``, ``margin_a``/``margin_b``, ``pubdata``;
batch level: ``batch/old_root``, ``batch/new_root`` (a wrong new root fails here),
``batch/markets``, ``batch/config``, ``batch/insurance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from circuits.builder import LC, CircuitBuilder, CircuitError, CompiledCircuit, Operand, as_lc
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_circuit as bjc
from circuits.gadgets import bits, eddsa
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import fixedpoint as fp
from circuits.gadgets import merkle_circuit as mc
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.merkle import empty_hashes
from circuits.gadgets.poseidon import poseidon as native_poseidon
from prover import params

__all__ = [
    "BatchShape",
    "BatchCircuit",
    "SLOT_CHUNKS",
    "TX_NOOP",
    "TX_DEPOSIT",
    "TX_TRADE",
    "build_batch_circuit",
    "native_pubdata_hash",
    "dummy_signature",
]

R = params.R_ORDER
HALF = (R - 1) // 2
PRICE_SCALE = 1 << 32
RISK_SCALE = 10**6
SLOT_CHUNKS = 5
CHUNK_BITS = 128
TX_NOOP, TX_DEPOSIT, TX_TRADE = 0, 1, 5
ORDER_KIND = 1
LEAF_FIELDS = 14
MAX_MARKETS = 4
DUMMY_PRIVATE_KEY = b"zkperp stf dummy signer key 0000"  # 32 bytes
DUMMY_MESSAGE = 0


@lru_cache(maxsize=1)
def dummy_signature() -> tuple[bj.Point, eddsa.Signature]:
    """The fixed key and its signature of ``DUMMY_MESSAGE``: what a non-trade slot verifies."""
    pub = eddsa.prv2pub(DUMMY_PRIVATE_KEY)
    return pub, eddsa.sign_poseidon(DUMMY_PRIVATE_KEY, DUMMY_MESSAGE)


@dataclass(frozen=True)
class BatchShape:
    """A circuit shape: slots per batch, the config's tree depths and number of markets."""

    n_slots: int
    account_depth: int = 16
    order_depth: int = 4
    n_markets: int = 3

    def validate(self) -> None:
        if not 1 <= self.n_slots <= 1 << 12:
            raise CircuitError(f"n_slots must be in 1..4096, got {self.n_slots}")
        if not 1 <= self.account_depth <= 32:
            raise CircuitError("account_depth must be in 1..32")
        if not 1 <= self.order_depth <= 16:
            raise CircuitError("order_depth must be in 1..16")
        if not 1 <= self.n_markets <= MAX_MARKETS:
            raise CircuitError(f"n_markets must be in 1..{MAX_MARKETS}")


@dataclass(frozen=True, eq=False)
class BatchCircuit:
    """A compiled batch circuit and its shape."""

    shape: BatchShape
    circuit: CompiledCircuit


# --- native pubdata binding ----------------------------------------------------------------


def record_chunks(pubdata: bytes) -> list[list[int]]:
    """The records of a batch's pubdata as lists of 128-bit chunks (walking the type bytes)."""
    from rollup.pubdata import TxType, chunks_of

    out = []
    pos = 0
    while pos < len(pubdata):
        n = chunks_of(TxType(pubdata[pos]))
        if n > SLOT_CHUNKS:
            raise CircuitError(f"a record of {n} chunks does not fit a slot")
        out.append(
            [int.from_bytes(pubdata[pos + 16 * j : pos + 16 * j + 16], "big") for j in range(n)]
        )
        pos += 16 * n
    return out


def native_pubdata_hash(pubdata: bytes) -> int:
    """h_{i+1} = Poseidon(h_i, c_0..c_4) over the records (see the module docstring)."""
    h = 0
    for chunks in record_chunks(pubdata):
        h = native_poseidon([h, *chunks, *([0] * (SLOT_CHUNKS - len(chunks)))])
    return h


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


# --- the circuit ------------------------------------------------------------------------------


class _Batch:
    def __init__(self, b: CircuitBuilder, shape: BatchShape) -> None:
        self.b = b
        self.shape = shape
        self.n = shape.n_markets
        self.empty_orders_root = empty_hashes(shape.order_depth)[-1]

    # batch-level openings
    def open_state(self) -> None:
        b = self.b
        self.old_root = b.public_input("old_root")
        self.new_root = b.public_input("new_root")
        self.batch_number = b.public_input("batch_number")
        self.timestamp = b.public_input("timestamp")
        self.pubdata_hash = b.public_input("pubdata_hash")
        rf = b.private_inputs("root_fields", 6)
        self.accounts_root0, self.markets_hash, self.config_hash = rf[0], rf[1], rf[2]
        self.insurance0, self.next_account0, self.funding_time = rf[3], rf[4], rf[5]
        with b.scope("batch/old_root"):
            b.assert_equal(pc.poseidon(b, rf), self.old_root)
        with b.scope("batch/config"):
            cfg = b.private_inputs("config_fields", 3)  # exchange_id, keys_hash, quorum
            validity = b.private_input("oracle_validity")
            self.exchange_id = cfg[0]
            h = pc.poseidon(
                b,
                [
                    cfg[0],
                    self.shape.account_depth,
                    self.shape.order_depth,
                    cfg[1],
                    cfg[2],
                    validity,
                ],
            )
            b.assert_equal(h, self.config_hash)
        with b.scope("batch/markets"):
            leaves = []
            self.markets = []
            for m in range(self.n):
                f = b.private_inputs(f"market{m}", 11)
                leaves.append(pc.hash_var(b, f))
                self.markets.append(f)
            h = pc.poseidon(b, leaves + [0] * (MAX_MARKETS - self.n))
            b.assert_equal(h, self.markets_hash)
            # per market: mmf * p and imf * p (the risk of one synthetic quantum)
            self.price = [f[8] for f in self.markets]
            self.index = [f[9] for f in self.markets]
            self.max_pos = [f[6] for f in self.markets]
            self.max_price = [f[7] for f in self.markets]
            self.mp = [b.mul(f[2], f[8]) for f in self.markets]
            self.ip = [b.mul(f[3], f[8]) for f in self.markets]

    # per-slot parts
    def account(self, p: str, tag: str) -> dict:
        """The witness of one account access: path, old leaf fields, emptiness."""
        b, s = self.b, self.shape
        acc = {
            "bits": b.private_inputs(f"{p}{tag}_bits", s.account_depth),
            "sibs": b.private_inputs(f"{p}{tag}_sibs", s.account_depth),
            "empty": _flag(b, f"{p}{tag}_empty"),
            "old": b.private_inputs(f"{p}{tag}_fields", LEAF_FIELDS),
        }
        with b.scope("path_bits"):
            acc["index"] = mc.path_bits(b, acc["bits"])
        return acc

    def settle(self, acc: dict) -> tuple[LC, LC]:
        """(collateral after settling, dust scaled by 2^32) of the old fields."""
        b = self.b
        old = acc["old"]
        c0 = old[3]
        owed = b.sum(
            b.mul(b.materialize(self.index[m] - old[7 + 2 * m]), old[6 + 2 * m])
            for m in range(self.n)
        )
        charge = fp.div_ceil(b, owed, PRICE_SCALE, q_bits=78, signed=True)
        dust = as_lc(charge) * PRICE_SCALE - owed
        return c0 - charge, dust

    def order(self, p: str, tag: str, acc: dict, is_trade: LC, fill: LC) -> tuple[LC, LC, dict]:
        """Order-slot rules and the order tree update; returns (old orders root check is the
        caller's: the computed old root, the new root, the order's fields)."""
        b, s = self.b, self.shape
        o = {
            k: b.private_input(f"{p}{tag}_{k}")
            for k in ("size", "limit", "max_fee", "expiry", "oid", "oid_old", "filled_old")
        }
        osibs = b.private_inputs(f"{p}{tag}_osibs", s.order_depth)
        with b.scope(f"orders_{tag}"):
            parts = bits.split(b, o["oid"], [1] * s.order_depth + [32 - s.order_depth])
            slot_bits = parts[: s.order_depth]
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
            new_leaf = b.select(is_trade, o["oid"] * (1 << 48) + filled, old_leaf)
            old_root = mc.merkle_root(b, old_leaf, osibs, slot_bits, check_bits=False)
            new_root = mc.merkle_root(b, new_leaf, osibs, slot_bits, check_bits=False)
        return old_root, new_root, o

    def order_message(self, acc: dict, o: dict, market: LC, side: LC) -> LC:
        b = self.b
        tag = self.exchange_id * 256 + ORDER_KIND
        fields = [
            tag,
            acc["index"],
            market,
            side,
            o["size"],
            o["limit"],
            o["max_fee"],
            o["expiry"],
            o["oid"],
        ]
        return pc.hash_var(b, fields)

    def signature(self, p: str, tag: str, msg: LC, pk: Sequence[LC], is_trade: LC) -> None:
        b = self.b
        dpk, _ = dummy_signature()
        sig = b.private_inputs(f"{p}{tag}_sig", 3)
        with b.scope(f"sig_{tag}"):
            m = b.select(is_trade, msg, DUMMY_MESSAGE)
            ax = b.select(is_trade, pk[0], dpk[0])
            ay = b.select(is_trade, pk[1], dpk[1])
            ec.verify(b, m, ax, ay, sig[0], sig[1], sig[2])

    def risk_terms(self, s_old: Sequence[LC]) -> dict:
        """|s_m| and its sign for every market, TV's position part, TR and TRi (before)."""
        b = self.b
        absv, neg = [], []
        for m in range(self.n):
            a, ng = bits.abs_value(b, s_old[m], 50)
            absv.append(a)
            neg.append(ng)
        return {
            "abs": absv,
            "neg": neg,
            "sp": b.sum(b.mul(s_old[m], self.price[m]) for m in range(self.n)),
            "tr": b.sum(b.mul(self.mp[m], absv[m]) for m in range(self.n)),
            "tri": b.sum(b.mul(self.ip[m], absv[m]) for m in range(self.n)),
        }

    def build_slot(self, i: int, root: LC, pubdata_acc: LC) -> tuple[LC, LC, LC, LC, LC]:
        """One universal slot: returns (new accounts root, 1 if it creates an account, the
        insurance delta, the new pubdata hash, account A's index)."""
        b, n = self.b, self.n
        p = f"s{i}/"
        with b.scope(f"slot{i}"):
            with b.scope("type"):
                is_trade = _flag(b, f"{p}is_trade")
                is_dep = _flag(b, f"{p}is_deposit")
                b.assert_bool(is_trade + is_dep)
                e = b.private_inputs(f"{p}market", n)
                for em in e:
                    b.assert_bool(em)
                b.assert_equal(b.sum(e), is_trade)
                market = b.lincomb(list(range(n)), e)
                side = _flag(b, f"{p}side")  # the taker's (A's) side: 0 buy, 1 sell
                size = b.private_input(f"{p}size")
                price = b.private_input(f"{p}price")
                fee = b.private_inputs(f"{p}fees", 2)
                dep_new = _flag(b, f"{p}dep_new")
                new_acct = b.mul(is_dep, dep_new)
                dep_pk = b.private_inputs(f"{p}dep_pk", 2)
                dep_l1 = b.private_input(f"{p}dep_l1")
                amount = b.private_input(f"{p}dep_amount")
            with b.scope("acct_a"):
                a = self.account(p, "a")
            with b.scope("acct_b"):
                acc_b = self.account(p, "b")
            # a trade needs two distinct, existing accounts
            with b.scope("distinct"):
                b.assert_zero(b.mul(is_trade, a["empty"]))
                b.assert_zero(b.mul(is_trade, acc_b["empty"]))
                d = b.materialize(a["index"] - acc_b["index"])
                b.assert_nonzero(b.select(is_trade, d, 1))
                # a new account is created at next_account, an existing one is not empty
                b.assert_zero(b.mul(is_dep, a["empty"] - dep_new))
            with b.scope("fill"):
                bits.range_check(b, size, 48)
                bits.range_check(b, size - is_trade, 48)  # a trade fills >= 1
                bits.range_check(b, price - is_trade, 56)
                bits.range_check(b, fee[0], 63)
                bits.range_check(b, fee[1], 63)
                max_price = _onehot_dot(b, e, self.max_price)
                bits.assert_less_or_equal(b, price, max_price, 56)
            sides = (side, 1 - side)
            accs = (a, acc_b)
            # orders: slot rules, trees, messages, signatures, limits, fees, expiry
            orders = []
            for tag, acc, sd, f in zip("ab", accs, sides, fee):
                old_or, new_or, o = self.order(p, tag, acc, is_trade, size)
                with b.scope(f"orders_{tag}/root"):
                    b.assert_equal(b.mul(1 - acc["empty"], old_or - acc["old"][5]), 0)
                with b.scope(f"msg_{tag}"):
                    msg = self.order_message(acc, o, market, sd)
                self.signature(p, tag, msg, acc["old"][:2], is_trade)
                with b.scope(f"limit_{tag}"):
                    bits.range_check(b, o["limit"] - is_trade, 56)
                    gap = b.mul(1 - 2 * sd, b.materialize(o["limit"] - price))
                    bits.range_check(b, gap, 56)
                with b.scope(f"fee_{tag}"):
                    bits.range_check(b, o["max_fee"], 63)
                    lhs = b.mul(f, o["size"])
                    rhs = b.mul(o["max_fee"], size)
                    bits.range_check(b, rhs - lhs, 112)
                with b.scope(f"expiry_{tag}"):
                    bits.range_check(b, o["expiry"], 32)
                    bits.range_check(b, o["expiry"] - self.timestamp, 32)
                orders.append((new_or, o))
            # cash: the buyer pays ceil(size price / 2^32), the seller gets the floor
            with b.scope("cash"):
                notional = b.mul(size, price)
                debit = fp.div_ceil(b, notional, PRICE_SCALE, q_bits=72)
                rem = b.materialize(as_lc(debit) * PRICE_SCALE - notional)
                nz = 1 - b.is_zero(rem)
                credit = debit - nz
                trade_dust = nz * PRICE_SCALE
                # cash of A: side buy -> -debit, sell -> credit
                cash_a = b.mul(side, b.materialize(credit + debit)) - debit - fee[0]
                cash_b = b.mul(side, b.materialize(-credit - debit)) + credit - fee[1]
            delta_a = b.mul(1 - 2 * side, size)  # A's position change
            insurance = as_lc(0)
            # the accounts that are written and existed: their settlement dust goes to the fund
            written = (b.materialize(is_trade + is_dep - new_acct), is_trade)
            cur_root = root
            for tag, acc, cash, delta, sd, (new_or, _o) in zip(
                "ab", accs, (cash_a, cash_b), (delta_a, -delta_a), sides, orders
            ):
                old = acc["old"]
                with b.scope(f"settle_{tag}"):
                    c_set, dust = self.settle(acc)
                    bits.signed_range_check(b, c_set, 64)
                insurance = insurance + b.mul(written[tag == "b"], b.materialize(dust))
                with b.scope(f"position_{tag}"):
                    s_old = [old[6 + 2 * m] for m in range(n)]
                    s_new = [s_old[m] + b.mul(e[m], delta) for m in range(n)]
                    old_t = _onehot_dot(b, e, s_old)
                    new_t = old_t + delta
                    abs_new, _ = bits.abs_value(b, new_t, 50)
                    bits.assert_less_or_equal(b, abs_new, _onehot_dot(b, e, self.max_pos), 48)
                    c_trade = c_set + cash
                    bits.signed_range_check(b, c_trade, 64)
                with b.scope(f"margin_{tag}"):
                    ok = self.margin(acc, e, s_old, c_set, c_trade, delta, abs_new, sd, size)
                    b.assert_zero(b.mul(is_trade, 1 - ok))
                # the new leaf
                with b.scope(f"leaf_{tag}"):
                    writes = is_trade + is_dep if tag == "a" else is_trade
                    if tag == "a":
                        c_dep = c_set + amount
                        c_new = b.select(is_trade, c_trade, c_dep)
                        new_fields = self.new_fields_a(
                            old, new_acct, dep_pk, dep_l1, amount, c_new, s_new, new_or
                        )
                        with b.scope("deposit"):
                            bits.range_check(b, amount - is_dep, 63)
                            bits.signed_range_check(b, c_dep, 64)
                            b.assert_zero(b.mul(is_dep - new_acct, old[0] - dep_pk[0]))
                            b.assert_zero(b.mul(is_dep - new_acct, old[1] - dep_pk[1]))
                    else:
                        new_fields = [*old[:3], c_trade, old[4], new_or]
                        for m in range(MAX_MARKETS):
                            if m < n:
                                new_fields += [s_new[m], self.index[m]]
                            else:
                                new_fields += [old[6 + 2 * m], old[7 + 2 * m]]
                with b.scope(f"acct_{tag}"):
                    h_old = pc.hash_var(b, old)
                    leaf_old = b.mul(1 - acc["empty"], h_old)
                    h_new = pc.hash_var(b, new_fields)
                    leaf_new = b.select(b.materialize(writes), h_new, leaf_old)
                    r_old = mc.merkle_root(b, leaf_old, acc["sibs"], acc["bits"], check_bits=False)
                    with b.scope("merkle/root"):
                        b.assert_equal(r_old, cur_root)
                    cur_root = mc.merkle_root(
                        b, leaf_new, acc["sibs"], acc["bits"], check_bits=False
                    )
            insurance = insurance + b.mul(is_trade, trade_dust + (fee[0] + fee[1]) * PRICE_SCALE)
            with b.scope("pubdata"):
                chunks = self.pubdata_chunks(
                    is_trade,
                    is_dep,
                    market,
                    side,
                    a,
                    acc_b,
                    orders,
                    size,
                    price,
                    fee,
                    dep_l1,
                    amount,
                    dep_pk,
                )
                new_hash = pc.hash_var(b, [pubdata_acc, *chunks])
        return cur_root, new_acct, insurance, new_hash, a["index"]

    def new_fields_a(self, old, new_acct, dep_pk, dep_l1, amount, c_new, s_new, new_or):
        """A's new leaf fields for a trade or a deposit (a new account: the deposit's key and L1
        address, the amount, nonce 0, the empty orders root, no positions)."""
        b, n = self.b, self.n
        keep = 1 - new_acct
        fields = [
            b.select(new_acct, dep_pk[0], old[0]),
            b.select(new_acct, dep_pk[1], old[1]),
            b.select(new_acct, dep_l1, old[2]),
            b.select(new_acct, amount, c_new),
            b.mul(keep, old[4]),
            b.select(new_acct, self.empty_orders_root, new_or),
        ]
        for m in range(MAX_MARKETS):
            if m < n:
                fields += [b.mul(keep, s_new[m]), self.index[m]]
            else:
                fields += [b.mul(keep, old[6 + 2 * m]), b.mul(keep, old[7 + 2 * m])]
        return fields

    def margin(self, acc, e, s_old, c_set, c_new, delta, abs_new, side, size) -> LC:
        """D's margin rule (rollup.rules.margin_ok) for a change of the traded position only:
        1 if TRi_after <= TV_after 10^6, or the change only reduces risk and TV/TR does not
        fall (cross-multiplied)."""
        b = self.b
        t = self.risk_terms(s_old)
        tv0 = c_set * PRICE_SCALE + t["sp"]
        p_t = _onehot_dot(b, e, self.price)
        tv1 = c_new * PRICE_SCALE + t["sp"] + b.mul(delta, p_t)
        abs_old_t = _onehot_dot(b, e, t["abs"])
        d_abs = b.materialize(abs_new - abs_old_t)
        tr1 = t["tr"] + b.mul(_onehot_dot(b, e, self.mp), d_abs)
        tri1 = t["tri"] + b.mul(_onehot_dot(b, e, self.ip), d_abs)
        with b.scope("initial"):
            ok1 = _sign_bit(b, b.materialize(tv1 * RISK_SCALE - tri1), 136)
        with b.scope("reduce"):
            le = bits.less_or_equal(b, size, abs_old_t, 50)
            neg_t = _onehot_dot(b, e, t["neg"])
            reduce = b.mul(le, b.xor(neg_t, side))
        with b.scope("ratio"):
            x = b.mul(b.materialize(tv1), b.materialize(t["tr"])) - b.mul(
                b.materialize(tv0), b.materialize(tr1)
            )
            ratio = _sign_bit(b, b.materialize(x), 240)
        return b.or_(ok1, b.mul(reduce, ratio))

    def pubdata_chunks(
        self,
        is_trade,
        is_dep,
        market,
        side,
        a,
        acc_b,
        orders,
        size,
        price,
        fee,
        dep_l1,
        amount,
        dep_pk,
    ) -> list[LC]:
        b = self.b
        oa, ob = orders[0][1], orders[1][1]
        # trade: type market side taker maker taker_oid maker_oid size price fees
        moid_lo, moid_hi = bits.split(b, ob["oid"], [24, 8])
        tc0 = (
            (TX_TRADE << 120)
            + market * (1 << 112)
            + side * (1 << 104)
            + a["index"] * (1 << 72)
            + acc_b["index"] * (1 << 40)
            + oa["oid"] * (1 << 8)
            + moid_hi
        )
        tc1 = moid_lo * (1 << 104) + size * (1 << 56) + price
        tc2 = fee[0] * (1 << 64) + fee[1]
        # deposit: type executed account amount l1 pubkey (packed: y little-endian, sign bit)
        l1_lo, l1_mid, l1_hi = bits.split(b, dep_l1, [16, 128, 16])
        pk_bytes = self.packed_key(dep_pk, is_dep)
        dc0 = (TX_DEPOSIT << 120) + (1 << 112) + a["index"] * (1 << 80) + amount * (1 << 16) + l1_hi
        dc1 = l1_mid
        dc2 = l1_lo * (1 << 112) + b.lincomb(
            [1 << (8 * (13 - k)) for k in range(14)], pk_bytes[:14]
        )
        dc3 = b.lincomb([1 << (8 * (15 - k)) for k in range(16)], pk_bytes[14:30])
        dc4 = pk_bytes[30] * (1 << 120) + pk_bytes[31] * (1 << 112)
        out = []
        for tcj, dcj in zip((tc0, tc1, tc2, 0, 0), (dc0, dc1, dc2, dc3, dc4)):
            t = b.mul(is_trade, b.materialize(tcj)) if not as_lc(tcj).is_constant() else 0
            d = b.mul(is_dep, b.materialize(dcj))
            out.append(as_lc(t) + d)
        return out

    def packed_key(self, pk: Sequence[LC], is_dep: LC) -> list[LC]:
        """The 32 bytes of circomlibjs's packPoint(pk), proven: y's bytes (y < r), the sign of
        x (x > (r-1)/2). Also checks a deposit key on the curve and in the prime subgroup."""
        b = self.b
        dpk, _ = dummy_signature()
        with b.scope("key"):
            kx = b.select(is_dep, pk[0], dpk[0])
            ky = b.select(is_dep, pk[1], dpk[1])
            kx, ky = b.materialize(kx), b.materialize(ky)
            k2 = bjc.assert_on_curve(b, (kx, ky))
            q = b.hint_many(_over_8, [kx, ky], 2)
            q2 = bjc.assert_on_curve(b, q)
            q8 = bjc.double(b, bjc.double(b, bjc.double(b, q, q2)))
            b.assert_equal(q8[0], kx)
            b.assert_equal(q8[1], ky)
            b.assert_nonzero(kx)
            del k2
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
        # a non-deposit slot publishes no key: its bytes are multiplied by is_deposit later
        return out

    def build(self) -> None:
        b, s = self.b, self.shape
        self.open_state()
        root = as_lc(self.accounts_root0)
        next_account = as_lc(self.next_account0)
        insurance = as_lc(self.insurance0)
        h = as_lc(0)
        for i in range(s.n_slots):
            root, new_acct, ins, h, idx_a = self.build_slot(i, root, h)
            with b.scope(f"slot{i}/next_account"):
                b.assert_zero(b.mul(new_acct, idx_a - next_account))
                next_account = b.materialize(next_account + new_acct)
            insurance = b.materialize(insurance + ins)
        with b.scope("batch/insurance"):
            bits.range_check(b, insurance, 127)
        with b.scope("batch/pubdata"):
            b.assert_equal(h, self.pubdata_hash)
        with b.scope("batch/new_root"):
            fields = [
                root,
                self.markets_hash,
                self.config_hash,
                insurance,
                next_account,
                self.funding_time,
            ]
            b.assert_equal(pc.poseidon(b, fields), self.new_root)


def _assert_parts_le(b: CircuitBuilder, lo: LC, hi: LC, k: int) -> None:
    """hi 2^128 + lo <= k (as integers) for range-checked lo < 2^128, hi < 2^126: with the
    borrow beta = [lo > k_lo], k_lo - lo + beta 2^128 in [0, 2^128) and k_hi - hi - beta >= 0."""
    k_lo, k_hi = k & ((1 << 128) - 1), k >> 128
    beta = b.hint(lambda v: int(v > k_lo), lo)
    b.assert_bool(beta)
    bits.range_check(b, k_lo - lo + beta * (1 << 128), 128)
    bits.range_check(b, k_hi - hi - beta, 126)


def _over_8(x: int, y: int) -> list[int]:
    if not bj.on_curve((x, y)):
        return [0, 1]
    return list(bj.mul((x, y), pow(8, -1, bj.SUBORDER)))


def build_batch_circuit(shape: BatchShape) -> BatchCircuit:
    """Build and compile the batch circuit of ``shape``."""
    shape.validate()
    b = CircuitBuilder()
    _Batch(b, shape).build()
    return BatchCircuit(shape, b.compile())


def build_batch_builder(shape: BatchShape) -> CircuitBuilder:
    """The builder itself (gate counts per label without compiling)."""
    shape.validate()
    b = CircuitBuilder()
    _Batch(b, shape).build()
    return b
