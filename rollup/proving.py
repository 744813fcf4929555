"""The bridge from the rollup to the prover: the witness of a batch circuit
(``circuits.state_transition``) from D's native state.

``batch_inputs`` replays the batch's transactions on a snapshot of ``rollup.state.State`` and
records, slot by slot, what the circuit reads: the old leaf fields and Merkle paths of the two
accounts (B's path taken in the tree after A's update), the order slots under them, the orders
and signatures, and the pubdata. A NoOp or Deposit slot uses B = A (its path after A's write)
and the dummy signature for both orders; its "orders" are the content of storage slot 0, which
pass every order check with a zero fill (see the circuit's docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits.builder import CircuitError
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets.merkle import empty_hashes
from circuits.gadgets.poseidon import poseidon
from circuits.state_transition import LEAF_FIELDS, BatchShape, dummy_signature, native_pubdata_hash
from rollup.errors import RollupError
from rollup.pubdata import encode_records
from rollup.state import State
from rollup.types import Deposit, NoopRecord, Trade, to_field

__all__ = ["BatchWitness", "batch_inputs"]


@dataclass(frozen=True)
class BatchWitness:
    """The circuit inputs of a batch, its public values and the state after it."""

    inputs: dict
    old_root: int
    new_root: int
    pubdata: bytes
    post: State


def _bits(i: int, n: int) -> list[int]:
    return [(i >> k) & 1 for k in range(n)]


def _exists(st: State, i: int) -> bool:
    try:
        st.account(i)
    except RollupError:
        return False
    return True


def _fields(st: State, i: int) -> tuple[int, list[int]]:
    if _exists(st, i):
        return 0, list(st.account_leaf_fields(i))
    return 1, [0] * LEAF_FIELDS


def _order_slot(st: State, acct: int, slot: int, depth: int) -> tuple[int, int, list[int]]:
    if not _exists(st, acct):
        return 0, 0, list(empty_hashes(depth)[:depth])
    oid, filled = st.order_slot(acct, slot)
    return oid, filled, list(st.order_proof(acct, slot).siblings)


def _patched_siblings(a: int, a_sibs: Sequence[int], a_leaf: int, b: int, b_sibs: Sequence[int]):
    """B's siblings in the tree where leaf A became ``a_leaf`` (A != B)."""
    node = a_leaf
    sibs = list(b_sibs)
    for h, s in enumerate(a_sibs):
        if ((b >> h) ^ 1) == (a >> h):
            sibs[h] = node
            break
        node = poseidon([s, node] if (a >> h) & 1 else [node, s])
    return sibs


def batch_inputs(
    shape: BatchShape, state: State, txs: Sequence[object], batch_number: int, timestamp: int
) -> BatchWitness:
    """The inputs of ``shape``'s circuit for ``txs`` (Deposit and Trade; the rest of the slots
    NoOp) applied to a snapshot of ``state`` at ``timestamp``."""
    if len(txs) > shape.n_slots:
        raise CircuitError(f"{len(txs)} transactions for {shape.n_slots} slots")
    cfg = state.config
    if (cfg.account_depth, cfg.order_depth, cfg.n_markets) != (
        shape.account_depth,
        shape.order_depth,
        shape.n_markets,
    ):
        raise CircuitError("the state's config does not match the circuit's shape")
    st = state.snapshot()
    st.set_time(timestamp)
    od, ad = shape.order_depth, shape.account_depth
    inp: dict = {
        "old_root": st.root,
        "batch_number": batch_number,
        "timestamp": timestamp,
        "root_fields": list(st.root_fields()),
        "config_fields": [cfg.exchange_id, st.oracle_keys_hash, cfg.oracle_quorum],
        "oracle_validity": cfg.oracle_validity,
    }
    old_root = st.root
    for m in range(shape.n_markets):
        ms = st.markets[m]
        inp[f"market{m}"] = [
            *cfg.markets[m].fields(),
            ms.price,
            to_field(ms.funding_index),
            ms.price_time,
        ]
    dpk, dsig = dummy_signature()
    records = []
    for i in range(shape.n_slots):
        tx = txs[i] if i < len(txs) else None
        p = f"s{i}/"
        slot = {
            "is_trade": 0,
            "is_deposit": 0,
            "market": [0] * shape.n_markets,
            "side": 0,
            "size": 0,
            "price": 0,
            "fees": [0, 0],
            "dep_new": 0,
            "dep_pk": [0, 0],
            "dep_l1": 0,
            "dep_amount": 0,
        }
        if isinstance(tx, Trade):
            a, bb = tx.taker.order.account, tx.maker.order.account
            orders = {"a": tx.taker, "b": tx.maker}
        elif isinstance(tx, Deposit):
            rec = st.check(tx).record
            if not rec.executed:
                raise CircuitError("refused deposits are not provable yet")
            a, bb, orders = rec.account, rec.account, None
        elif tx is None:
            a, bb, orders = 0, 0, None
        else:
            raise CircuitError(f"{type(tx).__name__} slots are not implemented yet")
        a_empty, a_old = _fields(st, a)
        a_proof = st.account_proof(a)
        ord_old = {}
        for tag, acct in (("a", a), ("b", bb)):
            if orders is not None:
                o = orders[tag].order
                ord_old[tag] = _order_slot(st, acct, o.order_id & ((1 << od) - 1), od)
        b_empty_pre, b_old_pre = _fields(st, bb)
        b_proof_pre = st.account_proof(bb)
        if tx is not None:
            receipt = st.apply(tx)
            records.append(receipt.record)
        else:
            records.append(NoopRecord())
        a_leaf_new = poseidon(list(st.account_leaf_fields(a))) if _exists(st, a) else 0
        if orders is not None:
            b_sibs = _patched_siblings(a, a_proof.siblings, a_leaf_new, bb, b_proof_pre.siblings)
            b_empty, b_old = b_empty_pre, b_old_pre
        else:
            b_sibs = list(a_proof.siblings)
            b_empty, b_old = _fields(st, a)
        slot.update(
            {
                "a_bits": _bits(a, ad),
                "a_sibs": list(a_proof.siblings),
                "a_empty": a_empty,
                "a_fields": a_old,
                "b_bits": _bits(bb, ad),
                "b_sibs": b_sibs,
                "b_empty": b_empty,
                "b_fields": b_old,
            }
        )
        for tag, acct in (("a", a), ("b", bb)):
            if orders is not None:
                so = orders[tag]
                o = so.order
                oid_old, filled_old, osibs = ord_old[tag]
                vals = {
                    "size": o.size,
                    "limit": o.limit_price,
                    "max_fee": o.max_fee,
                    "expiry": o.expiry,
                    "oid": o.order_id,
                    "oid_old": oid_old,
                    "filled_old": filled_old,
                }
                sig = [so.signature.r8[0], so.signature.r8[1], so.signature.s]
            else:
                oid_old, filled_old, osibs = _order_slot(st, acct, 0, od)
                vals = {
                    "size": filled_old,
                    "limit": 0,
                    "max_fee": 0,
                    "expiry": timestamp,
                    "oid": oid_old,
                    "oid_old": oid_old,
                    "filled_old": filled_old,
                }
                sig = [dsig.r8[0], dsig.r8[1], dsig.s]
            for k, v in vals.items():
                slot[f"{tag}_{k}"] = v
            slot[f"{tag}_osibs"] = osibs
            slot[f"{tag}_sig"] = sig
        if isinstance(tx, Trade):
            t = tx.taker.order
            slot.update(
                {
                    "is_trade": 1,
                    "side": int(t.side),
                    "size": tx.size,
                    "price": tx.price,
                    "fees": [tx.taker_fee, tx.maker_fee],
                }
            )
            slot["market"][t.market] = 1
        elif isinstance(tx, Deposit):
            slot.update(
                {
                    "is_deposit": 1,
                    "dep_new": a_empty,
                    "dep_pk": list(bj.unpack_point(tx.pubkey)),
                    "dep_l1": tx.l1_address,
                    "dep_amount": tx.amount,
                }
            )
        for k, v in slot.items():
            inp[p + k] = v
    del dpk
    pubdata = encode_records(records)
    inp["pubdata_hash"] = native_pubdata_hash(pubdata)
    inp["new_root"] = st.root
    return BatchWitness(inp, old_root, st.root, pubdata, st)
