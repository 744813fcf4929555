"""rollup.pubdata: byte layouts (round trips at the widths' edges, strict decoding), a golden
scenario of every transaction type (pubdata bytes, roots, message hashes: shared with the
circuit and contract tests), and the rebuild of the state from pubdata alone, including its
refusal of pubdata that could not come from a valid batch."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from circuits.gadgets.poseidon import poseidon
from rollup import errors, pubdata
from rollup.pubdata import CHUNK_BYTES, TxType
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
    sign_oracle_price,
    sign_order,
    sign_transfer,
    sign_withdrawal,
)

P = PRICE_SCALE
X = 11
T0 = 1_700_000_000
KEYS = [bytes([0x10 + i]) * 32 for i in range(4)]
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
    return Genesis(config, (100 * P, 10 * P), T0)


def _order(i, side, size, limit, oid, market=0, max_fee=100):
    return sign_order(KEYS[i], Order(i, market, side, size, limit * P, max_fee, T0 + 10**4, oid), X)


def _tick(market, price, ts):
    sigs = tuple(sign_oracle_price(ORACLES[o], o, market, price * P, ts, X) for o in (0, 2))
    return OraclePriceTick(market, ts, price * P, sigs)


def _scenario_txs(pubs):
    """Every transaction type, in an order that executes them all; (time, tx) pairs."""
    t = T0 + 10
    return [
        (t, Deposit(bj.pack_point(pubs[0]), 0xA0, 10_000)),
        (t, Deposit(bj.pack_point(pubs[1]), 0xA1, 10_000)),
        (t, Deposit(bj.pack_point(pubs[2]), 0xA2, 10_000)),
        (t, Deposit(bj.pack_point(bj.GENERATOR), 0xA3, 5)),  # refused: not in the subgroup
        (
            t,
            Trade(
                _order(0, Side.BUY, 900, 101, 1),
                _order(1, Side.SELL, 900, 99, 5),
                900,
                100 * P + 7,
                9,
                4,
            ),
        ),  # fmt: skip
        (t + 50, FundingTick(t + 50, (P // 3, -P // 7))),
        (t + 50, sign_withdrawal(KEYS[2], 2, 1_000, 3, 0, X)),
        (t + 50, sign_transfer(KEYS[2], 2, 1, 500, 1, 1, X)),
        (t + 50, ForcedWithdrawal(2, 0xA2, 100)),
        (t + 50, ForcedWithdrawal(2, 0xA0, 100)),  # refused: another L1 address
        (t + 60, _tick(0, 90, t + 60)),
        (t + 60, Liquidate(_order(2, Side.BUY, 500, 95, 2), 0, 300, 89 * P, 2, 100)),
        (t + 70, _tick(0, 80, t + 70)),
        (t + 70, Deleverage(0, 0, 1, 600, 80 * P)),
        (t + 70, sign_withdrawal(KEYS[1], 1, 1_000, 0, 0, X)),
    ]


@pytest.fixture(scope="module")
def scenario():
    pubs = [eddsa.prv2pub(k) for k in KEYS]
    genesis = _genesis()
    state = State(genesis)
    roots, records = [state.root], []
    for now, tx in _scenario_txs(pubs):
        state.set_time(now)
        r = state.apply(tx)
        records.append(r.record)
        roots.append(state.root)
    return genesis, state, records, roots


def test_scenario_executes_every_type(scenario):
    _, state, records, _ = scenario
    kinds = {type(r) for r in records}
    assert kinds == set(CHUNKS) - {NoopRecord}
    refused = [r for r in records if getattr(r, "executed", True) is False]
    assert len(refused) == 2
    assert [state.account(i).positions[0] for i in range(3)] == [0, -300, 300]


def test_golden_scenario(scenario, golden):
    genesis, state, records, roots = scenario
    msgs = {
        "order": _order(0, Side.BUY, 900, 101, 1).order.message(X),
        "withdrawal": sign_withdrawal(KEYS[2], 2, 1_000, 3, 0, X).message(X),
        "transfer": sign_transfer(KEYS[2], 2, 1, 500, 1, 1, X).message(X),
    }
    doc = {
        "exchange_id": X,
        "pubdata": [pubdata.encode_record(r).hex() for r in records],
        "roots": [str(r) for r in roots],
        "root_fields": [str(v) for v in state.root_fields()],
        "messages": {
            k: {"fields": [str(v) for v in m], "hash": str(poseidon(list(m)))}
            for k, m in msgs.items()
        },  # fmt: skip
        "account_0_leaf_fields": [str(v) for v in state.account_leaf_fields(0)],
        "insurance": str(state.insurance),
    }
    golden("rollup/scenario.json", json.dumps(doc, indent=1) + "\n")
    assert state.root == roots[-1]


def test_rebuild_from_pubdata_gives_the_same_state(scenario):
    genesis, state, records, roots = scenario
    batches = [pubdata.encode_records(records[:5]), pubdata.encode_records(records[5:])]
    rebuilt = pubdata.rebuild(genesis, batches)
    assert rebuilt.root == roots[-1]
    assert list(rebuilt.accounts()) == list(state.accounts())
    assert rebuilt.insurance == state.insurance and rebuilt.markets == state.markets
    # a noop in between changes nothing
    padded = pubdata.encode_records(records[:5]) + pubdata.encode_record(NoopRecord())
    assert pubdata.rebuild(genesis, [padded, batches[1]]).root == roots[-1]


def _tampered(records, k, **changes):
    out = list(records)
    out[k] = replace(out[k], **changes)
    return [pubdata.encode_records(out)]


@pytest.mark.parametrize(
    "k, changes, exc",
    [
        (0, {"account": 3}, errors.RebuildError),  # a deposit to the wrong leaf
        (3, {"executed": True}, errors.RebuildError),  # a refused deposit executed
        (8, {"executed": False}, errors.RebuildError),  # a valid forced withdrawal refused
        (9, {"executed": True}, errors.RebuildError),  # an invalid one executed
        (4, {"size": 10**5}, errors.InsufficientMarginError),  # an over-leveraged trade
        (4, {"maker": 0}, errors.SameAccountError),
        (6, {"l1_address": 0xA0}, errors.RebuildError),  # paid to someone else
        (6, {"amount": 10**6}, errors.InsufficientCollateralError),
        (5, {"indices": (P * 100, 0, 0, 0)}, errors.FundingTooLargeError),
        (11, {"price": 80 * P}, errors.PriceOutsideLimitError),  # below the liquidation bound
        (13, {"price": 79 * P}, errors.UnfairDeleverageError),
    ],
)
def test_rebuild_refuses_invalid_pubdata(scenario, k, changes, exc):
    genesis, _, records, _ = scenario
    with pytest.raises(exc, match=f"batch 0, record {k}"):
        pubdata.rebuild(genesis, _tampered(records, k, **changes))


def test_rebuild_refuses_a_liquidation_of_a_healthy_account(scenario):
    genesis, _, records, _ = scenario
    out = records[:10] + records[11:12]  # the liquidation without the price drop before it
    with pytest.raises(errors.AccountNotLiquidatableError):
        pubdata.rebuild(genesis, [pubdata.encode_records(out)])


def test_rebuild_reports_undecodable_batches(scenario):
    genesis = scenario[0]
    with pytest.raises(errors.PubdataError, match="batch 1"):
        pubdata.rebuild(genesis, [b"", bytes([77]) + bytes(15)])


def test_state_apply_record_matches_apply(scenario):
    """Replaying each record on a copy taken before its transaction gives the same root."""
    genesis, _, records, roots = scenario
    s = State(genesis)
    for r, root in zip(records, roots[1:]):
        s.apply_record(r)
        assert s.root == root
    with pytest.raises(errors.MalformedTransactionError):
        s.apply_record("noop")
