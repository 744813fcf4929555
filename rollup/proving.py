"""The bridge from the rollup to the prover: the witness of a batch circuit
(``circuits.state_transition``, layout v2) from D's native state.

``batch_witness(state_before, batch, shape)`` replays the batch's transactions on a snapshot of
``rollup.state.State`` at the batch's timestamp and records, slot by slot, what the circuit
reads: the indices of the two accounts and the order slots under them, the orders and
signatures, and the slot's two account accesses (``rollup.batch.accessed_accounts``: which are
enabled, each account's fields after the slot, a read for a refusal, the key and L1 address of
an account a deposit creates). The access log then runs through ``native_account_memory`` on
the accounts tree before the batch (``State.accounts_tree``): every access's before-state, one
Merkle update per distinct account (their siblings and the top cache's nodes), which must end at
the state's accounts root; then the insurance account's update (``State.end_batch``). It checks
the replay against the batch (the records, the post root) and solves the circuit: a batch that
breaks a rule raises ``UnsatisfiedGate`` naming the gate, one that touches more distinct
accounts than the shape's units, or verifies more distinct signed messages than its signature
units (``rollup.batch.signed_messages``), a ``CircuitError`` saying so. ``batch_inputs`` is
the same on a list of transactions (tests).

A disabled access (NoOp, ticks, B of one-account types, a refused request's missing account)
carries the empty account's fields and an empty order slot, which pass the slot's order checks.
An account whose order the slot does not fill (both outside trades, the liquidated account,
both sides of a deleverage) gives its order storage slot 0's content with a zero fill, which
passes every order check (see the circuit's docstring); a signature request that signs nothing
carries the dummy signature (the circuit's signature table verifies each distinct signed
message once, from the slots' signatures). Liquidate: A is the liquidator (its signed order in
request a), B the liquidated
account; Deleverage: A the deleveraged account, B the deleverager.

An oracle tick with k > 2 signatures takes ``slots_needed(tx)`` = 1 + ceil((k - 2) / 2)
slots: its record (signatures 1, 2), then NoOp records continuing it (signatures 3, 4, ...).
``batch_inputs`` lays them out so; ``batch_witness`` raises a ``CircuitError`` saying so when
a batch's pubdata does not leave those NoOp slots right after the tick (the sequencer's side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from circuits.builder import CircuitBuilder, CircuitError
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets.account_memory import (
    AccountMemory,
    AccountMemoryError,
    NativeAccess,
    native_account_memory,
    spec2_leaf,
)
from circuits.gadgets.merkle import quad_empty_hashes
from circuits.state_transition import (
    MEMORY_NAME,
    ORACLE_SLOTS,
    BatchShape,
    build_batch_circuit,
    dummy_signature,
)
from rollup.batch import ORACLE_SIGNATURES_PER_SLOT, accessed_accounts, signed_messages
from rollup.batch import slots_needed as batch_slots_needed
from rollup.errors import RollupError
from rollup.pubdata import encode_record, public_inputs, slot_words
from rollup.state import State
from rollup.types import (
    MAX_MARKETS,
    MAX_ORACLES,
    Deleverage,
    Deposit,
    ForcedWithdrawal,
    FundingTick,
    Liquidate,
    NoopRecord,
    OraclePriceTick,
    Trade,
    Transfer,
    Withdrawal,
    to_field,
    valid_deposit_key,
)

__all__ = ["BatchWitness", "batch_inputs", "batch_witness", "slots_needed"]

_TYPE_FLAG = {
    Deposit: "deposit",
    Withdrawal: "withdrawal",
    ForcedWithdrawal: "forced",
    Transfer: "transfer",
    Trade: "trade",
    FundingTick: "funding",
    OraclePriceTick: "oracle",
    Liquidate: "liquidate",
    Deleverage: "deleverage",
}
_TYPES = tuple(_TYPE_FLAG.values())


@dataclass(frozen=True)
class BatchWitness:
    """The circuit inputs of a batch, its public values and the state after it."""

    inputs: dict
    old_root: int
    new_root: int
    pubdata: bytes
    public_inputs: list[int]
    post: State


def _flat(sibs: Sequence[Sequence[int]]) -> list[int]:
    return [v for trio in sibs for v in trio]


def _exists(st: State, i: int) -> bool:
    try:
        st.account(i)
    except RollupError:
        return False
    return True


def _insurance_inputs(st: State) -> dict:
    """Account 0's leaf parts and path: the inputs of its end-of-batch update."""
    static, coll, oroot, sizes, funding = st.account_leaf_parts(0)
    return {
        "ins/acct_static": list(static),
        "ins/acct_collateral": coll,
        "ins/acct_orders_root": oroot,
        "ins/acct_sizes": list(sizes),
        "ins/acct_funding": list(funding),
        "ins/acct_sibs": _flat(st.account_proof(0).siblings),
    }


def _order_slot(st: State, acct: int, slot: int, od: int) -> tuple[int, int, list[int]]:
    if not _exists(st, acct):
        zeros = quad_empty_hashes(od)
        return 0, 0, [zeros[h] for h in range(od) for _ in range(3)]
    oid, filled = st.order_slot(acct, slot)
    return oid, filled, _flat(st.order_proof(acct, slot).siblings)


def _memory_fields(parts: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(static, dynamic) fields of the account memory's leaf (``spec2_leaf``) from
    ``State.account_leaf_parts``."""
    static4, coll, oroot, sizes, funding = parts
    return tuple(static4[:3]), (static4[3], coll, oroot, *sizes, *funding)


@lru_cache(maxsize=8)
def _memory_template(shape: BatchShape) -> AccountMemory:
    """An account memory of the circuit's geometry with the slots' accesses recorded: what
    ``AccountMemory.inputs`` needs to name the private inputs."""
    mem = AccountMemory(
        CircuitBuilder(),
        n_accesses=shape.n_accesses,
        n_units=shape.n_units,
        depth=shape.account_depth,
        leaf=spec2_leaf(shape.order_depth),
        name=MEMORY_NAME,
    )
    for _ in range(2 * shape.n_slots):
        mem.access(1, index=0)
    return mem


def _refused_deposit_account(st: State, tx: Deposit) -> int:
    """The account the circuit reads to prove a deposit's refusal: the key's account (its
    balance would leave the bound) or account 0 (the accounts tree is full). A key that does
    not unpack or has small order (``valid_deposit_key``) cannot be proven refused: the
    contract rejects such keys at deposit time, so they never reach a batch."""
    try:
        point = bj.unpack_point(tx.pubkey)
    except bj.BabyJubJubError as exc:
        raise CircuitError(f"a deposit refused for its key is not provable: {exc}") from None
    if not valid_deposit_key(point):
        raise CircuitError("a deposit refused for a small-order key is not provable")
    index = st.account_index(point)
    return 0 if index is None else index


def _sig(sig) -> list[int]:
    return [sig.r8[0], sig.r8[1], sig.s]


def slots_needed(tx: object) -> int:
    """The slots a transaction takes in the batch circuit (``rollup.batch.slots_needed``)."""
    return batch_slots_needed(_unwrap(tx))


if ORACLE_SLOTS != ORACLE_SIGNATURES_PER_SLOT:  # the sequencer's slot count must be the circuit's
    raise ImportError("rollup.batch.ORACLE_SIGNATURES_PER_SLOT differs from the circuit's")


def _slot_plan(txs: Sequence[object]) -> list[tuple[object, tuple | None]]:
    """(transaction, None) per transaction, and (None, signatures) for each continuation slot
    of an oracle tick with more than 2 signatures."""
    plan: list[tuple[object, tuple | None]] = []
    for tx in map(_unwrap, txs):
        plan.append((tx, None))
        if isinstance(tx, OraclePriceTick):
            rest = tx.signatures[ORACLE_SLOTS:]
            for k in range(0, len(rest), ORACLE_SLOTS):
                plan.append((None, tuple(rest[k : k + ORACLE_SLOTS])))
    return plan


def _slot_accounts(st: State, tx: object, cont: tuple | None) -> tuple[int, int, dict, dict]:
    """(A, B, the signed orders by unit, the signatures by unit) of a transaction (or of an
    oracle tick's continuation slot)."""
    _, dsig = dummy_signature()
    sigs = {"a": _sig(dsig), "b": _sig(dsig)}
    orders: dict = {}
    if cont is not None:
        a = bb = 0
        for tag, s in zip("ab", cont):
            sigs[tag] = _sig(s.signature)
    elif isinstance(tx, Trade):
        a, bb = tx.taker.order.account, tx.maker.order.account
        orders = {"a": tx.taker, "b": tx.maker}
        sigs = {tag: _sig(so.signature) for tag, so in orders.items()}
    elif isinstance(tx, Liquidate):
        a, bb = tx.liquidator.order.account, tx.liquidated
        orders = {"a": tx.liquidator}
        sigs["a"] = _sig(tx.liquidator.signature)
    elif isinstance(tx, Deleverage):
        a, bb = tx.deleveraged, tx.deleverager
    elif isinstance(tx, Deposit):
        rec = st.check(tx).record
        a = bb = rec.account if rec.executed else _refused_deposit_account(st, tx)
    elif isinstance(tx, Withdrawal):
        a = bb = tx.account
        sigs["a"] = _sig(tx.signature)
    elif isinstance(tx, Transfer):
        a, bb = tx.sender, tx.recipient
        sigs["a"] = _sig(tx.signature)
    elif isinstance(tx, ForcedWithdrawal):
        a = bb = tx.account
    elif isinstance(tx, OraclePriceTick):
        a = bb = 0
        for tag, s in zip("ab", tx.signatures):
            sigs[tag] = _sig(s.signature)
    elif tx is None or isinstance(tx, FundingTick):
        a = bb = 0
    else:
        raise CircuitError(f"{type(tx).__name__} is not a transaction")
    return a, bb, orders, sigs


def _tick_inputs(slot: dict, tx: object, n_markets: int, cont: tuple | None) -> None:
    """A funding or oracle tick's own inputs (and a continuation slot's signatures)."""
    sigs = cont or (tx.signatures[:ORACLE_SLOTS] if isinstance(tx, OraclePriceTick) else ())
    for j, s in enumerate(sigs):
        slot[f"o{j}_enabled"] = 1
        slot[f"o{j}_oracle"] = [int(k == s.oracle) for k in range(MAX_ORACLES)]
        slot[f"o{j}_price"] = s.price
        slot[f"o{j}_time"] = s.timestamp
    slot["is_cont"] = int(cont is not None)
    if isinstance(tx, FundingTick):
        slot["tick_time"] = tx.timestamp
        slot["funding"] = [to_field(g) for g in tx.indices[:n_markets]]
    elif isinstance(tx, OraclePriceTick):
        slot.update({"tick_time": tx.timestamp, "price": tx.price})
        slot["market"][tx.market] = 1


def _unwrap(tx: object) -> object:
    inner = getattr(tx, "tx", None)  # rollup.batch.L1Request
    return inner if inner is not None and hasattr(tx, "queue_index") else tx


def batch_inputs(
    shape: BatchShape, state: State, txs: Sequence[object], batch_number: int, timestamp: int
) -> BatchWitness:
    """The inputs of ``shape``'s circuit for ``txs`` (the rest of the slots NoOp) applied to a
    snapshot of ``state`` at ``timestamp``, then ``end_batch``."""
    plan = _slot_plan(txs)
    if len(plan) > shape.n_slots:
        raise CircuitError(
            f"{len(txs)} transactions take {len(plan)} slots, the shape has {shape.n_slots}"
        )
    signed = {m for tx, _ in plan if tx is not None for m in signed_messages(tx)}
    if len(signed) > shape.n_signatures:
        raise CircuitError(
            f"{len(signed)} distinct signed messages for {shape.n_signatures} signature units"
        )
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
    od = shape.order_depth
    n_order_slots = 1 << (2 * od)
    old_root = st.root
    tree = st.accounts_tree()  # the accounts before the batch, for the memory
    pre: dict[int, tuple] = {}  # the memory fields before the batch of each touched account
    seen: set[int] = set()
    accesses: list[NativeAccess] = []
    disabled: list[int] = []
    empty_osibs = [quad_empty_hashes(od)[h] for h in range(od) for _ in range(3)]
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
        ],
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
    records = []
    for i in range(shape.n_slots):
        tx, cont = plan[i] if i < len(plan) else (None, None)
        p = f"s{i}/"
        slot: dict = {f"is_{t}": 0 for t in _TYPES}
        slot["executed"] = 0
        slot.update(
            {
                "market": [0] * shape.n_markets,
                "side": 0,
                "size": 0,
                "price": 0,
                "fees": [0, 0],
                "amount": 0,
                "l1": 0,
                "dep_pk": [0, 0],
                "tick_time": 0,
                "funding": [0] * shape.n_markets,
            }
        )
        for j in range(ORACLE_SLOTS):
            slot.update(
                {
                    f"o{j}_enabled": 0,
                    f"o{j}_oracle": [0] * MAX_ORACLES,
                    f"o{j}_price": 0,
                    f"o{j}_time": 0,
                }
            )
        a, bb, orders, sigs = _slot_accounts(st, tx, cont)
        for acct in (a, bb):
            if acct not in seen and _exists(st, acct):
                pre[acct] = _memory_fields(st.account_leaf_parts(acct))
            seen.add(acct)
        ord_old = {}
        for tag, acct in (("a", a), ("b", bb)):
            s_ = orders[tag].order.order_id % n_order_slots if tag in orders else 0
            ord_old[tag] = _order_slot(st, acct, s_, od)
        receipt = st.apply(tx) if tx is not None else None
        records.append(receipt.record if receipt is not None else NoopRecord())
        if isinstance(tx, Deposit | ForcedWithdrawal):
            slot["executed"] = int(receipt.executed)
        used = accessed_accounts(tx, records[-1], st) if tx is not None else ()
        for k, acct in enumerate((a, bb)):
            if k >= len(used):  # a disabled access: nothing read or written
                accesses.append(NativeAccess(enabled=False))
                disabled.append(len(accesses) - 1)
                if k == 1 or not used:
                    ord_old["ab"[k]] = (0, 0, list(empty_osibs))
                continue
            if used[k] != acct:  # pragma: no cover - rollup.batch and this module agree
                raise CircuitError(f"slot {i}: the accessed accounts {used} are not ({a}, {bb})")
            writes = not (isinstance(tx, Deposit | ForcedWithdrawal) and not receipt.executed)
            fields = _memory_fields(st.account_leaf_parts(acct))
            new = acct not in pre
            accesses.append(
                NativeAccess(acct, fields[1] if writes else None, static=fields[0] if new else None)
            )
        for tag, acct in (("a", a), ("b", bb)):
            slot[f"{tag}_index"] = acct
            oid_old, filled_old, osibs = ord_old[tag]
            if tag in orders:
                o = orders[tag].order
                vals = {
                    "size": o.size,
                    "limit": o.limit_price,
                    "max_fee": o.max_fee,
                    "expiry": o.expiry,
                    "oid": o.order_id,
                }
            else:
                vals = {"size": filled_old, "limit": 0, "max_fee": 0, "expiry": timestamp}
                vals["oid"] = oid_old
            vals.update({"oid_old": oid_old, "filled_old": filled_old})
            for k, v in vals.items():
                slot[f"{tag}_{k}"] = v
            slot[f"{tag}_osibs"] = osibs
            slot[f"{tag}_sig"] = sigs[tag]
        if tx is not None:
            slot[f"is_{_TYPE_FLAG[type(tx)]}"] = 1
        if isinstance(tx, Trade):
            t = tx.taker.order
            slot.update(
                {
                    "side": int(t.side),
                    "size": tx.size,
                    "price": tx.price,
                    "fees": [tx.taker_fee, tx.maker_fee],
                }
            )
            slot["market"][t.market] = 1
        elif isinstance(tx, Liquidate):
            o = tx.liquidator.order
            slot.update(
                {
                    "side": int(o.side),
                    "size": tx.size,
                    "price": tx.price,
                    "fees": [tx.liquidator_fee, tx.insurance_fee],
                }
            )
            slot["market"][o.market] = 1
        elif isinstance(tx, Deleverage):
            r = receipt.record
            slot.update({"side": r.deleveraged_side, "size": tx.size, "price": tx.price})
            slot["market"][tx.market] = 1
        elif isinstance(tx, Deposit):
            slot.update(
                {
                    "dep_pk": list(bj.unpack_point(tx.pubkey)),
                    "l1": tx.l1_address,
                    "amount": tx.amount,
                }
            )
        elif isinstance(tx, Withdrawal | Transfer):
            slot.update({"amount": tx.amount, "fees": [tx.fee, 0]})
            if isinstance(tx, Withdrawal):
                slot["l1"] = st.account(tx.account).l1_address  # unchanged by the withdrawal
        elif isinstance(tx, ForcedWithdrawal):
            slot.update({"amount": tx.amount, "l1": tx.l1_address})
        _tick_inputs(slot, tx, shape.n_markets, cont)
        slot["pubdata"] = list(slot_words(encode_record(records[-1])))
        for k, v in slot.items():
            inp[p + k] = v
    try:
        trace = native_account_memory(
            tree, pre, accesses, leaf=spec2_leaf(od), n_units=shape.n_units
        )
    except AccountMemoryError as exc:
        raise CircuitError(f"the batch's account accesses do not fit the circuit: {exc}") from None
    if trace.new_root != st.accounts_root:  # pragma: no cover - the replay is the state's
        raise CircuitError("the account memory's root differs from the state's")
    mem_inputs = _memory_template(shape).inputs(trace)
    noop_before = [0, 0, quad_empty_hashes(od)[od], *([0] * (2 * MAX_MARKETS))]
    for k in disabled:  # any fields satisfy the memory; these pass the slot's order checks
        mem_inputs[f"{MEMORY_NAME}.{k}.before"] = list(noop_before)
    inp.update(mem_inputs)
    inp.update(_insurance_inputs(st))
    st.end_batch()
    new_root = st.root
    inp["new_root"] = new_root
    pubdata = b"".join(encode_record(r) for r in records)
    public = public_inputs(old_root, new_root, batch_number, timestamp, pubdata, shape.n_slots)
    return BatchWitness(inp, old_root, new_root, pubdata, public, st)


def batch_witness(state_before: State, batch, shape: BatchShape) -> tuple[list[int], list[int]]:
    """(witness, public inputs) of ``shape``'s circuit for ``batch`` (a ``rollup.batch.Batch``)
    from the state before it. Checks the replay against the batch (pre/post roots, records)
    and the witness against every gate (``UnsatisfiedGate`` names the first failing one)."""
    if batch.pre_root != state_before.root:
        raise CircuitError("the state is not the batch's pre-state (roots differ)")
    w = batch_inputs(shape, state_before, list(batch.transactions), batch.number, batch.timestamp)
    if w.pubdata != batch.pubdata:
        big = [t for t in batch.transactions if slots_needed(t) > 1]
        if big:
            raise CircuitError(
                f"an oracle tick with more than {ORACLE_SLOTS} signatures takes "
                f"{slots_needed(big[0])} slots (its record, then NoOp continuation slots right "
                "after it): the batch's pubdata does not leave them"
            )
        raise CircuitError("replaying the batch gives other pubdata than the batch's")
    if w.new_root != batch.post_root:
        raise CircuitError("replaying the batch gives another post root than the batch's")
    circuit = build_batch_circuit(shape).circuit
    witness = circuit.check(w.inputs)
    public = circuit.public_signals(witness)
    if public != w.public_inputs:  # pragma: no cover - the circuit binds them
        raise CircuitError("the circuit's public signals differ from rollup.pubdata's")
    return witness, public
