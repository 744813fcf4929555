"""rollup.pubdata: byte layouts (round trips at the widths' edges, strict decoding), a golden
scenario of every transaction type in two batches (pubdata bytes, roots, message hashes: shared
with the circuit and contract tests), the public-input packing of layout v2 with its golden
vectors (tests/vectors/rollup/public_inputs.json, shared with the circuit (E) and Rollup.sol
(F)), and the rebuild of the state from pubdata alone, including its refusal of pubdata that
could not come from a valid batch.

Regenerate the golden files with ``pytest --regen-golden`` or ``ZKPERP_REGEN_VECTORS=1``."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.poseidon import poseidon
from rollup import errors, pubdata
from rollup.pubdata import CHUNK_BYTES, SLOT_BYTES, TxType
from rollup.state import State
from rollup.types import (
    MAX_MARKETS,
    PRICE_SCALE,
    Deleverage,
    DeleverageRecord,
    Deposit,
    DepositRecord,
    ExchangeConfig,
    ForcedWithdrawal,
    ForcedWithdrawalRecord,
    FundingRecord,
    FundingTick,
    Genesis,
    Liquidate,
    LiquidateRecord,
    MarketParams,
    NoopRecord,
    OraclePriceTick,
    OracleRecord,
    Order,
    Side,
    Trade,
    TradeRecord,
    TransferRecord,
    WithdrawalRecord,
    cancel_message,
    oracle_message,
    sign_oracle_price,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

P = PRICE_SCALE
X = 11
T0 = 1_700_000_000
KEYS = [bytes([0x10 + i]) * 32 for i in range(4)]  # KEYS[0]: the insurance account 0's
ORACLES = [bytes([0x60 + i]) * 32 for i in range(3)]
PK = bytes(range(32))

EDGE_RECORDS = [
    NoopRecord(),
    DepositRecord((1 << 32) - 1, PK, (1 << 160) - 1, (1 << 64) - 1, True),
    DepositRecord(0, bytes(32), 0, 1, False),
    WithdrawalRecord(7, 0xABCDEF, (1 << 63) - 1, 5),
    ForcedWithdrawalRecord(3, (1 << 160) - 1, 1, False),
    TransferRecord(1, 2, 3, 4),
    TradeRecord(3, 1, 5, 6, (1 << 32) - 1, 0, (1 << 48) - 1, (1 << 56) - 1, 7, (1 << 64) - 1),
    FundingRecord((1 << 32) - 1, (-(1 << 63), (1 << 63) - 1, -1, 0)),
    OracleRecord(255, 12345, (1 << 56) - 1),
    LiquidateRecord(2, 0, 8, 9, 10, 11, 12, 13, 14),
    DeleverageRecord(1, 1, 4, 5, 6, 7),
]
CHUNKS = {
    NoopRecord: 1, DepositRecord: 5, WithdrawalRecord: 3, ForcedWithdrawalRecord: 3,
    TransferRecord: 2, TradeRecord: 3, FundingRecord: 3, OracleRecord: 1, LiquidateRecord: 3,
    DeleverageRecord: 2,
}  # fmt: skip


@pytest.mark.parametrize("record", EDGE_RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip_and_chunk_sizes(record):
    blob = pubdata.encode_record(record)
    assert len(blob) == CHUNKS[type(record)] * CHUNK_BYTES
    decoded, end = pubdata.decode_record(blob)
    assert decoded == record and end == len(blob)
    assert pubdata.encode_record(decoded) == blob


def test_trade_layout_by_hand():
    r = TradeRecord(2, 1, 0x01020304, 0x05060708, 9, 10, 11, 12, 13, 14)
    blob = pubdata.encode_record(r)
    assert blob.hex() == (
        "05" "02" "01" "01020304" "05060708" "00000009" "0000000a" "00000000000b"
        "0000000000000c" "000000000000000d" "000000000000000e"
    )  # fmt: skip
    funding = pubdata.encode_record(FundingRecord(1, (-1, 2, 0, 0)))
    assert funding[:13].hex() == "0600000001ffffffffffffffff"
    assert len(funding) == 48 and not any(funding[37:])


def test_a_batch_decodes_record_by_record():
    blob = pubdata.encode_records(EDGE_RECORDS)
    assert pubdata.decode_records(blob) == EDGE_RECORDS
    assert sum(pubdata.chunks_of(t) for t in TxType) == sum(CHUNKS.values())


@pytest.mark.parametrize(
    "blob, match",
    [
        (bytes([10]) + bytes(15), "unknown type"),
        (bytes([255]) + bytes(15), "unknown type"),
        (bytes([TxType.TRADE]) + bytes(31), "cut short"),
        (bytes([TxType.NOOP]) + bytes(14) + b"\x01", "padding"),
        (bytes([TxType.ORACLE]) + bytes(12) + b"\x01" + bytes(2), "padding"),
        (bytes([TxType.DEPOSIT, 2]) + bytes(78), "0 or 1"),
        (bytes(17), "multiple of 16"),
    ],
)
def test_decoding_is_strict(blob, match):
    with pytest.raises(errors.PubdataError, match=match):
        pubdata.decode_records(blob)


@pytest.mark.parametrize(
    "record",
    [
        TransferRecord(1 << 32, 0, 1, 0),
        TransferRecord(-1, 0, 1, 0),
        TradeRecord(256, 0, 0, 0, 0, 0, 1, 1, 0, 0),
        TradeRecord(0, 0, 0, 0, 0, 0, 1 << 48, 1, 0, 0),
        FundingRecord(0, (1 << 63, 0, 0, 0)),
        FundingRecord(0, (0,) * (MAX_MARKETS - 1)),
        DepositRecord(0, bytes(31), 0, 1, True),
        DepositRecord(0, bytes(32), 0, 1, 1),
        TransferRecord(0, 0, 1.0, 0),
        "trade",
    ],
)
def test_encoding_rejects_what_does_not_fit(record):
    with pytest.raises(errors.PubdataError):
        pubdata.encode_record(record)


def test_pack_field_elements():
    data = bytes(range(40))
    elems = pubdata.pack_field_elements(data)
    assert elems == [int.from_bytes(data[:31], "big"), int.from_bytes(data[31:] + bytes(22), "big")]
    with pytest.raises(errors.PubdataError):
        pubdata.pack_field_elements(data, 32)


# --- the golden scenario --------------------------------------------------------------------


def _genesis() -> Genesis:
    markets = (
        MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
        MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    )
    config = ExchangeConfig(
        exchange_id=X,
        markets=markets,
        oracle_keys=tuple(eddsa.prv2pub(k) for k in ORACLES),
        oracle_quorum=2,
        oracle_validity=60,
        account_depth=4,
        order_depth=2,
    )
    return Genesis(config, (100 * P, 10 * P), T0, eddsa.prv2pub(KEYS[0]), 0xA9)


def _order(i, side, size, limit, oid, market=0, max_fee=100):
    return sign_order(KEYS[i], Order(i, market, side, size, limit * P, max_fee, T0 + 10**4, oid), X)


def _tick(market, price, ts):
    sigs = tuple(sign_oracle_price(ORACLES[o], o, market, price * P, ts, X) for o in (0, 2))
    return OraclePriceTick(market, ts, price * P, sigs)


BATCH_0 = 5  # the scenario's first batch: the deposits and the trade; the rest is batch 1


def _scenario_txs(pubs):
    """Every transaction type, in an order that executes them all; (time, tx) pairs. Accounts
    1..3 are users; account 0 (the insurance account) withdraws its fees in batch 1."""
    t = T0 + 10
    return [
        (t, Deposit(bj.pack_point(pubs[1]), 0xA1, 10_000)),
        (t, Deposit(bj.pack_point(pubs[2]), 0xA2, 10_000)),
        (t, Deposit(bj.pack_point(pubs[3]), 0xA3, 10_000)),
        (t, Deposit(bj.pack_point(bj.mul(bj.GENERATOR, bj.SUBORDER)), 0xA4, 5)),  # refused: order 8
        (
            t,
            Trade(
                _order(1, Side.BUY, 900, 101, 1),
                _order(2, Side.SELL, 900, 99, 5),
                900,
                100 * P + 7,
                9,
                4,
            ),
        ),  # fmt: skip
        (t + 50, FundingTick(t + 50, (P // 3, -P // 7))),
        (t + 50, sign_withdrawal(KEYS[3], 3, 1_000, 3, 0, X)),
        (t + 50, sign_transfer(KEYS[3], 3, 2, 500, 1, 1, X)),
        (t + 50, ForcedWithdrawal(3, 0xA3, 100)),
        (t + 50, ForcedWithdrawal(3, 0xA1, 100)),  # refused: another L1 address
        (t + 60, _tick(0, 90, t + 60)),
        (t + 60, Liquidate(_order(3, Side.BUY, 500, 95, 2), 1, 300, 89 * P, 2, 100)),
        (t + 70, _tick(0, 80, t + 70)),
        (t + 70, Deleverage(0, 1, 2, 600, 80 * P)),
        (t + 70, sign_withdrawal(KEYS[2], 2, 1_000, 0, 0, X)),
        (t + 70, sign_withdrawal(KEYS[0], 0, 5, 0, 0, X)),  # the insurance account's fees
    ]


@pytest.fixture(scope="module")
def scenario():
    """(genesis, final state, records, roots after each transaction, batch post-roots): the
    state closes batch 0 after transaction BATCH_0 - 1 and batch 1 at the end (end_batch)."""
    pubs = [eddsa.prv2pub(k) for k in KEYS]
    genesis = _genesis()
    state = State(genesis)
    roots, records, batch_roots = [state.root], [], []
    txs = _scenario_txs(pubs)
    for k, (now, tx) in enumerate(txs):
        state.set_time(now)
        r = state.apply(tx)
        records.append(r.record)
        roots.append(state.root)
        if k in (BATCH_0 - 1, len(txs) - 1):
            state.end_batch()
            batch_roots.append(state.root)
    return genesis, state, records, roots, batch_roots


def _batches(records):
    return [pubdata.encode_records(records[:BATCH_0]), pubdata.encode_records(records[BATCH_0:])]


def test_scenario_executes_every_type(scenario):
    _, state, records, _, _ = scenario
    kinds = {type(r) for r in records}
    assert kinds == set(CHUNKS) - {NoopRecord}
    refused = [r for r in records if getattr(r, "executed", True) is False]
    assert len(refused) == 2
    assert [state.account(i).positions[0] for i in range(4)] == [0, 0, -300, 300]
    assert state.account(0).collateral > 0 and state.account(0).nonce == 1


def test_golden_scenario(scenario, golden):
    genesis, state, records, roots, batch_roots = scenario
    msgs = {
        "order": _order(1, Side.BUY, 900, 101, 1).order.message(X),
        "withdrawal": sign_withdrawal(KEYS[3], 3, 1_000, 3, 0, X).message(X),
        "transfer": sign_transfer(KEYS[3], 3, 2, 500, 1, 1, X).message(X),
        "oracle": oracle_message(0, 90 * P, T0 + 70, X),
        "cancel": cancel_message(1, 1, X),
    }
    static, collateral, orders_root, sizes, funding = state.account_leaf_parts(1)
    doc = {
        "layout": "v2",
        "exchange_id": X,
        "batches": [BATCH_0, len(records) - BATCH_0],
        "pubdata": [pubdata.encode_record(r).hex() for r in records],
        "roots": [str(r) for r in roots],
        "batch_roots": [str(r) for r in batch_roots],
        "root_fields": [str(v) for v in state.root_fields()],
        "messages": {
            k: {"words": [str(v) for v in m], "hash": str(poseidon(list(m)))}
            for k, m in msgs.items()
        },  # fmt: skip
        "account_1_leaf_parts": {
            "static": [str(v) for v in static],
            "collateral": str(collateral),
            "orders_root": str(orders_root),
            "sizes": [str(v) for v in sizes],
            "funding": [str(v) for v in funding],
            "leaf": str(state.account_leaf(1)),
        },
        "insurance_account": [str(state.account(0).collateral), str(state.insurance_dust)],
    }
    _golden(golden, "rollup/scenario.json", json.dumps(doc, indent=1) + "\n")
    assert state.root == batch_roots[-1]


def test_rebuild_from_pubdata_gives_the_same_state(scenario):
    genesis, state, records, roots, batch_roots = scenario
    rebuilt = pubdata.rebuild(genesis, _batches(records))
    assert rebuilt.root == batch_roots[-1] == state.root
    assert list(rebuilt.accounts()) == list(state.accounts())
    assert rebuilt.insurance == state.insurance and rebuilt.markets == state.markets
    assert rebuilt.pending_insurance == 0 and rebuilt.insurance_dust == state.insurance_dust
    assert pubdata.rebuild(genesis, _batches(records)[:1]).root == batch_roots[0]
    # a noop in between changes nothing
    padded = pubdata.encode_records(records[:BATCH_0]) + pubdata.encode_record(NoopRecord())
    assert pubdata.rebuild(genesis, [padded, _batches(records)[1]]).root == batch_roots[-1]
    # the cut points are part of the result: in one batch, account 0 has no fees to withdraw
    # yet when its withdrawal comes
    with pytest.raises(errors.InsufficientCollateralError, match="batch 0, record 15"):
        pubdata.rebuild(genesis, [b"".join(_batches(records))])


def _tampered(records, k, **changes):
    out = list(records)
    out[k] = replace(out[k], **changes)
    return [pubdata.encode_records(out)]


@pytest.mark.parametrize(
    "k, changes, exc",
    [
        (0, {"account": 3}, errors.RebuildError),  # a deposit to the wrong leaf
        (1, {"account": 1}, errors.RebuildError),  # to an account holding another key
        (3, {"executed": True}, errors.RebuildError),  # a refused deposit executed
        (8, {"executed": False}, errors.RebuildError),  # a valid forced withdrawal refused
        (9, {"executed": True}, errors.RebuildError),  # an invalid one executed
        (4, {"size": 10**5}, errors.InsufficientMarginError),  # an over-leveraged trade
        (4, {"maker": 1}, errors.SameAccountError),
        (6, {"l1_address": 0xA1}, errors.RebuildError),  # paid to someone else
        (6, {"amount": 10**6}, errors.InsufficientCollateralError),
        (5, {"indices": (P * 100, 0, 0, 0)}, errors.FundingTooLargeError),
        (11, {"price": 80 * P}, errors.PriceOutsideLimitError),  # below the liquidation bound
        (13, {"price": 79 * P}, errors.UnfairDeleverageError),
    ],
)
def test_rebuild_refuses_invalid_pubdata(scenario, k, changes, exc):
    genesis, _, records, _, _ = scenario
    with pytest.raises(exc, match=f"batch 0, record {k}"):
        pubdata.rebuild(genesis, _tampered(records, k, **changes))


def test_rebuild_refuses_a_liquidation_of_a_healthy_account(scenario):
    genesis, _, records, _, _ = scenario
    out = records[:10] + records[11:12]  # the liquidation without the price drop before it
    with pytest.raises(errors.AccountNotLiquidatableError):
        pubdata.rebuild(genesis, [pubdata.encode_records(out)])


def test_rebuild_reports_undecodable_batches(scenario):
    genesis = scenario[0]
    with pytest.raises(errors.PubdataError, match="batch 1"):
        pubdata.rebuild(genesis, [b"", bytes([77]) + bytes(15)])


def test_state_apply_record_matches_apply(scenario):
    """Replaying each record (end_batch where the batches end) gives the same roots."""
    genesis, _, records, roots, batch_roots = scenario
    s = State(genesis)
    for k, (r, root) in enumerate(zip(records, roots[1:])):
        s.apply_record(r)
        assert s.root == root
        if k == BATCH_0 - 1:
            s.end_batch()
            assert s.root == batch_roots[0]
    s.end_batch()
    assert s.root == batch_roots[1]
    with pytest.raises(errors.MalformedTransactionError):
        s.apply_record("noop")


# --- public inputs (layout v2, section 6) ------------------------------------------------------


def _golden(golden, name: str, text: str) -> None:
    if os.environ.get("ZKPERP_REGEN_VECTORS") == "1":
        path = Path(__file__).parent / "vectors" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    golden(name, text)


def _words_by_hand(record_hex: str) -> list[int]:
    """An independent slot packing: hex digits, 62 / 62 / 36 of the 160 of a zero-padded slot."""
    h = record_hex.ljust(2 * SLOT_BYTES, "0")
    return [int(h[0:62], 16), int(h[62:124], 16), int(h[124:160], 16)]


def _pi_cases(scenario):
    genesis, _, records, roots, batch_roots = scenario
    noop = NoopRecord()
    b0 = list(records[:BATCH_0]) + [noop] * 3
    b1 = list(records[BATCH_0:]) + [noop] * (16 - (len(records) - BATCH_0))
    r = pubdata.FIELD_R
    return [
        ("scenario_batch_0", 8, roots[0], batch_roots[0], 0, T0 + 10, b0),
        ("scenario_batch_1", 16, batch_roots[0], batch_roots[1], 1, T0 + 70, b1),
        ("edge_records", len(EDGE_RECORDS), r - 1, 0, (1 << 32) - 1, (1 << 32) - 1, EDGE_RECORDS),
        ("one_noop", 1, 1, 2, 3, 4, [noop]),
        ("two_deposits", 2, roots[0], roots[2], 0, T0 + 10, list(records[:2])),
    ]


def test_golden_public_inputs(scenario, golden):
    """Generates (and checks) tests/vectors/rollup/public_inputs.json."""
    cases = []
    kinds = set()
    for name, n_slots, old, new, number, ts, recs in _pi_cases(scenario):
        blob = pubdata.encode_records(recs)
        pi = pubdata.public_inputs(old, new, number, ts, blob, n_slots)
        assert len(pi) == 4 + 3 * n_slots and pi[:4] == [old, new, number, ts]
        by_hand = [w for rec in recs for w in _words_by_hand(pubdata.encode_record(rec).hex())]
        assert pi[4:] == by_hand
        assert all(0 <= v < pubdata.FIELD_R for v in pi)
        kinds |= {type(rec) for rec in recs}
        cases.append(
            {
                "name": name,
                "n_slots": n_slots,
                "old_root": str(old),
                "new_root": str(new),
                "batch_number": number,
                "timestamp": ts,
                "pubdata": blob.hex(),
                "public_inputs": [str(v) for v in pi],
            }
        )
    assert kinds == set(CHUNKS)  # every record type at least once
    doc = {
        "spec": "layout v2 section 6: [old_root, new_root, batch_number, timestamp] + "
        "slot_words(record zero-padded to 80 bytes) per slot",
        "cases": cases,
    }
    _golden(golden, "rollup/public_inputs.json", json.dumps(doc, indent=1) + "\n")


def test_slot_words():
    assert SLOT_BYTES == 5 * CHUNK_BYTES
    dep = pubdata.encode_record(EDGE_RECORDS[1])
    assert len(dep) == SLOT_BYTES
    w = pubdata.slot_words(dep)
    assert w == (int.from_bytes(dep[:31], "big"), int.from_bytes(dep[31:62], "big"),
                 int.from_bytes(dep[62:], "big"))  # fmt: skip
    assert pubdata.slot_words(bytes([7]) + bytes(15)) == (7 << 240, 0, 0)
    with pytest.raises(errors.PubdataError):
        pubdata.slot_words(bytes(81))


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 0, 0, 0, bytes(16) * 2, 3), "2 records"),
        ((0, 0, 0, 0, bytes(16) * 2, 1), "2 records"),
        ((0, 0, 0, 0, bytes(17), 1), "multiple of 16"),
        ((0, 0, 0, 0, bytes([TxType.TRADE]) + bytes(15), 1), "cut short"),
        ((0, 0, 0, 0, bytes([99]) + bytes(15), 1), "unknown type"),
        ((0, 0, 0, 0, b"", 0), "positive"),
        ((pubdata.FIELD_R, 0, 0, 0, bytes(16), 1), "old_root"),
        ((0, -1, 0, 0, bytes(16), 1), "new_root"),
        ((0, 0, 0, 1 << 32, bytes(16), 1), "timestamp"),
        ((0, 0, True, 0, bytes(16), 1), "batch_number"),
    ],
)
def test_public_inputs_reject_bad_batches(args, match):
    with pytest.raises(errors.PubdataError, match=match):
        pubdata.public_inputs(*args)
