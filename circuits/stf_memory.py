"""A prototype of the trade batch circuit the 40k-gates-a-trade target needs (issue E): every
account a batch touches is loaded and stored ONCE per batch through offline memory checking
(``circuits.gadgets.account_memory.AccountMemory``), so a trade slot does no account Merkle path
and no account leaf hashing; everything else a trade proves is the current batch circuit's
(``circuits.state_transition``).

Memory checking: Blum, Evans, Gemmell, Kannan, Naor, "Checking the correctness of memories"
(FOCS 1991, offline checker); in circuits: Ben-Sasson, Chiesa, Genkin, Tromer, Virza, "SNARKs
for C" (CRYPTO 2013, section 2.3). Design note: /tmp/notes2/E_design.md ("load and store each
account once per batch"). State layout and public inputs: layout v2 (rollup.state,
rollup.pubdata): the circuit's public inputs are exactly the current circuit's,
``[old_root, new_root, batch_number, timestamp] + 3 words per slot``.

Shape ``TradeShape(n_slots T, n_units D, account_depth, order_depth, n_markets)``: T slots, each
a Trade or a NoOp (padding); D Merkle units, i.e. at most D distinct accounts per batch, the
insurance account 0 included (the sequencer would cut a batch when either budget runs out).
The memory holds 2T + 1 accesses (rounded up to a power of two): slot i's taker (access 2i)
and maker (2i + 1), then account 0 at the end of the batch (``State.end_batch``); with
``insurance_in_memory=False`` only the 2T trade accesses (a network half as wide), and account
0 is updated by its own path after the memory (cheaper: see the figures below).

A trade slot (``slot<i>/...``; a NoOp slot's accesses are disabled and every rule is gated by
``is_trade``):

- ``type``: the flags, the one-hot market, side, fill, fees; the two account indices;
- ``rules``: the two accounts are distinct (they exist: an access is never ``is_new``, so the
  memory opens a non-zero leaf), fees < 2^63; ``fill``: size and price bounds;
- ``orders_a``/``orders_b``: the order-slot update under the account's ``orders_root`` field
  (``_Batch.order``: no replay, no over-fill, the 4-ary order path), ``limit_*``, ``fee_*``,
  ``expiry_*``;
- ``msg_a``/``msg_b``: the packed order message P2(w0, w1) (spec section 5), ``sig_a``/
  ``sig_b``: EdDSA-Poseidon under the account's key (the fixed dummy signature in a NoOp);
- ``cash``, ``settle_*`` (funding settlement at the batch's indices), ``position_*``,
  ``collateral_*``, ``margin_*`` (D's margin rule); the written fields: collateral, the new
  orders root, the sizes, funding = the global indices (leaves share the batch's
  P4(indices): ``spec2_leaf(new_funding_hash=)``);
- ``pubdata``: the slot's three words (``is_trade`` x the trade record's words).

Batch level: ``batch/old_root``, ``batch/config``, ``batch/oracle_keys``, ``batch/markets``,
``batch/funding_hash`` (the current circuit's openings; trades change no market, so the closing
markets hash is the opened one), ``batch/insurance`` (account 0 settled and credited through the
memory), ``account_memory/...`` (sort, chains, compaction, units), ``batch/new_root``.

What is reused: ``circuits.state_transition._Batch`` (subclassed: its batch openings,
``settle``, ``order``, ``order_words``, ``margin``), so the per-order work is the current
circuit's exactly; the helpers ``_flag``, ``_onehot_dot``, ``_not_min`` are copied below.

Figures (``bench/test_bench_stf_memory.py``, bench/out/stf_memory.json; depth 8/2, 3
markets; gates per trade):

=============  =======  ======  ==========  ===========  ========  =====  =======  ======
T, D           total    memory  signatures  order slots  messages  rules  pubdata  batch
=============  =======  ======  ==========  ===========  ========  =====  =======  ======
4, 2           45,291   12,869  14,074      8,144        1,034     4,225  108      4,833
4, 4           55,462   23,040
8, 4           43,334   13,323                                                    2,423
8, 8           52,634   22,623
12, 6          41,205   11,997                                                    1,620
16, 8          42,254   13,447                                                    1,218
16, 16         51,531   22,725
=============  =======  ======  ==========  ===========  ========  =====  =======  ======

(blank: as the row above). The memory at T = 16, D = 8: unit paths 5,613, unit leaves 3,420,
top cache 628, the sort network 2,490, compaction 995, chains 280; the sort and compaction
run on 4T rows because 2T + 1 accesses round up. With account 0's own path instead
(``insurance_in_memory=False``, D = traders only): T = 16, D = 7: 40,086; D = 8: 41,243;
T = 8, D = 3: 41,377. Prove (ours, 2 threads, this machine shared by other jobs, load ~3):
T = 8, D = 4 (2^19): 8.9-13.3 s, 0.6-0.9 trades/s; T = 12, D = 6 (2^19): 13.2 s, 0.91
trades/s; T = 16, D = 8 (2^20): 27.7 s, 0.58 trades/s.

Witness: ``trade_batch_inputs(shape, state, trades, batch_number, timestamp)`` replays the
trades on a snapshot (like ``rollup.proving.batch_inputs``), records each access's after-state
and each order slot's path, then ``native_account_memory`` on the pre-batch accounts tree;
``trade_batch_witness(state_before, batch, shape)`` checks it against a ``rollup.batch.Batch``
(roots, pubdata) and the circuit's gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from circuits.builder import LC, CircuitBuilder, CircuitError, CompiledCircuit, Operand, as_lc
from circuits.gadgets import bits
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import fixedpoint as fp
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.account_memory import (
    AccountMemory,
    NativeAccess,
    native_account_memory,
    spec2_leaf,
)
from circuits.gadgets.merkle import quad_empty_hashes
from circuits.state_transition import (
    DUST_BITS,
    MAX_MARKETS,
    PRICE_SCALE,
    BatchShape,
    _Batch,
    dummy_signature,
)
from circuits.stf.records import SLOT_WORDS, record_words

__all__ = [
    "TradeShape",
    "TradeBatchCircuit",
    "TradeBatchWitness",
    "build_trade_batch_builder",
    "build_trade_batch_circuit",
    "trade_batch_inputs",
    "trade_batch_witness",
    "gate_breakdown",
]


@dataclass(frozen=True)
class TradeShape:
    """T trade slots, D Merkle units (distinct accounts a batch may touch, account 0
    included), the config's depths (4-ary levels) and markets. ``insurance_in_memory``:
    account 0's end-of-batch credit is an access of the memory (2T + 1 accesses, so a
    network of 4T rows; D counts account 0); False: the memory holds the 2T trade accesses
    only (D counts the traders' accounts) and account 0 gets its own 4-ary path update after
    it (``_Batch.insurance_update``, the current circuit's)."""

    n_slots: int
    n_units: int
    account_depth: int = 8
    order_depth: int = 2
    n_markets: int = 3
    insurance_in_memory: bool = True

    @property
    def n_recorded(self) -> int:
        """The accesses the slots (and account 0's end-of-batch update) record."""
        return 2 * self.n_slots + int(self.insurance_in_memory)

    @property
    def n_accesses(self) -> int:
        """2T (+ 1: account 0 at the end) accesses, to a power of two."""
        n = 2
        while n < self.n_recorded:
            n *= 2
        return n

    def batch_shape(self) -> BatchShape:
        return BatchShape(self.n_slots, self.account_depth, self.order_depth, self.n_markets)

    def validate(self) -> None:
        self.batch_shape().validate()
        if not 1 <= self.n_units <= self.n_accesses:
            raise CircuitError(f"n_units must be in 1..{self.n_accesses}, got {self.n_units}")

    @property
    def n_public(self) -> int:
        return 4 + SLOT_WORDS * self.n_slots


@dataclass(frozen=True, eq=False)
class TradeBatchCircuit:
    shape: TradeShape
    circuit: CompiledCircuit


# --- helpers copied from circuits.state_transition (private there) ---------------------------


def _flag(b: CircuitBuilder, name: str) -> LC:
    v = b.private_input(name)
    b.assert_bool(v)
    return v


def _onehot_dot(b: CircuitBuilder, e: Sequence[LC], xs: Sequence[Operand]) -> LC:
    return b.sum(b.mul(em, x) for em, x in zip(e, xs))


def _not_min(b: CircuitBuilder, c: Operand, enabled: Operand) -> None:
    with b.scope("ne63"):
        b.assert_nonzero(b.select(enabled, as_lc(c) + (1 << 63), 1))


# --- the circuit ------------------------------------------------------------------------------


class _TradeBatch(_Batch):
    def __init__(self, b: CircuitBuilder, shape: TradeShape) -> None:
        super().__init__(b, shape.batch_shape())
        self.tshape = shape

    def fields(self, acc, index: LC) -> dict:
        """The ``_Batch`` account dict of a memory access (static x, y, l1; dynamic nonce,
        collateral, orders root, sizes, funding)."""
        d = acc.before
        return {
            "static": [*acc.static, d[0]],
            "coll": d[1],
            "oroot": d[2],
            "sizes": list(d[3:7]),
            "funding": list(d[7:11]),
            "index": index,
        }

    def build_slot(self, i: int) -> LC:
        """One trade-or-NoOp slot; returns its insurance delta (2^-32 quanta)."""
        b, n, mem = self.b, self.n, self.mem
        p = f"s{i}/"
        with b.scope(f"slot{i}"):
            with b.scope("type"):
                is_trade = _flag(b, f"{p}is_trade")
                e = b.private_inputs(f"{p}market", n)
                for em in e:
                    b.assert_bool(em)
                b.assert_equal(b.sum(e), is_trade)
                market = b.lincomb(list(range(n)), e)
                side = _flag(b, f"{p}side")
                size = b.private_input(f"{p}size")
                price = b.private_input(f"{p}price")
                fee = b.private_inputs(f"{p}fees", 2)
                ia = b.private_input(f"{p}a_index")
                ib = b.private_input(f"{p}b_index")
            with b.scope("memory"):
                ma = mem.access(is_trade, index=ia)
                mb = mem.access(is_trade, index=ib)
            a, acc_b = self.fields(ma, ia), self.fields(mb, ib)
            with b.scope("rules"):
                b.assert_nonzero(b.select(is_trade, b.materialize(ia - ib), 1))
                bits.range_check(b, fee[0], 63)
                bits.range_check(b, fee[1], 63)
            with b.scope("fill"):
                bits.range_check(b, size, 48)
                bits.range_check(b, size - is_trade, 48)
                bits.range_check(b, price - is_trade, 56)
                bits.assert_less_or_equal(b, price, _onehot_dot(b, e, self.max_price), 56)
            sides = (side, 1 - side)
            accs = (a, acc_b)
            order_fee = (b.mul(is_trade, fee[0]), b.mul(is_trade, fee[1]))
            orders = []
            for tag, acc, sd, f in zip("ab", accs, sides, order_fee):
                o = self.order(p, tag, acc, is_trade, b.mul(is_trade, size))
                with b.scope(f"limit_{tag}"):
                    bits.range_check(b, o["limit"] - is_trade, 56)
                    gap = b.mul(1 - 2 * sd, b.materialize(o["limit"] - price))
                    bits.range_check(b, b.mul(is_trade, gap), 56)
                with b.scope(f"fee_{tag}"):
                    bits.range_check(b, o["max_fee"], 63)
                    lhs = b.mul(f, o["size"])
                    rhs = b.mul(o["max_fee"], size)
                    bits.range_check(b, rhs - lhs, 112)
                with b.scope(f"expiry_{tag}"):
                    bits.range_check(b, o["expiry"], 32)
                    bits.range_check(b, o["expiry"] - self.timestamp, 32)
                orders.append(o)
            dpk, _ = dummy_signature()
            for tag, acc, o, sd in zip("ab", accs, orders, sides):
                with b.scope(f"msg_{tag}"):
                    w0, w1 = self.order_words(acc, o, market, sd)
                    msg = pc.hash_var(b, [w0, w1])
                with b.scope(f"sig_{tag}"):
                    sig = b.private_inputs(f"{p}{tag}_sig", 3)
                    m = b.mul(is_trade, msg)
                    ax = b.select(is_trade, acc["static"][0], dpk[0])
                    ay = b.select(is_trade, acc["static"][1], dpk[1])
                    ec.verify(b, m, ax, ay, sig[0], sig[1], sig[2])
            with b.scope("cash"):
                notional = b.mul(size, price)
                debit = fp.div_ceil(b, notional, PRICE_SCALE, q_bits=72)
                rem = b.materialize(as_lc(debit) * PRICE_SCALE - notional)
                nz = 1 - b.is_zero(rem)
                credit = debit - nz
                cash_a = b.mul(side, b.materialize(credit + debit)) - debit
                cash_b = b.mul(side, b.materialize(-credit - debit)) + credit
                insurance = (order_fee[0] + order_fee[1]) * PRICE_SCALE
                insurance = insurance + b.mul(is_trade, nz) * PRICE_SCALE
            delta_a = b.mul(1 - 2 * side, size)
            settled = []
            for tag, acc in zip("ab", accs):
                with b.scope(f"settle_{tag}"):
                    c_set, dust = self.settle(acc)
                    bits.signed_range_check(b, c_set, 64)
                    _not_min(b, c_set, is_trade)
                insurance = insurance + b.mul(is_trade, b.materialize(dust))
                settled.append(c_set)
            for tag, acc, cash, delta, sd, o, c_set, f, ma_ in zip(
                "ab",
                accs,
                (cash_a, cash_b),
                (delta_a, -delta_a),
                sides,
                orders,
                settled,
                order_fee,
                (ma, mb),
            ):
                with b.scope(f"position_{tag}"):
                    s_old = acc["sizes"][:n]
                    s_new = [b.materialize(s_old[m] + b.mul(e[m], delta)) for m in range(n)]
                    old_t = _onehot_dot(b, e, s_old)
                    abs_new, _ = bits.abs_value(b, old_t + delta, 50)
                    bits.assert_less_or_equal(b, abs_new, _onehot_dot(b, e, self.max_pos), 48)
                with b.scope(f"collateral_{tag}"):
                    c_new = b.materialize(c_set + b.mul(is_trade, b.materialize(cash)) - f)
                    bits.signed_range_check(b, b.select(is_trade, c_new, 0), 64)
                    _not_min(b, c_new, is_trade)
                with b.scope(f"margin_{tag}"):
                    ok, _ = self.margin(acc, e, c_set, c_new, delta, abs_new, sd, size)
                    b.assert_zero(b.mul(is_trade, 1 - ok))
                after = [
                    acc["static"][3],
                    c_new,
                    o["new_root"],
                    *s_new,
                    *acc["sizes"][n:],
                    *self.index,
                    *([0] * (MAX_MARKETS - n)),
                ]
                mem.write(ma_, after)
            with b.scope("pubdata"):
                values = {
                    "market": market,
                    "taker_side": side,
                    "taker": ia,
                    "maker": ib,
                    "taker_order_id": orders[0]["oid"],
                    "maker_order_id": orders[1]["oid"],
                    "size": size,
                    "price": price,
                    "taker_fee": fee[0],
                    "maker_fee": fee[1],
                }
                words = record_words(b, "trade", values)
                for j in range(SLOT_WORDS):
                    with b.scope(f"word{j}"):
                        w = b.mul(is_trade, b.materialize(words[j]))
                        b.assert_equal(w, self.pub_words[i][j])
        return insurance

    def build(self) -> None:
        b, s = self.b, self.tshape
        self.open_state()
        leaf = spec2_leaf(s.order_depth, new_funding_hash=self.funding_hash)
        self.mem = AccountMemory(
            b, n_accesses=s.n_accesses, n_units=s.n_units, depth=s.account_depth, leaf=leaf
        )
        pending = as_lc(0)
        for i in range(s.n_slots):
            ins = self.build_slot(i)
            with b.scope(f"slot{i}/insurance"):
                pending = b.materialize(pending + ins)
        if not s.insurance_in_memory:  # account 0's own path update after the memory's
            root = self.mem.finish(self.accounts_root0)
            root, lo = self.insurance_update(root, pending)
            self.new_root_check(root, lo)
            return
        with b.scope("batch/insurance"):
            acc0 = self.mem.access(1, index=0)
            acc = self.fields(acc0, as_lc(0))
            c_set, dust = self.settle(acc)
            total = b.materialize(pending + self.dust0 + dust)
            lo, hi = bits.split(b, total, [DUST_BITS, 96])
            c_new = b.materialize(c_set + hi)
            bits.signed_range_check(b, c_new, 64)
            _not_min(b, c_new, 1)
            n = self.n
            self.mem.write(
                acc0,
                [
                    acc["static"][3],
                    c_new,
                    acc["oroot"],
                    *acc["sizes"],
                    *self.index,
                    *([0] * (MAX_MARKETS - n)),
                ],
            )
        root = self.mem.finish(self.accounts_root0)
        self.new_root_check(root, lo)

    def new_root_check(self, root: LC, lo: LC) -> None:
        b = self.b
        with b.scope("batch/new_root"):
            fields = [
                root,
                self.markets_hash,
                self.config_hash,
                lo,
                self.next_account0,
                self.funding_time,
            ]
            b.assert_equal(pc.poseidon(b, fields), self.new_root)


def build_trade_batch_builder(shape: TradeShape) -> CircuitBuilder:
    """The builder itself (gate counts per label without compiling)."""
    shape.validate()
    b = CircuitBuilder()
    _TradeBatch(b, shape).build()
    return b


@lru_cache(maxsize=4)
def build_trade_batch_circuit(shape: TradeShape) -> TradeBatchCircuit:
    """Build and compile the trade batch circuit of ``shape`` (cached per shape)."""
    return TradeBatchCircuit(shape, build_trade_batch_builder(shape).compile())


# --- gate breakdown ---------------------------------------------------------------------------

_CATEGORIES = (
    ("memory", ("memory", "account_memory")),
    ("signatures", ("sig_a", "sig_b")),
    ("order_slots", ("orders_a", "orders_b")),
    ("messages", ("msg_a", "msg_b")),
    ("pubdata", ("pubdata",)),
)


def gate_breakdown(b: CircuitBuilder) -> dict[str, int]:
    """Gates by category over the whole batch: memory (the slots' access records, the
    checker's sort, chains, compaction and Merkle units), signatures, order slots, messages,
    pubdata, rules (every other slot gate: fill, limits, fees, expiry, cash, settlement,
    positions, collateral, margin, type flags), batch (openings, insurance arithmetic, new
    root), public (the public-input rows)."""
    counts: dict[str, int] = {}
    for row in b._rows:  # the builder's gate rows (label id last)
        lid = row[8]
        label = b._label_names[lid] if lid >= 0 else ""
        parts = label.split("/")
        cat = None
        if parts[0] == "account_memory":
            cat = "memory"
        elif parts[0].startswith("slot") and len(parts) > 1:
            for name, keys in _CATEGORIES:
                if parts[1] in keys:
                    cat = name
                    break
            else:
                cat = "rules"
        else:
            cat = "batch"
        counts[cat] = counts.get(cat, 0) + 1
    counts["public"] = b.n_public
    return counts


# --- the witness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeBatchWitness:
    inputs: dict
    old_root: int
    new_root: int
    pubdata: bytes
    public_inputs: list[int]
    post: object  # rollup.state.State


def _split(parts: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(static, dynamic) of the memory's leaf spec from ``State.account_leaf_parts``."""
    static4, coll, oroot, sizes, funding = parts
    return tuple(static4[:3]), (static4[3], coll, oroot, *sizes, *funding)


def trade_batch_inputs(
    shape: TradeShape, state, trades: Sequence[object], batch_number: int, timestamp: int
) -> TradeBatchWitness:
    """The inputs of ``shape``'s circuit for ``trades`` (rollup.types.Trade; the rest of the
    slots NoOp) applied to a snapshot of ``state`` at ``timestamp``, then ``end_batch``."""
    from rollup.pubdata import encode_record, public_inputs, slot_words
    from rollup.types import MAX_ORACLES, NoopRecord, Trade, to_field

    if len(trades) > shape.n_slots:
        raise CircuitError(f"{len(trades)} trades for {shape.n_slots} slots")
    cfg = state.config
    if (cfg.account_depth, cfg.order_depth, cfg.n_markets) != (
        shape.account_depth,
        shape.order_depth,
        shape.n_markets,
    ):
        raise CircuitError("the state's config does not match the circuit's shape")
    if state.pending_insurance:
        raise CircuitError("the state has pending insurance: end_batch was not called")
    st = state.snapshot()
    st.set_time(timestamp)
    st.flush()
    tree = st._account_tree.copy()  # the pre-batch accounts tree (State's private attribute)
    od = shape.order_depth
    n_order_slots = 1 << (2 * od)
    old_root = st.root
    inp: dict = {
        "old_root": old_root,
        "batch_number": batch_number,
        "timestamp": timestamp,
        "root_fields": list(st.root_fields()),
        "config_fields": [
            cfg.exchange_id,
            st.oracle_keys_hash,
            cfg.oracle_quorum,
            cfg.oracle_validity,
        ],  # fmt: skip
        "oracle_keys": [
            c
            for k in range(MAX_ORACLES)
            for c in (cfg.oracle_keys[k] if k < len(cfg.oracle_keys) else (0, 0))
        ],
    }
    for m in range(shape.n_markets):
        ms = st.markets[m]
        inp[f"market{m}"] = [
            *cfg.markets[m].fields(),
            ms.price,
            to_field(ms.funding_index),
            ms.price_time,
        ]
    touched = {0}
    for tx in trades:
        if not isinstance(tx, Trade):
            raise CircuitError(f"a trade batch holds trades only, not {type(tx).__name__}")
        touched |= {tx.taker.order.account, tx.maker.order.account}
    accounts = {i: _split(st.account_leaf_parts(i)) for i in sorted(touched)}
    accesses: list[NativeAccess] = []
    records = []
    _, dsig = dummy_signature()
    dummy_sig = [dsig.r8[0], dsig.r8[1], dsig.s]
    empty_oroot = quad_empty_hashes(od)[od]
    empty_osibs = [quad_empty_hashes(od)[h] for h in range(od) for _ in range(3)]
    noop_before = (0, 0, empty_oroot, *([0] * 8))
    noop_slots = []
    for i in range(shape.n_slots):
        p = f"s{i}/"
        slot: dict = {
            "is_trade": 0,
            "market": [0] * shape.n_markets,
            "side": 0,
            "size": 0,
            "price": 0,
            "fees": [0, 0],
            "a_index": 0,
            "b_index": 0,
        }
        if i < len(trades):
            tx = trades[i]
            pair = {"a": tx.taker, "b": tx.maker}
            for tag, so in pair.items():
                o = so.order
                acct = o.account
                oid_old, filled_old = st.order_slot(acct, o.order_id % n_order_slots)
                proof = st.order_proof(acct, o.order_id % n_order_slots)
                slot.update(
                    {
                        f"{tag}_size": o.size,
                        f"{tag}_limit": o.limit_price,
                        f"{tag}_max_fee": o.max_fee,
                        f"{tag}_expiry": o.expiry,
                        f"{tag}_oid": o.order_id,
                        f"{tag}_oid_old": oid_old,
                        f"{tag}_filled_old": filled_old,
                        f"{tag}_osibs": [v for trio in proof.siblings for v in trio],
                        f"{tag}_sig": [so.signature.r8[0], so.signature.r8[1], so.signature.s],
                    }
                )
            receipt = st.apply(tx)
            records.append(receipt.record)
            t = tx.taker.order
            slot.update(
                {
                    "is_trade": 1,
                    "side": int(t.side),
                    "size": tx.size,
                    "price": tx.price,
                    "fees": [tx.taker_fee, tx.maker_fee],
                    "a_index": t.account,
                    "b_index": tx.maker.order.account,
                }
            )
            slot["market"][t.market] = 1
            for acct in (t.account, tx.maker.order.account):
                accesses.append(NativeAccess(acct, _split(st.account_leaf_parts(acct))[1]))
        else:
            records.append(NoopRecord())
            noop_slots.append(i)
            for tag in "ab":
                slot.update(
                    {
                        f"{tag}_size": 0,
                        f"{tag}_limit": 0,
                        f"{tag}_max_fee": 0,
                        f"{tag}_expiry": timestamp,
                        f"{tag}_oid": 0,
                        f"{tag}_oid_old": 0,
                        f"{tag}_filled_old": 0,
                        f"{tag}_osibs": list(empty_osibs),
                        f"{tag}_sig": list(dummy_sig),
                    }
                )
            accesses += [NativeAccess(enabled=False), NativeAccess(enabled=False)]
        slot["pubdata"] = list(slot_words(encode_record(records[-1])))
        for k, v in slot.items():
            inp[p + k] = v
    if not shape.insurance_in_memory:  # account 0 read after the trades' updates
        parts = st.account_leaf_parts(0)
        inp["ins/acct_static"] = list(parts[0])
        inp["ins/acct_collateral"] = parts[1]
        inp["ins/acct_orders_root"] = parts[2]
        inp["ins/acct_sizes"] = list(parts[3])
        inp["ins/acct_funding"] = list(parts[4])
        inp["ins/acct_sibs"] = [v for trio in st.account_proof(0).siblings for v in trio]
    root_after_trades = st.accounts_root
    st.end_batch()
    if shape.insurance_in_memory:
        accesses.append(NativeAccess(0, _split(st.account_leaf_parts(0))[1]))
    trace = native_account_memory(
        tree, accounts, accesses, leaf=spec2_leaf(od), n_units=shape.n_units
    )
    want = st.accounts_root if shape.insurance_in_memory else root_after_trades
    if trace.new_root != want:  # pragma: no cover - the replay is the state's
        raise CircuitError("the memory's accounts root differs from the state's")
    mem_inputs = _memory_inputs(shape, trace)
    for i in noop_slots:  # disabled accesses: any before-state; this one passes the rules
        for k in (2 * i, 2 * i + 1):
            mem_inputs[f"mem.{k}.before"] = list(noop_before)
    inp.update(mem_inputs)
    new_root = st.root
    inp["new_root"] = new_root
    pubdata = b"".join(encode_record(r) for r in records)
    public = public_inputs(old_root, new_root, batch_number, timestamp, pubdata, shape.n_slots)
    return TradeBatchWitness(inp, old_root, new_root, pubdata, public, st)


@lru_cache(maxsize=4)
def _memory_template(shape: TradeShape) -> AccountMemory:
    """An AccountMemory of the shape's geometry with its accesses recorded (for ``inputs``)."""
    b = CircuitBuilder()
    mem = AccountMemory(
        b,
        n_accesses=shape.n_accesses,
        n_units=shape.n_units,
        depth=shape.account_depth,
        leaf=spec2_leaf(shape.order_depth),
    )
    for _ in range(shape.n_recorded):
        mem.access(1, index=0)
    return mem


def _memory_inputs(shape: TradeShape, trace) -> dict:
    return _memory_template(shape).inputs(trace)


def trade_batch_witness(state_before, batch, shape: TradeShape) -> tuple[list[int], list[int]]:
    """(witness, public inputs) of ``shape``'s circuit for ``batch`` (a ``rollup.batch.Batch``
    of trades and NoOp padding) from the state before it: the replay is checked against the
    batch (roots, pubdata), the witness against every gate."""
    if batch.pre_root != state_before.root:
        raise CircuitError("the state is not the batch's pre-state (roots differ)")
    w = trade_batch_inputs(
        shape, state_before, list(batch.transactions), batch.number, batch.timestamp
    )
    if w.pubdata != batch.pubdata:
        raise CircuitError("replaying the batch gives other pubdata than the batch's")
    if w.new_root != batch.post_root:
        raise CircuitError("replaying the batch gives another post root than the batch's")
    circuit = build_trade_batch_circuit(shape).circuit
    witness = circuit.check(w.inputs)
    public = circuit.public_signals(witness)
    if public != w.public_inputs:  # pragma: no cover - the circuit binds them
        raise CircuitError("the circuit's public signals differ from rollup.pubdata's")
    return witness, public
