"""The oracle price tick in circuit (issue E), the twin of ``State``'s oracle rules (issue D:
``_tx_oracle`` / ``_exec_oracle``, ``rules.median_ok``), with a NATIVE twin.

Rule (StarkEx Perpetual, starkware-libs/stark-perpetual, oracle/oracle_price.cairo, as dYdX v3
runs it; see ../shared/notes/perpetual-rules.md): each whitelisted oracle signs (asset, price,
timestamp); the signers' indices strictly increase (no duplicates); at least a quorum sign;
every signed timestamp lies in [timestamp - validity, timestamp]; the published price is a median
of the signed prices proven by counting: n <= 2 #{p_i <= price} and n <= 2 #{p_i >= price}.

The signed message is layout v2's (spec section 5): w0 = tag + market 2^40 + timestamp 2^48 +
price 2^80 with tag = 4 + 256 exchange_id, M = Poseidon(w0); an EdDSA-Poseidon signature
(``eddsa_circuit.verify``) of M under the oracle's key.

Signature slots
---------------
The gadget has one slot per possible signature (``len(slots)``, at most ``MAX_ORACLES`` = 8:
MAX_ORACLES slots prove any tick; fewer slots cap the signatures a tick may carry). Slot j holds
``enabled_j``, a one-hot ``oracle_j`` over the 8 key slots (summing to ``enabled_j``: all zero
in a disabled slot), the signed price and timestamp, and the signature (R8x, R8y, S). Enabled
slots come first (a prefix: enabled_{j+1} <= enabled_j), which makes "strictly increasing
indices" a check between neighbours. A disabled slot verifies a fixed dummy signature
(``dummy_oracle_signature``: a fixed key signing ``DUMMY_MESSAGE``), selected in place of the
oracle's key and message, and counts for nothing: it costs no validity. The key of an enabled
slot is sum_k oracle_j[k] key_k over the 8 keys opened from ``oracle_keys_hash`` by the caller;
an unused key slot holds (0, 0), which is not on the curve, so naming it fails at
``sig<j>/eddsa/A_on_curve``: that is the whitelist check (D: index < number of keys).

Checks and labels, under ``oracle_tick``, when ``enabled`` (a disabled tick forces every slot
disabled, ``slots/prefix``):

- ``tick``: 0 <= timestamp < 2^32, price_time <= timestamp <= now, 1 <= price <= max_price;
- ``slots/flags`` (booleans, one-hots), ``slots/prefix``;
- ``order<j>``: oracle_j > oracle_{j-1} when slot j is enabled;
- ``fresh<j>``: 0 <= t_j < 2^32, timestamp - validity <= t_j <= timestamp;
- ``price<j>``: 1 <= p_j < 2^56 (also what keeps the packed fields apart);
- ``quorum``: #enabled >= quorum;
- ``median``: n <= 2 #{p_j <= price} and n <= 2 #{p_j >= price} over enabled slots;
- ``sig<j>``: the message hash and the signature (``sig<j>/eddsa/check`` for a forged one).

Assumes (root values, checked by the caller): exchange_id < 2^32, market < 2^8, 1 <= quorum <= 8,
validity < 2^32, price_time, now < 2^32, max_price < 2^56; the keys are the opened ones.
Gates (bench/test_bench_perp_gates.py): 62,205 with 8 slots, 15,765 with 2, 8,025 with 1;
a slot is ~7,780: EdDSA 7,034, Poseidon(1) 338, key and message selection ~40, its rules ~360
(freshness, price range, the median comparison); the tick's own checks ~130.
``oracle_rules`` alone (8 slots, no signatures): 2,941.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import bits, eddsa
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.perp import assert_range, gated
from circuits.gadgets.poseidon import poseidon as native_poseidon

__all__ = [
    "MAX_ORACLES",
    "ORACLE_KIND",
    "DUMMY_MESSAGE",
    "OracleSlot",
    "NativeOracleSignature",
    "dummy_oracle_signature",
    "oracle_word",
    "native_oracle_word",
    "native_oracle_message",
    "oracle_rules",
    "oracle_price_tick",
    "native_oracle_tick",
]

MAX_ORACLES = 8
ORACLE_KIND = 4  # rollup.types.MessageKind.ORACLE_PRICE
DUMMY_PRIVATE_KEY = b"zkperp oracle dummy signer key 0"  # 32 bytes
DUMMY_MESSAGE = 0
COUNT_BITS = 5  # counts <= 8: 2 count - n in [-8, 16]


@lru_cache(maxsize=1)
def dummy_oracle_signature() -> tuple[bj.Point, eddsa.Signature]:
    """The fixed key and its signature of ``DUMMY_MESSAGE``: what a disabled slot verifies."""
    return eddsa.prv2pub(DUMMY_PRIVATE_KEY), eddsa.sign_poseidon(DUMMY_PRIVATE_KEY, DUMMY_MESSAGE)


def native_oracle_word(exchange_id: int, market: int, price: int, timestamp: int) -> int:
    """w0 of spec section 5 (no bound checks: the circuit's range checks make it injective)."""
    tag = ORACLE_KIND + (exchange_id << 8)
    return tag + (market << 40) + (timestamp << 48) + (price << 80)


def native_oracle_message(exchange_id: int, market: int, price: int, timestamp: int) -> int:
    """M = Poseidon(w0): what an oracle signs."""
    return native_poseidon([native_oracle_word(exchange_id, market, price, timestamp)])


def oracle_word(
    b: CircuitBuilder, exchange_id: Operand, market: Operand, price: Operand, timestamp: Operand
) -> LC:
    """w0 as an LC (free)."""
    return (
        as_lc(exchange_id) * 256
        + ORACLE_KIND
        + as_lc(market) * (1 << 40)
        + as_lc(timestamp) * (1 << 48)
        + as_lc(price) * (1 << 80)
    )


@dataclass(frozen=True)
class OracleSlot:
    """One signature slot's operands (see the module docstring)."""

    enabled: Operand
    oracle: Sequence[Operand]  # one-hot over MAX_ORACLES key slots, sum = enabled
    price: Operand
    timestamp: Operand
    r8x: Operand
    r8y: Operand
    s: Operand


def oracle_rules(
    b: CircuitBuilder,
    *,
    timestamp: Operand,
    price: Operand,
    now: Operand,
    price_time: Operand,
    max_price: Operand,
    quorum: Operand,
    validity: Operand,
    slots: Sequence[OracleSlot],
    enabled: Operand = 1,
) -> None:
    """Every check of the module docstring but the signatures (``oracle_price_tick`` adds them):
    ``tick``, ``slots``, ``order<j>``, ``fresh<j>``, ``price<j>``, ``quorum``, ``median``.
    Gates: ~350 a slot plus ~130 (2,941 for 8 slots)."""
    if not 1 <= len(slots) <= MAX_ORACLES:
        raise CircuitError(f"an oracle tick has 1..{MAX_ORACLES} signature slots")
    en = as_lc(enabled)
    ts = as_lc(timestamp)
    with b.scope("tick"):
        assert_range(b, ts, 32, en)
        assert_range(b, as_lc(now) - ts, 32, en)
        assert_range(b, ts - price_time, 32, en)
        assert_range(b, as_lc(price) - 1, 56, en)
        assert_range(b, as_lc(max_price) - price, 56, en)
        price_e = gated(b, en, price)  # in [0, 2^56) whether enabled or not
    with b.scope("slots"):
        with b.scope("flags"):
            for sl in slots:
                b.assert_bool(sl.enabled)
                if len(sl.oracle) != MAX_ORACLES:
                    raise CircuitError(f"an oracle one-hot has {MAX_ORACLES} entries")
                for e in sl.oracle:
                    b.assert_bool(e)
                b.assert_equal(b.sum(sl.oracle), sl.enabled)
        with b.scope("prefix"):
            prev = en  # a disabled tick has no enabled slot
            for sl in slots:
                b.assert_bool(prev - sl.enabled)
                prev = as_lc(sl.enabled)
    index = [b.lincomb(list(range(MAX_ORACLES)), sl.oracle) for sl in slots]
    count = b.sum(sl.enabled for sl in slots)
    le_count: LC = as_lc(0)
    ge_count: LC = as_lc(0)
    for j, sl in enumerate(slots):
        ej = as_lc(sl.enabled)
        if j:
            with b.scope(f"order{j}"):
                assert_range(b, index[j] - index[j - 1] - 1, 3, ej)
        with b.scope(f"fresh{j}"):
            tj = as_lc(sl.timestamp)
            assert_range(b, tj, 32, ej)
            assert_range(b, ts - tj, 32, ej)
            assert_range(b, tj + validity - ts, 33, ej)
        with b.scope(f"price{j}"):
            assert_range(b, as_lc(sl.price) - 1, 56, ej)
        with b.scope(f"median{j}"):
            pj = gated(b, ej, sl.price)  # 0 in a disabled slot: in range either way
            le = bits.less_or_equal(b, pj, price_e, 56)
            ge = 1 - le + b.is_equal(pj, price_e)  # p_j >= price iff not p_j < price
            le_count = le_count + b.mul(ej, le)
            ge_count = ge_count + b.mul(ej, ge)
    with b.scope("quorum"):
        assert_range(b, count - quorum, COUNT_BITS, en)
    with b.scope("median"):
        assert_range(b, le_count * 2 - count, COUNT_BITS, en)
        assert_range(b, ge_count * 2 - count, COUNT_BITS, en)


def oracle_price_tick(
    b: CircuitBuilder,
    *,
    exchange_id: Operand,
    market: Operand,
    timestamp: Operand,
    price: Operand,
    now: Operand,
    price_time: Operand,
    max_price: Operand,
    quorum: Operand,
    validity: Operand,
    oracle_keys: Sequence[tuple[Operand, Operand]],
    slots: Sequence[OracleSlot],
    enabled: Operand = 1,
) -> None:
    """An oracle price tick: ``oracle_rules`` plus, per slot, the message hash and the
    EdDSA-Poseidon signature under the selected key (the dummy key and message when disabled).
    ``oracle_keys``: the MAX_ORACLES (x, y) pairs opened from ``oracle_keys_hash``."""
    if len(oracle_keys) != MAX_ORACLES:
        raise CircuitError(f"{MAX_ORACLES} oracle key slots, got {len(oracle_keys)}")
    dpk, _ = dummy_oracle_signature()
    with b.scope("oracle_tick"):
        oracle_rules(
            b,
            timestamp=timestamp,
            price=price,
            now=now,
            price_time=price_time,
            max_price=max_price,
            quorum=quorum,
            validity=validity,
            slots=slots,
            enabled=enabled,
        )
        for j, sl in enumerate(slots):
            with b.scope(f"sig{j}"):
                off = 1 - as_lc(sl.enabled)
                ax = b.sum(b.mul(e, k[0]) for e, k in zip(sl.oracle, oracle_keys)) + off * dpk[0]
                ay = b.sum(b.mul(e, k[1]) for e, k in zip(sl.oracle, oracle_keys)) + off * dpk[1]
                with b.scope("message"):
                    h = pc.poseidon(
                        b, [oracle_word(b, exchange_id, market, sl.price, sl.timestamp)]
                    )
                    msg = b.select(sl.enabled, h, DUMMY_MESSAGE)
                ec.verify(b, msg, ax, ay, sl.r8x, sl.r8y, sl.s)


@dataclass(frozen=True)
class NativeOracleSignature:
    """One signature of a tick, natively: the oracle's key index, price, timestamp, signature."""

    oracle: int
    price: int
    timestamp: int
    signature: eddsa.Signature


def native_oracle_tick(
    *,
    exchange_id: int,
    market: int,
    timestamp: int,
    price: int,
    now: int,
    price_time: int,
    max_price: int,
    quorum: int,
    validity: int,
    oracle_keys: Sequence[tuple[int, int]],
    signatures: Sequence[NativeOracleSignature],
    n_slots: int = MAX_ORACLES,
    verify: bool = True,
) -> list[str]:
    """The rules ``oracle_price_tick`` (``verify``) or ``oracle_rules`` (not ``verify``) asserts
    for these signatures in the first slots: the names of the violated ones (``slots`` when
    there are more signatures than slots or an index is not in [0, 8))."""
    v = []
    if not (
        0 <= timestamp < 1 << 32
        and price_time <= timestamp <= now
        and 1 <= price <= max_price
        and price < 1 << 56
    ):
        v.append("tick")
    if len(signatures) > n_slots or any(not 0 <= s.oracle < MAX_ORACLES for s in signatures):
        return v + ["slots"]
    for j, s in enumerate(signatures):
        if j and not s.oracle > signatures[j - 1].oracle:
            v.append(f"order{j}")
        if not (0 <= s.timestamp < 1 << 32 and timestamp - validity <= s.timestamp <= timestamp):
            v.append(f"fresh{j}")
        if not 1 <= s.price < 1 << 56:
            v.append(f"price{j}")
    n = len(signatures)
    if n < quorum:
        v.append("quorum")
    le = sum(1 for s in signatures if s.price <= price)
    ge = sum(1 for s in signatures if s.price >= price)
    if not (n <= 2 * le and n <= 2 * ge):
        v.append("median")
    if verify:
        for j, s in enumerate(signatures):
            key = oracle_keys[s.oracle]
            msg = native_oracle_message(exchange_id, market, s.price, s.timestamp)
            if not ec.native_verify(msg, s.signature, key):
                v.append(f"sig{j}")
    return v
