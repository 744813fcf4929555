"""JSON for the sequencer: signed requests (what users, the L1 watcher, the operator and the
oracles submit), transactions (what batches hold), the genesis; strict parsers and their JSON
Schemas (draft 2020-12), generated from one field table so that the two never disagree.

Every request is one JSON object with a ``type``; unknown or missing fields are errors.
Integers are JSON numbers or decimal strings (``"123"``: big values stay exact in JavaScript);
floats, booleans and ``1e3`` are not integers. Quantities are in the units of
``rollup.types`` (collateral quanta, synthetic quanta, prices and funding indices in 2^-32
fixed point, seconds). Bounds are checked by the sequencer and the state, with their own typed
errors (``out_of_bounds`` and the rest); this module checks shapes and types only and raises
``MalformedRequestError`` (code ``malformed_request``), a ``MalformedTransactionError``.

=================  =========================================================================
type               fields
=================  =========================================================================
order              order (a signed order, below), time_in_force ("gtc" | "ioc" |
                   "post_only", optional, default "gtc")
cancel             account, order_id, signature (over [5 + 256 * exchange_id, account,
                   order_id])
withdrawal         account, amount, fee, nonce, signature
transfer           sender, recipient, amount, fee, nonce, signature
deposit            queue_index, pubkey, l1_address, amount (from the L1 queue)
forced_withdrawal  queue_index, account, l1_address, amount (from the L1 queue)
funding            timestamp, indices (one signed index per market)
oracle_price       market, timestamp, price, signatures (a list of {oracle, price,
                   timestamp, signature})
liquidate          order (the liquidator's signed order), liquidated, size, price,
                   liquidator_fee, insurance_fee
deleverage         market, deleveraged, deleverager, size, price
trade              taker, maker (signed orders), size, price, taker_fee, maker_fee
                   (a transaction, made by the order book; not a request)
=================  =========================================================================

- signed order: {account, market, side ("buy" | "sell" or 0 | 1), size, limit_price, max_fee,
  expiry, order_id, signature};
- signature: {"r8": [x, y], "s": s}, circomlibjs's ``{R8, S}`` (decimal strings or numbers);
- pubkey: circomlibjs's packed Baby Jubjub point, "0x" + 64 hex digits (the bytes of the L1
  deposit and of the pubdata);
- l1_address: "0x" + 40 hex digits (or an integer).

As transactions (in batches) ``deposit`` and ``forced_withdrawal`` have no ``queue_index``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Collection
from typing import Any

from circuits.gadgets import babyjubjub as bj
from rollup.batch import L1Request, Request
from rollup.errors import (
    MalformedRequestError,
)
from rollup.orderbook import CancelOrder, PlaceOrder, TimeInForce
from rollup.pubdata import TxType, encode_record
from rollup.types import (
    Deleverage,
    Deposit,
    ExchangeConfig,
    ForcedWithdrawal,
    FundingTick,
    Genesis,
    Liquidate,
    MarketParams,
    OraclePriceTick,
    OracleSignature,
    Order,
    Record,
    Side,
    Signature,
    SignedOrder,
    Trade,
    Transaction,
    Transfer,
    Withdrawal,
)

__all__ = [
    "MAX_REQUEST_BYTES",
    "MalformedRequestError",
    "REQUEST_SCHEMA",
    "TRANSACTION_SCHEMA",
    "USER_REQUEST_KINDS",
    "dumps",
    "genesis_from_json",
    "genesis_to_json",
    "loads",
    "parse_request",
    "parse_transaction",
    "request_from_json",
    "request_to_json",
    "pubkey_hex",
    "record_to_json",
    "schema_of",
    "signed_order_from_json",
    "signed_order_to_json",
    "transaction_from_json",
    "transaction_to_json",
]

MAX_REQUEST_BYTES = 64 * 1024


# --- field kinds: (parse, encode, JSON Schema) -----------------------------------------------

_DEC = re.compile(r"-?[0-9]{1,90}")
_HEX = re.compile(r"0x[0-9a-fA-F]*")


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise MalformedRequestError(f"{what} must be an integer (a number or a decimal string)")
    if isinstance(v, str):
        if not _DEC.fullmatch(v):
            raise MalformedRequestError(f"{what} must be an integer, got {v[:40]!r}")
        return int(v)
    return v


def _side(v: Any, what: str) -> int:
    if v in ("buy", "sell"):
        return int(Side.BUY if v == "buy" else Side.SELL)
    if isinstance(v, int) and not isinstance(v, bool) and v in (0, 1):
        return v
    raise MalformedRequestError(f"{what} must be 'buy' or 'sell'")


def _tif(v: Any, what: str) -> TimeInForce:
    try:
        return TimeInForce(v)
    except ValueError:
        raise MalformedRequestError(f"{what} must be 'gtc', 'ioc' or 'post_only'") from None


def _obj(v: Any, what: str, fields: dict[str, Any], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(v, dict):
        raise MalformedRequestError(f"{what} must be a JSON object")
    unknown = sorted(set(v) - set(fields))
    if unknown:
        raise MalformedRequestError(f"{what}: unknown field {unknown[0]!r}")
    missing = [f for f in fields if f not in v and f not in optional]
    if missing:
        raise MalformedRequestError(f"{what}: missing field {missing[0]!r}")
    return v


def _signature(v: Any, what: str) -> Signature:
    d = _obj(v, what, {"r8": None, "s": None})
    r8 = d["r8"]
    if not isinstance(r8, list) or len(r8) != 2:
        raise MalformedRequestError(f"{what}.r8 must be a list [x, y]")
    return Signature(
        (_int(r8[0], f"{what}.r8[0]"), _int(r8[1], f"{what}.r8[1]")), _int(d["s"], f"{what}.s")
    )


def _signature_json(sig: Signature) -> dict:
    return {"r8": [str(sig.r8[0]), str(sig.r8[1])], "s": str(sig.s)}


def _pubkey(v: Any, what: str) -> bytes:
    if not isinstance(v, str) or not _HEX.fullmatch(v) or len(v) != 66:
        raise MalformedRequestError(f"{what} must be '0x' and 64 hex digits (a packed key)")
    return bytes.fromhex(v[2:])


def _address(v: Any, what: str) -> int:
    if isinstance(v, str) and v.startswith("0x"):
        if not _HEX.fullmatch(v) or len(v) != 42:
            raise MalformedRequestError(f"{what} must be '0x' and 40 hex digits")
        return int(v, 16)
    return _int(v, what)


def _int_list(v: Any, what: str) -> tuple[int, ...]:
    if not isinstance(v, list) or len(v) > 64:
        raise MalformedRequestError(f"{what} must be a list of integers")
    return tuple(_int(x, f"{what}[{i}]") for i, x in enumerate(v))


_ORDER_FIELDS = (
    "account",
    "market",
    "side",
    "size",
    "limit_price",
    "max_fee",
    "expiry",
    "order_id",
)


def _signed_order(v: Any, what: str) -> SignedOrder:
    d = _obj(v, what, {f: None for f in (*_ORDER_FIELDS, "signature")})
    vals = {
        f: (_side(d[f], f"{what}.{f}") if f == "side" else _int(d[f], f"{what}.{f}"))
        for f in _ORDER_FIELDS
    }
    return SignedOrder(Order(**vals), _signature(d["signature"], f"{what}.signature"))


def _signed_order_json(so: SignedOrder) -> dict:
    o = so.order
    d: dict[str, Any] = {f: getattr(o, f) for f in _ORDER_FIELDS}
    d["side"] = "buy" if o.side == Side.BUY else "sell"
    d["signature"] = _signature_json(so.signature)
    return d


def signed_order_from_json(d: Any) -> SignedOrder:
    """A signed order from its JSON object."""
    return _signed_order(d, "order")


def signed_order_to_json(so: SignedOrder) -> dict:
    return _signed_order_json(so)


def _oracle_sigs(v: Any, what: str) -> tuple[OracleSignature, ...]:
    if not isinstance(v, list) or len(v) > 64:
        raise MalformedRequestError(f"{what} must be a list")
    out = []
    for i, s in enumerate(v):
        w = f"{what}[{i}]"
        d = _obj(s, w, {"oracle": None, "price": None, "timestamp": None, "signature": None})
        out.append(
            OracleSignature(
                _int(d["oracle"], f"{w}.oracle"),
                _int(d["price"], f"{w}.price"),
                _int(d["timestamp"], f"{w}.timestamp"),
                _signature(d["signature"], f"{w}.signature"),
            )
        )
    return tuple(out)


def _oracle_sigs_json(sigs: tuple[OracleSignature, ...]) -> list:
    return [
        {
            "oracle": s.oracle,
            "price": s.price,
            "timestamp": s.timestamp,
            "signature": _signature_json(s.signature),
        }
        for s in sigs
    ]


def _hex(width: int) -> Callable[[Any], str]:
    def enc(v: Any) -> str:
        if isinstance(v, bytes):
            return "0x" + v.hex()
        return f"0x{v:0{width}x}"

    return enc


_INT_SCHEMA = {
    "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]{1,90}$"}],
}
_SIG_SCHEMA = {
    "type": "object",
    "properties": {
        "r8": {"type": "array", "items": _INT_SCHEMA, "minItems": 2, "maxItems": 2},
        "s": _INT_SCHEMA,
    },
    "required": ["r8", "s"],
    "additionalProperties": False,
}
_SIGNED_ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        **{f: _INT_SCHEMA for f in _ORDER_FIELDS},
        "side": {"oneOf": [{"enum": ["buy", "sell"]}, {"enum": [0, 1]}]},
        "signature": _SIG_SCHEMA,
    },
    "required": [*_ORDER_FIELDS, "signature"],
    "additionalProperties": False,
}

# kind -> (parse(value, what), encode(value), schema)
_KINDS: dict[str, tuple[Callable, Callable, dict]] = {
    "int": (_int, lambda v: v, _INT_SCHEMA),
    "tif": (_tif, lambda v: v.value, {"enum": [t.value for t in TimeInForce]}),
    "sig": (_signature, _signature_json, _SIG_SCHEMA),
    "order": (_signed_order, _signed_order_json, _SIGNED_ORDER_SCHEMA),
    "pubkey": (
        _pubkey,
        _hex(64),
        {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"},
    ),
    "address": (
        _address,
        _hex(40),
        {"oneOf": [{"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}, _INT_SCHEMA]},
    ),
    "ints": (_int_list, list, {"type": "array", "items": _INT_SCHEMA, "maxItems": 64}),
    "oracle_sigs": (
        _oracle_sigs,
        _oracle_sigs_json,
        {
            "type": "array",
            "maxItems": 64,
            "items": {
                "type": "object",
                "properties": {
                    "oracle": _INT_SCHEMA,
                    "price": _INT_SCHEMA,
                    "timestamp": _INT_SCHEMA,
                    "signature": _SIG_SCHEMA,
                },
                "required": ["oracle", "price", "timestamp", "signature"],
                "additionalProperties": False,
            },
        },
    ),
}

# --- the types: name -> (class, fields as (json name, attribute, kind)) ------------------------

_Spec = tuple[type, tuple[tuple[str, str, str], ...]]

_WITHDRAWAL: _Spec = (
    Withdrawal,
    (
        ("account", "account", "int"),
        ("amount", "amount", "int"),
        ("fee", "fee", "int"),
        ("nonce", "nonce", "int"),
        ("signature", "signature", "sig"),
    ),
)
_TRANSFER: _Spec = (
    Transfer,
    (
        ("sender", "sender", "int"),
        ("recipient", "recipient", "int"),
        ("amount", "amount", "int"),
        ("fee", "fee", "int"),
        ("nonce", "nonce", "int"),
        ("signature", "signature", "sig"),
    ),
)
_DEPOSIT: _Spec = (
    Deposit,
    (
        ("pubkey", "pubkey", "pubkey"),
        ("l1_address", "l1_address", "address"),
        ("amount", "amount", "int"),
    ),
)
_FORCED: _Spec = (
    ForcedWithdrawal,
    (
        ("account", "account", "int"),
        ("l1_address", "l1_address", "address"),
        ("amount", "amount", "int"),
    ),
)
_FUNDING: _Spec = (FundingTick, (("timestamp", "timestamp", "int"), ("indices", "indices", "ints")))
_ORACLE: _Spec = (
    OraclePriceTick,
    (
        ("market", "market", "int"),
        ("timestamp", "timestamp", "int"),
        ("price", "price", "int"),
        ("signatures", "signatures", "oracle_sigs"),
    ),
)
_LIQUIDATE: _Spec = (
    Liquidate,
    (
        ("order", "liquidator", "order"),
        ("liquidated", "liquidated", "int"),
        ("size", "size", "int"),
        ("price", "price", "int"),
        ("liquidator_fee", "liquidator_fee", "int"),
        ("insurance_fee", "insurance_fee", "int"),
    ),
)
_DELEVERAGE: _Spec = (
    Deleverage,
    (
        ("market", "market", "int"),
        ("deleveraged", "deleveraged", "int"),
        ("deleverager", "deleverager", "int"),
        ("size", "size", "int"),
        ("price", "price", "int"),
    ),
)
_TRADE: _Spec = (
    Trade,
    (
        ("taker", "taker", "order"),
        ("maker", "maker", "order"),
        ("size", "size", "int"),
        ("price", "price", "int"),
        ("taker_fee", "taker_fee", "int"),
        ("maker_fee", "maker_fee", "int"),
    ),
)
_QUEUE = (("queue_index", "queue_index", "int"),)

_REQUESTS: dict[str, _Spec] = {
    "order": (PlaceOrder, (("order", "order", "order"), ("time_in_force", "time_in_force", "tif"))),
    "cancel": (
        CancelOrder,
        (
            ("account", "account", "int"),
            ("order_id", "order_id", "int"),
            ("signature", "signature", "sig"),
        ),
    ),
    "withdrawal": _WITHDRAWAL,
    "transfer": _TRANSFER,
    "deposit": (Deposit, _QUEUE + _DEPOSIT[1]),
    "forced_withdrawal": (ForcedWithdrawal, _QUEUE + _FORCED[1]),
    "funding": _FUNDING,
    "oracle_price": _ORACLE,
    "liquidate": _LIQUIDATE,
    "deleverage": _DELEVERAGE,
}
_OPTIONAL = {"order": ("time_in_force",)}
_TRANSACTIONS: dict[str, _Spec] = {
    "deposit": _DEPOSIT,
    "forced_withdrawal": _FORCED,
    "withdrawal": _WITHDRAWAL,
    "transfer": _TRANSFER,
    "trade": _TRADE,
    "funding": _FUNDING,
    "oracle_price": _ORACLE,
    "liquidate": _LIQUIDATE,
    "deleverage": _DELEVERAGE,
}


def _parse(d: Any, table: dict[str, _Spec], what: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(d, dict):
        raise MalformedRequestError(f"a {what} is a JSON object")
    kind = d.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise MalformedRequestError(
            f"{what} type must be one of {', '.join(sorted(table))}, got {kind!r}"
        )
    _, fields = table[kind]
    spec = {"type": None, **{name: None for name, _, _ in fields}}
    _obj(d, f"{kind} {what}", spec, _OPTIONAL.get(kind, ()) if table is _REQUESTS else ())
    values: dict[str, Any] = {}
    for name, attr, k in fields:
        if name in d:
            values[attr] = _KINDS[k][0](d[name], name)
    return kind, values


def _encode(obj: Any, kind: str, fields: tuple[tuple[str, str, str], ...]) -> dict:
    out: dict[str, Any] = {"type": kind}
    for name, attr, k in fields:
        out[name] = _KINDS[k][1](getattr(obj, attr))
    return out


USER_REQUEST_KINDS: tuple[str, ...] = (
    "order",
    "cancel",
    "withdrawal",
    "transfer",
    "liquidate",
    "oracle_price",
)
"""The request types anyone may submit (signed by a user, a liquidator or the oracles). The
others come from the operator only: deposits and forced withdrawals from its L1 watcher
(unsigned on L2: accepting them from the public would let anyone mint collateral), funding
ticks and deleverages from its own loop."""


def request_from_json(d: Any, allowed: Collection[str] | None = None) -> Request:
    """A request from its parsed JSON (a dict); with ``allowed``, only those types (e.g.
    ``USER_REQUEST_KINDS`` for a public API)."""
    if allowed is not None and isinstance(d, dict) and d.get("type") in _REQUESTS:
        if d["type"] not in allowed:
            raise MalformedRequestError(f"{d['type']} requests are not accepted here")
    kind, v = _parse(d, _REQUESTS, "request")
    if kind == "order":
        return PlaceOrder(v["order"], v.get("time_in_force", TimeInForce.GTC))
    if kind in ("deposit", "forced_withdrawal"):
        q = v.pop("queue_index")
        return L1Request(q, _REQUESTS[kind][0](**v))
    return _REQUESTS[kind][0](**v)


def request_to_json(request: Request) -> dict:
    """A request as a JSON-ready dict (the inverse of ``request_from_json``)."""
    if isinstance(request, L1Request):
        kind = "deposit" if isinstance(request.tx, Deposit) else "forced_withdrawal"
        out = _encode(request.tx, kind, _TRANSACTIONS[kind][1])
        out["queue_index"] = request.queue_index
        return out
    for kind, (cls, fields) in _REQUESTS.items():
        if type(request) is cls and kind not in ("deposit", "forced_withdrawal"):
            return _encode(request, kind, fields)
    raise MalformedRequestError(f"not a request: {type(request).__name__}")


def transaction_from_json(d: Any) -> Transaction:
    kind, v = _parse(d, _TRANSACTIONS, "transaction")
    return _TRANSACTIONS[kind][0](**v)


def transaction_to_json(tx: Transaction) -> dict:
    for kind, (cls, fields) in _TRANSACTIONS.items():
        if type(tx) is cls:
            return _encode(tx, kind, fields)
    raise MalformedRequestError(f"not a transaction: {type(tx).__name__}")


def loads(text: str | bytes) -> Any:
    """JSON text -> Python, at most ``MAX_REQUEST_BYTES``; MalformedRequestError otherwise."""
    if len(text) > MAX_REQUEST_BYTES:
        raise MalformedRequestError(f"a request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge ints
        raise MalformedRequestError(f"not valid JSON: {exc}") from None


def dumps(d: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces): what the database stores."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def parse_request(text: str | bytes, allowed: Collection[str] | None = None) -> Request:
    """A request from JSON text (``allowed``: as in ``request_from_json``)."""
    return request_from_json(loads(text), allowed)


def parse_transaction(text: str | bytes) -> Transaction:
    return transaction_from_json(loads(text))


# --- genesis ---------------------------------------------------------------------------------

_MARKET_FIELDS = (
    "symbol",
    "synthetic_decimals",
    "maintenance_margin",
    "initial_margin",
    "liquidation_fee",
    "max_funding_rate",
    "max_position",
    "max_price",
)
_GENESIS_FIELDS = (
    "exchange_id",
    "markets",
    "oracle_keys",
    "oracle_quorum",
    "oracle_validity",
    "account_depth",
    "order_depth",
    "prices",
    "timestamp",
    "insurance_pubkey",
    "insurance_l1_address",
)


def genesis_to_json(genesis: Genesis) -> dict:
    c = genesis.config
    return {
        "exchange_id": c.exchange_id,
        "markets": [{f: getattr(m, f) for f in _MARKET_FIELDS} for m in c.markets],
        "oracle_keys": [[str(k[0]), str(k[1])] for k in c.oracle_keys],
        "oracle_quorum": c.oracle_quorum,
        "oracle_validity": c.oracle_validity,
        "account_depth": c.account_depth,
        "order_depth": c.order_depth,
        "prices": list(genesis.prices),
        "timestamp": genesis.timestamp,
        "insurance_pubkey": [str(genesis.insurance_pubkey[0]), str(genesis.insurance_pubkey[1])],  # type: ignore[index]
        "insurance_l1_address": str(genesis.insurance_l1_address),
    }


def genesis_from_json(d: Any) -> Genesis:
    """A genesis from its JSON (validated: ConfigError for values out of bounds)."""
    d = _obj(
        d,
        "genesis",
        {f: None for f in _GENESIS_FIELDS},
        optional=("insurance_pubkey", "insurance_l1_address"),
    )
    if not isinstance(d["markets"], list) or not isinstance(d["oracle_keys"], list):
        raise MalformedRequestError("genesis: markets and oracle_keys are lists")
    markets = []
    for i, m in enumerate(d["markets"]):
        m = _obj(m, f"market {i}", {f: None for f in _MARKET_FIELDS})
        if not isinstance(m["symbol"], str):
            raise MalformedRequestError(f"market {i}: symbol is a string")
        vals = {f: _int(m[f], f"market {i}.{f}") for f in _MARKET_FIELDS[1:]}
        markets.append(MarketParams(m["symbol"], **vals))
    keys = []
    for i, k in enumerate(d["oracle_keys"]):
        if not isinstance(k, list) or len(k) != 2:
            raise MalformedRequestError(f"oracle key {i} is a list [x, y]")
        keys.append((_int(k[0], f"oracle key {i}.x"), _int(k[1], f"oracle key {i}.y")))
    config = ExchangeConfig(
        exchange_id=_int(d["exchange_id"], "exchange_id"),
        markets=tuple(markets),
        oracle_keys=tuple(keys),
        oracle_quorum=_int(d["oracle_quorum"], "oracle_quorum"),
        oracle_validity=_int(d["oracle_validity"], "oracle_validity"),
        account_depth=_int(d["account_depth"], "account_depth"),
        order_depth=_int(d["order_depth"], "order_depth"),
    )
    ins = d.get("insurance_pubkey")
    if ins is not None:
        if not isinstance(ins, list) or len(ins) != 2:
            raise MalformedRequestError("genesis: insurance_pubkey is a list [x, y]")
        ins = (_int(ins[0], "insurance_pubkey.x"), _int(ins[1], "insurance_pubkey.y"))
    genesis = Genesis(
        config,
        _int_list(d["prices"], "prices"),
        _int(d["timestamp"], "timestamp"),
        ins,
        _int(d.get("insurance_l1_address", 0), "insurance_l1_address"),
    )
    genesis.validate()
    return genesis


def record_to_json(record: Record) -> dict:
    """A pubdata record as JSON (its type, then its fields; bytes as hex)."""
    out: dict[str, Any] = {"type": TxType(encode_record(record)[0]).name.lower()}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        out[f.name] = "0x" + value.hex() if isinstance(value, bytes) else value
    return out


def pubkey_hex(point: bj.Point) -> str:
    """A public key as the deposit's "pubkey" (circomlibjs-packed, hex)."""
    return "0x" + bj.pack_point(point).hex()


# --- JSON Schemas ------------------------------------------------------------------------------


def _schema(table: dict[str, _Spec], optional: dict[str, tuple[str, ...]], title: str) -> dict:
    variants = []
    for kind, (_, fields) in table.items():
        props: dict[str, Any] = {"type": {"const": kind}}
        props.update({name: _KINDS[k][2] for name, _, k in fields})
        required = ["type"] + [n for n, _, _ in fields if n not in optional.get(kind, ())]
        variants.append(
            {
                "title": kind,
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "oneOf": variants,
    }


REQUEST_SCHEMA = _schema(_REQUESTS, _OPTIONAL, "zkperp sequencer request")
TRANSACTION_SCHEMA = _schema(_TRANSACTIONS, {}, "zkperp batch transaction")


def schema_of(kind: str) -> dict:
    """The JSON Schema of one request type (e.g. ``"order"``)."""
    for variant in REQUEST_SCHEMA["oneOf"]:
        if variant["title"] == kind:
            return variant
    raise KeyError(kind)
