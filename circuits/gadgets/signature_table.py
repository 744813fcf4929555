"""A signature table: every distinct signed message of a batch is verified ONCE, in one of S
signature units, however many slots use it (two fills of one order, a taker order sweeping two
levels: one EdDSA verification). The issue's "hash each order and check its signature once".

A *request* is a triple (M, Ax, Ay): the message a slot needs signed and the key that must have
signed it, plus the slot's signature (R8, S) as a witness. The slots' requests and the units'
triples are routed together by a Beneš network (``circuits.gadgets.routing``, prover-chosen
switch bits) into an order where each unit's row is followed by the requests equal to it; the
circuit then checks, for each routed row j that is not a unit row, that its triple equals row
j-1's (row -1 being the *free* triple, the batch circuit's dummy signature, which every slot that
signs nothing requests). By induction every request equals the free triple or the nearest unit
row above it, and every unit row's triple carries a valid signature (``eddsa_circuit.verify``):
so every request is signed. This is multiset inclusion checked by routing, as in the memory
checkers of ``circuits.gadgets.account_memory`` (Ben-Sasson, Chiesa, Genkin, Tromer, Virza,
"SNARKs for C", CRYPTO 2013, section 2.3), with equality in place of a chain of states.

Rows: (M, Ax, Ay, is_unit), the requests (is_unit = 0), the S units (is_unit = 1) and rows of
the free triple (is_unit = 0) up to N = the next power of two. ``is_unit`` is a constant in
every input row, and the network's outputs are a permutation of its inputs whatever the
(boolean) bits, so each routed ``is_unit`` is 0 or 1 and exactly S rows carry 1. A unit's
triple and signature are hints (the first requests of each distinct triple, in order; unused
units verify the free triple with the dummy signature): nothing about them needs trusting, as
the unit verifies what it holds.

Cost: S EdDSA verifications (7,034 gates each), the network (4 fields, 4 gates a field a switch
and one a switch, less where a row is constant: N log2 N - N / 2 switches), and the equality
checks (6 gates a row). Measured in the batch circuit (``bench/test_bench_stf.py``) at T = 16
slots (32 requests) and S = 17, N = 64: units 119,578, network 7,218, checks 383, i.e. 7,949
a slot, against 14,068 for two EdDSA units a slot before the table.

The batch's distinct non-free triples must number at most S (``SignatureTableError`` names
the count when the hint finds more: the sequencer cuts batches so they never do,
``rollup.batch.signed_messages``).

Labels under the table's scope (``signatures``): ``unit<u>/eddsa/...`` (a forged signature of
a message some slot requests fails at ``unit<u>/eddsa/check``), ``benes``, ``chain`` (a
request whose triple no unit holds fails here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, Var, as_lc
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import routing

__all__ = [
    "SignatureTable",
    "SignatureTableError",
    "TablePlan",
    "native_plan",
    "table_rows",
]

Triple = tuple[int, int, int]


class SignatureTableError(CircuitError):
    """More distinct signed messages than signature units."""


def table_rows(n_requests: int, n_units: int) -> int:
    """N: the routed rows for ``n_requests`` requests and ``n_units`` units, a power of two."""
    return 1 << max(1, (n_requests + n_units - 1).bit_length())


@dataclass(frozen=True)
class TablePlan:
    """What the prover chooses: ``units[u]`` = (triple, the index of the request whose signature
    the unit verifies, or -1 for the free triple's dummy signature), and ``perm[i]`` = the
    routed position of input row i (requests, then units, then free rows)."""

    units: tuple[tuple[Triple, int], ...]
    perm: tuple[int, ...]


def native_plan(requests: Sequence[Triple], n_units: int, free: Triple) -> TablePlan:
    """The units and the routing for these requests (the gadget's hints, on ints).
    SignatureTableError when more than ``n_units`` distinct triples other than ``free``."""
    first: dict[Triple, int] = {}
    for i, t in enumerate(requests):
        if t != free and t not in first:
            first[t] = i
    if len(first) > n_units:
        raise SignatureTableError(
            f"the batch has {len(first)} distinct signed messages, the shape has {n_units} "
            "signature units"
        )
    units = [(t, i) for t, i in first.items()] + [(free, -1)] * (n_units - len(first))
    n_req = len(requests)
    n = table_rows(n_req, n_units)
    # routed order: free requests and padding rows first, then each used unit followed by its
    # requests, then the unused units
    by_triple: dict[Triple, list[int]] = {t: [] for t in first}
    head: list[int] = []
    for i, t in enumerate(requests):
        (head if t == free else by_triple[t]).append(i)
    head.extend(range(n_req + n_units, n))
    order = head[:]
    for u, (t, _) in enumerate(units[: len(first)]):
        order.append(n_req + u)
        order.extend(by_triple[t])
    order.extend(n_req + u for u in range(len(first), n_units))
    perm = [0] * n
    for pos, row in enumerate(order):
        perm[row] = pos
    return TablePlan(tuple(units), tuple(perm))


class SignatureTable:
    """The gadget: ``request`` once per requested signature, then ``finish`` once."""

    def __init__(
        self,
        b: CircuitBuilder,
        n_units: int,
        free: Triple,
        free_signature: tuple[int, int, int],
        *,
        name: str = "signatures",
    ) -> None:
        if n_units < 1:
            raise CircuitError(f"a signature table has at least one unit, got {n_units}")
        self.b = b
        self.n_units = n_units
        self.free = tuple(free)
        self.free_signature = tuple(free_signature)
        self.name = name
        self.requests: list[tuple[LC, ...]] = []
        self.finished = False
        self.unit_vars: list[Var] = []  # after finish: unit u's (M, Ax, Ay, R8x, R8y, S) at 6u
        self.switch_bits: list[Var] = []  # after finish: the network's bits (hints)

    def request(
        self, m: Operand, ax: Operand, ay: Operand, r8x: Operand, r8y: Operand, s: Operand
    ) -> None:
        """(M, Ax, Ay) must carry a valid signature; (R8, S) is the slot's witness of one."""
        if self.finished:
            raise CircuitError("the signature table is finished")
        self.requests.append(tuple(as_lc(x) for x in (m, ax, ay, r8x, r8y, s)))

    def finish(self) -> None:
        if self.finished:
            raise CircuitError("the signature table is finished")
        self.finished = True
        b, n_units, free = self.b, self.n_units, self.free
        n_req = len(self.requests)
        n = table_rows(n_req, n_units)
        flat = [x for r in self.requests for x in r]
        free_sig = self.free_signature

        n_bits = routing.benes_switch_count(n)

        def plan_values(*values: int) -> list[int]:
            """The units' (M, Ax, Ay, R8x, R8y, S) then the switch bits: one plan."""
            triples = [tuple(values[6 * i : 6 * i + 3]) for i in range(n_req)]
            plan = native_plan(triples, n_units, free)
            out: list[int] = []
            for t, i in plan.units:
                out.extend(t)
                out.extend(free_sig if i < 0 else values[6 * i + 3 : 6 * i + 6])
            return out + routing.benes_bits(plan.perm)

        with b.scope(self.name):
            hinted = b.hint_many(plan_values, flat, 6 * n_units + n_bits)
            units = self.unit_vars = hinted[: 6 * n_units]
            bits = self.switch_bits = hinted[6 * n_units :]
            for u in range(n_units):
                with b.scope(f"unit{u}"):
                    ec.verify(b, *units[6 * u : 6 * u + 6])
            rows: list[list[LC]] = [[*r[:3], as_lc(0)] for r in self.requests]
            for u in range(n_units):
                rows.append([as_lc(x) for x in units[6 * u : 6 * u + 3]] + [as_lc(1)])
            rows += [[as_lc(x) for x in free] + [as_lc(0)] for _ in range(n - n_req - n_units)]
            out = routing.route(b, rows, bits)
            with b.scope("chain"):
                prev = [as_lc(x) for x in free]
                for row in out:
                    for f in range(3):  # is_unit d = d, i.e. (1 - is_unit) d = 0: 2 gates
                        d = b.materialize(row[f] - prev[f])
                        b.assert_mul(row[3], d, d)
                    prev = row[:3]
