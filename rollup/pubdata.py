"""Pubdata: the byte-exact encoding of each transaction's public record, published on-chain
(calldata), both directions, and the rebuild of the state from pubdata alone.

Like zkSync Lite (10-byte chunks) and Loopring (fixed bytes per transaction), every record is
a whole number of ``CHUNK_BYTES`` = 16-byte chunks, fixed per type, so a reader can walk a batch
without lengths, and the circuit writes a fixed number of bytes per type. Signatures are never
published: the proof stands for them. Everything needed to recompute every leaf is.

Layout: byte 0 is the type; the fields follow in this order, big-endian (Solidity's
``abi.encodePacked`` order for uintN / bytesN), signed integers in two's complement; the rest of
the last chunk is zero (checked on decoding). Widths in bytes:

================== ==== ====== =========================================================== ====
type               code chunks fields after the type byte                                  used
================== ==== ====== =========================================================== ====
noop (padding)     0    1      (none)                                                      1
deposit            1    5      executed 1, account 4, amount 8, l1_address 20, pubkey 32   66
withdrawal         2    3      account 4, amount 8, fee 8, l1_address 20                   41
forced withdrawal  3    3      executed 1, account 4, amount 8, l1_address 20              34
transfer           4    2      sender 4, recipient 4, amount 8, fee 8                      25
trade              5    3      market 1, taker_side 1, taker 4, maker 4, taker_order_id 4, 48
                               maker_order_id 4, size 6, price 7, taker_fee 8, maker_fee 8
funding tick       6    3      timestamp 4, index_0..index_3 8 each (signed)               37
oracle price       7    1      market 1, timestamp 4, price 7                              13
liquidate          8    3      market 1, liquidator_side 1, liquidator 4, liquidated 4,    44
                               liquidator_order_id 4, size 6, price 7, liquidator_fee 8,
                               insurance_fee 8
deleverage         9    2      market 1, deleveraged_side 1, deleveraged 4,                24
                               deleverager 4, size 6, price 7
================== ==== ====== =========================================================== ====

``pubkey`` is circomlibjs's packed point (32 bytes: y little-endian, bit 255 the sign of x),
exactly the bytes of the L1 deposit; ``executed`` is 1 or 0 (an L1 request refused: the
contract refunds a refused deposit and pays nothing for a refused forced withdrawal, and pops
the request from its queue either way); a refused deposit carries account 0. A trade costs 48
bytes (Loopring 3.6: 68). Side bytes: 0 buy, 1 sell.

Public inputs (layout v2; this module owns the packing, shared with the circuit and
Rollup.sol through the golden vectors ``tests/vectors/rollup/public_inputs.json``)
----------------------------------------------------------------------------------------------
A batch of shape ``n_slots`` publishes exactly ``n_slots`` records (NoOp padding included).
Each record sits in a *slot* of ``SLOT_BYTES`` = 80 bytes (the largest record, a deposit's 5
chunks), zero-padded; ``slot_words`` cuts a slot into three big-endian words:
w0 = bytes 0..30, w1 = bytes 31..61, w2 = bytes 62..79 (each < 2^248 < r). ``public_inputs``::

    [old_root, new_root, batch_number, timestamp, w0(slot 0), w1(slot 0), w2(slot 0), ...]

4 + 3 * n_slots field elements. The contract rebuilds the words from the calldata pubdata by
walking the records by type byte (chunk counts above), so a proof binds every published byte.

``rebuild`` / ``replay_batches`` replay pubdata onto a state and close every batch with
``State.end_batch()`` (the insurance account's per-batch update), as the sequencer does.
``pack_field_elements`` (31-byte words of the whole pubdata) is the earlier candidate binding,
kept for the benchmarks that compare bindings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields as dc_fields
from enum import IntEnum

from circuits.gadgets.poseidon import FIELD_MODULUS as FIELD_R
from rollup.errors import PubdataError, RollupError
from rollup.state import Backend, State
from rollup.types import (
    MAX_MARKETS,
    TIMESTAMP_BOUND,
    DeleverageRecord,
    DepositRecord,
    ForcedWithdrawalRecord,
    FundingRecord,
    Genesis,
    LiquidateRecord,
    NoopRecord,
    OracleRecord,
    Record,
    TradeRecord,
    TransferRecord,
    WithdrawalRecord,
)

__all__ = [
    "CHUNK_BYTES",
    "SLOT_BYTES",
    "public_inputs",
    "record_spans",
    "replay_batches",
    "slot_words",
    "TxType",
    "chunks_of",
    "decode_record",
    "decode_records",
    "encode_record",
    "encode_records",
    "pack_field_elements",
    "rebuild",
]

CHUNK_BYTES = 16
SLOT_BYTES = 80  # the largest record (a deposit, 5 chunks): one public-input slot


class TxType(IntEnum):
    NOOP = 0
    DEPOSIT = 1
    WITHDRAWAL = 2
    FORCED_WITHDRAWAL = 3
    TRANSFER = 4
    TRADE = 5
    FUNDING = 6
    ORACLE = 7
    LIQUIDATE = 8
    DELEVERAGE = 9


# (field name, kind, width in bytes); kinds: "u" unsigned, "i" signed, "b" bytes, "?" bool.
_LAYOUTS: dict[TxType, tuple[type, int, tuple[tuple[str, str, int], ...]]] = {
    TxType.NOOP: (NoopRecord, 1, ()),
    TxType.DEPOSIT: (
        DepositRecord,
        5,
        (
            ("executed", "?", 1),
            ("account", "u", 4),
            ("amount", "u", 8),
            ("l1_address", "u", 20),
            ("pubkey", "b", 32),
        ),
    ),
    TxType.WITHDRAWAL: (
        WithdrawalRecord,
        3,
        (("account", "u", 4), ("amount", "u", 8), ("fee", "u", 8), ("l1_address", "u", 20)),
    ),
    TxType.FORCED_WITHDRAWAL: (
        ForcedWithdrawalRecord,
        3,
        (("executed", "?", 1), ("account", "u", 4), ("amount", "u", 8), ("l1_address", "u", 20)),
    ),
    TxType.TRANSFER: (
        TransferRecord,
        2,
        (("sender", "u", 4), ("recipient", "u", 4), ("amount", "u", 8), ("fee", "u", 8)),
    ),
    TxType.TRADE: (
        TradeRecord,
        3,
        (
            ("market", "u", 1),
            ("taker_side", "u", 1),
            ("taker", "u", 4),
            ("maker", "u", 4),
            ("taker_order_id", "u", 4),
            ("maker_order_id", "u", 4),
            ("size", "u", 6),
            ("price", "u", 7),
            ("taker_fee", "u", 8),
            ("maker_fee", "u", 8),
        ),
    ),
    TxType.FUNDING: (
        FundingRecord,
        3,
        (("timestamp", "u", 4), *((f"index_{m}", "i", 8) for m in range(MAX_MARKETS))),
    ),
    TxType.ORACLE: (
        OracleRecord,
        1,
        (("market", "u", 1), ("timestamp", "u", 4), ("price", "u", 7)),
    ),
    TxType.LIQUIDATE: (
        LiquidateRecord,
        3,
        (
            ("market", "u", 1),
            ("liquidator_side", "u", 1),
            ("liquidator", "u", 4),
            ("liquidated", "u", 4),
            ("liquidator_order_id", "u", 4),
            ("size", "u", 6),
            ("price", "u", 7),
            ("liquidator_fee", "u", 8),
            ("insurance_fee", "u", 8),
        ),
    ),
    TxType.DELEVERAGE: (
        DeleverageRecord,
        2,
        (
            ("market", "u", 1),
            ("deleveraged_side", "u", 1),
            ("deleveraged", "u", 4),
            ("deleverager", "u", 4),
            ("size", "u", 6),
            ("price", "u", 7),
        ),
    ),
}
_TYPE_OF: dict[type, TxType] = {layout[0]: t for t, layout in _LAYOUTS.items()}


def chunks_of(tx_type: TxType) -> int:
    """How many 16-byte chunks a record of this type takes."""
    return _LAYOUTS[TxType(tx_type)][1]


def _values(record: Record) -> dict[str, object]:
    values = {f.name: getattr(record, f.name) for f in dc_fields(record)}
    if isinstance(record, FundingRecord):
        idx = values.pop("indices")
        if not isinstance(idx, tuple) or len(idx) != MAX_MARKETS:
            raise PubdataError(f"a funding record has {MAX_MARKETS} indices")
        values.update({f"index_{m}": v for m, v in enumerate(idx)})
    return values


def encode_record(record: Record) -> bytes:
    """The pubdata bytes of one record (a whole number of chunks)."""
    tx_type = _TYPE_OF.get(type(record))
    if tx_type is None:
        raise PubdataError(f"not a pubdata record: {type(record).__name__}")
    _, n_chunks, layout = _LAYOUTS[tx_type]
    values = _values(record)
    out = bytearray([tx_type])
    for name, kind, width in layout:
        v = values[name]
        if kind == "b":
            if not isinstance(v, bytes) or len(v) != width:
                raise PubdataError(f"{name} must be {width} bytes")
            out += v
            continue
        if kind == "?":
            if not isinstance(v, bool):
                raise PubdataError(f"{name} must be a bool")
            out.append(int(v))
            continue
        if not isinstance(v, int) or isinstance(v, bool):
            raise PubdataError(f"{name} must be an int, got {type(v).__name__}")
        try:
            out += v.to_bytes(width, "big", signed=kind == "i")
        except OverflowError:
            raise PubdataError(f"{name} = {v} does not fit {width} bytes") from None
    return bytes(out) + bytes(n_chunks * CHUNK_BYTES - len(out))


def encode_records(records: Iterable[Record]) -> bytes:
    """The pubdata of a sequence of records (a batch), concatenated."""
    return b"".join(encode_record(r) for r in records)


def decode_record(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Record, int]:
    """The record at ``offset`` and the offset after it; strict: the type byte, the length, the
    booleans and the zero padding are checked."""
    data = bytes(data)
    if offset >= len(data):
        raise PubdataError(f"no record at offset {offset} (pubdata of {len(data)} bytes)")
    try:
        tx_type = TxType(data[offset])
    except ValueError:
        raise PubdataError(f"unknown type byte {data[offset]} at offset {offset}") from None
    cls, n_chunks, layout = _LAYOUTS[tx_type]
    end = offset + n_chunks * CHUNK_BYTES
    if end > len(data):
        raise PubdataError(f"a {tx_type.name} record at offset {offset} is cut short")
    pos = offset + 1
    values: dict[str, object] = {}
    for name, kind, width in layout:
        raw = data[pos : pos + width]
        pos += width
        if kind == "b":
            values[name] = raw
        elif kind == "?":
            if raw[0] not in (0, 1):
                raise PubdataError(f"{name} byte must be 0 or 1, got {raw[0]}")
            values[name] = bool(raw[0])
        else:
            values[name] = int.from_bytes(raw, "big", signed=kind == "i")
    if any(data[pos:end]):
        raise PubdataError(f"nonzero padding in the {tx_type.name} record at offset {offset}")
    if cls is FundingRecord:
        values = {
            "timestamp": values["timestamp"],
            "indices": tuple(values[f"index_{m}"] for m in range(MAX_MARKETS)),
        }
    return cls(**values), end


def decode_records(data: bytes | bytearray | memoryview) -> list[Record]:
    """Every record of a batch's pubdata."""
    data = bytes(data)
    if len(data) % CHUNK_BYTES:
        raise PubdataError(f"pubdata length {len(data)} is not a multiple of {CHUNK_BYTES}")
    out: list[Record] = []
    offset = 0
    while offset < len(data):
        record, offset = decode_record(data, offset)
        out.append(record)
    return out


def pack_field_elements(data: bytes | bytearray, width: int = 31) -> list[int]:
    """Pubdata as big-endian field elements of ``width`` (<= 31) bytes each, the last one
    zero-padded on the right."""
    if not 1 <= width <= 31:
        raise PubdataError("a field element holds at most 31 whole bytes")
    data = bytes(data)
    if len(data) % width:
        data += bytes(width - len(data) % width)
    return [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]


def record_spans(pubdata: bytes | bytearray | memoryview) -> list[tuple[int, int]]:
    """(start, end) byte offsets of every record of a batch's pubdata, each decoded strictly
    (PubdataError for anything that is not a whole sequence of well-formed records)."""
    data = bytes(pubdata)
    if len(data) % CHUNK_BYTES:
        raise PubdataError(f"pubdata length {len(data)} is not a multiple of {CHUNK_BYTES}")
    spans = []
    offset = 0
    while offset < len(data):
        _, end = decode_record(data, offset)
        spans.append((offset, end))
        offset = end
    return spans


def slot_words(record_bytes: bytes | bytearray) -> tuple[int, int, int]:
    """The three public-input words of one record: the record zero-padded to ``SLOT_BYTES``,
    w0 = int(r[0:31]), w1 = int(r[31:62]), w2 = int(r[62:80]) (big-endian)."""
    r = bytes(record_bytes)
    if len(r) > SLOT_BYTES:
        raise PubdataError(f"a record of {len(r)} bytes does not fit a {SLOT_BYTES}-byte slot")
    r += bytes(SLOT_BYTES - len(r))
    return (
        int.from_bytes(r[0:31], "big"),
        int.from_bytes(r[31:62], "big"),
        int.from_bytes(r[62:80], "big"),
    )


def _field(v: object, what: str, bound: int = 0) -> int:
    hi = bound or FIELD_R
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < hi:
        raise PubdataError(f"{what} must be an int in [0, {hi}), got {v!r}")
    return v


def public_inputs(
    old_root: int,
    new_root: int,
    batch_number: int,
    timestamp: int,
    pubdata: bytes | bytearray,
    n_slots: int,
) -> list[int]:
    """The batch circuit's public inputs (module docstring): [old_root, new_root,
    batch_number, timestamp] + slot_words of each of the ``n_slots`` records. PubdataError
    unless ``pubdata`` is exactly ``n_slots`` well-formed records."""
    if not isinstance(n_slots, int) or isinstance(n_slots, bool) or n_slots < 1:
        raise PubdataError(f"n_slots must be a positive int, got {n_slots!r}")
    head = [
        _field(old_root, "old_root"),
        _field(new_root, "new_root"),
        _field(batch_number, "batch_number"),
        _field(timestamp, "timestamp", TIMESTAMP_BOUND),
    ]
    data = bytes(pubdata)
    spans = record_spans(data)
    if len(spans) != n_slots:
        raise PubdataError(f"the pubdata holds {len(spans)} records, the shape {n_slots} slots")
    for start, end in spans:
        head += slot_words(data[start:end])
    return head


def replay_batches(state: State, batches: Iterable[bytes], *, first: int = 0) -> State:
    """Apply the records of each batch's pubdata to ``state`` and close each batch with
    ``end_batch`` (batches numbered from ``first`` in error messages)."""
    for b, blob in enumerate(batches, first):
        try:
            records = decode_records(blob)
        except PubdataError as exc:
            raise PubdataError(f"batch {b}: {exc}") from exc
        for k, record in enumerate(records):
            try:
                state.apply_record(record)
            except RollupError as exc:
                raise type(exc)(f"batch {b}, record {k} ({type(record).__name__}): {exc}") from exc
        state.end_batch()
    return state


def rebuild(genesis: Genesis, batches: Iterable[bytes], *, backend: Backend = "numba") -> State:
    """The state rebuilt from the genesis and the pubdata of every batch, in order (the
    auditor's path: no signatures, no database), each batch closed by ``end_batch``. Raises
    PubdataError or RebuildError (or the rule's own RollupError) naming the batch and record
    that does not decode or replay."""
    return replay_batches(State(genesis, backend=backend), batches)
