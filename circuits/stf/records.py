"""The public-input words of one pubdata record in circuit (layout v2, spec section 6): a
record's bytes (``rollup.pubdata``'s encoding, D's layouts) zero-padded to 80 bytes, cut into
three big-endian words of 31, 31 and 18 bytes (``rollup.pubdata.slot_words``). The batch
circuit (``circuits.state_transition``) builds each type's words from its fields and sums
flag_t * word_t; golden vectors: tests/vectors/rollup/public_inputs.json."""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets import bits

__all__ = [
    "MAX_MARKETS",
    "RECORD_LAYOUTS",
    "SLOT_WORDS",
    "WORD_ENDS",
    "record_words",
]

TX_NOOP, TX_DEPOSIT, TX_WITHDRAWAL, TX_FORCED, TX_TRANSFER, TX_TRADE = 0, 1, 2, 3, 4, 5
TX_FUNDING, TX_ORACLE, TX_LIQUIDATE, TX_DELEVERAGE = 6, 7, 8, 9
MAX_MARKETS = 4
SLOT_WORDS = 3
WORD_ENDS = (31, 62, 80)  # byte offsets where the slot's words end (spec section 6)


# (field, width in bytes; negative: a list of that many byte values, big-endian) after the type
# byte: rollup.pubdata's layouts (a funding record's indices: 8-byte two's complement values)
RECORD_LAYOUTS: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "deposit": (
        TX_DEPOSIT,
        (("executed", 1), ("account", 4), ("amount", 8), ("l1_address", -20), ("pubkey", -32)),
    ),
    "withdrawal": (
        TX_WITHDRAWAL,
        (("account", 4), ("amount", 8), ("fee", 8), ("l1_address", -20)),
    ),
    "forced": (
        TX_FORCED,
        (("executed", 1), ("account", 4), ("amount", 8), ("l1_address", -20)),
    ),
    "transfer": (TX_TRANSFER, (("sender", 4), ("recipient", 4), ("amount", 8), ("fee", 8))),
    "trade": (
        TX_TRADE,
        (
            ("market", 1),
            ("taker_side", 1),
            ("taker", 4),
            ("maker", 4),
            ("taker_order_id", 4),
            ("maker_order_id", 4),
            ("size", 6),
            ("price", 7),
            ("taker_fee", 8),
            ("maker_fee", 8),
        ),
    ),
    "funding": (TX_FUNDING, (("timestamp", 4), *((f"index_{m}", 8) for m in range(MAX_MARKETS)))),
    "oracle": (TX_ORACLE, (("market", 1), ("timestamp", 4), ("price", 7))),
    "liquidate": (
        TX_LIQUIDATE,
        (
            ("market", 1),
            ("liquidator_side", 1),
            ("liquidator", 4),
            ("liquidated", 4),
            ("liquidator_order_id", 4),
            ("size", 6),
            ("price", 7),
            ("liquidator_fee", 8),
            ("insurance_fee", 8),
        ),
    ),
    "deleverage": (
        TX_DELEVERAGE,
        (
            ("market", 1),
            ("deleveraged_side", 1),
            ("deleveraged", 4),
            ("deleverager", 4),
            ("size", 6),
            ("price", 7),
        ),
    ),
}


def record_words(b: CircuitBuilder, kind: str, values: dict) -> list[LC]:
    """The 3 public-input words (spec section 6) of a ``kind`` record from its field values
    (LCs the caller has range-checked to their widths; byte lists for the negative widths)."""
    code, layout = RECORD_LAYOUTS[kind]
    w = _Words(b, code)
    for name, width in layout:
        if width < 0:
            if len(values[name]) != -width:
                raise CircuitError(f"{name}: {-width} bytes expected")
            w.byte_list(values[name])
        else:
            w.field(values[name], width)
    return w.words


class _Words:
    """The three public-input words of one record type, field by field (big-endian bytes)."""

    def __init__(self, b: CircuitBuilder, type_code: int) -> None:
        self.b = b
        self.words = [LC(), LC(), LC()]
        self.words[0] = self.words[0] + (type_code << (8 * (WORD_ENDS[0] - 1)))
        self.pos = 1

    def _place(self, value: Operand, start: int, width: int) -> None:
        j = next(k for k, end in enumerate(WORD_ENDS) if start < end)
        end = start + width
        if end > WORD_ENDS[j]:  # pragma: no cover - the callers split at boundaries
            raise CircuitError("a piece crosses a word boundary")
        self.words[j] = self.words[j] + as_lc(value) * (1 << (8 * (WORD_ENDS[j] - end)))

    def field(self, value: Operand, width: int) -> None:
        """A ``width``-byte field whose value the caller has range-checked (split here only
        where it crosses a word boundary: then the split proves its range)."""
        start, end = self.pos, self.pos + width
        cuts = [c for c in WORD_ENDS[:2] if start < c < end]
        v = as_lc(value)
        if v.is_constant() and v.k == 0:
            pass
        elif not cuts:
            self._place(value, start, width)
        else:
            bounds = [start, *cuts, end]
            segs = list(zip(bounds, bounds[1:]))  # big-endian order
            parts = bits.split(self.b, value, [8 * (e - s) for s, e in reversed(segs)])
            for (s, e), part in zip(segs, reversed(parts)):
                self._place(part, s, e - s)
        self.pos = end

    def byte_list(self, values: Sequence[Operand]) -> None:
        """Bytes (each range-checked by the caller), big-endian order."""
        for v in values:
            self._place(v, self.pos, 1)
            self.pos += 1
