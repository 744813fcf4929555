"""Offline memory checking of the accounts tree: every account a batch touches is loaded and
stored ONCE per batch (one 4-ary Merkle update per distinct account), however many slots touch
it; the slots themselves work on raw account fields, with no hashing and no Merkle path.

Memory checking by sorting the access log (Blum, Evans, Gemmell, Kannan, Naor, "Checking the
correctness of memories", FOCS 1991, the offline checker; in circuits: Ben-Sasson, Chiesa,
Genkin, Tromer, Virza, "SNARKs for C", CRYPTO 2013, section 2.3 (routing the memory accesses
into address order with a Waksman/Beneš network, then checking adjacent pairs), Wahby et al.,
"Efficient RAM and control flow in verifiable outsourced computation" (Buffet), NDSS 2015).
The permutation networks are ``circuits.gadgets.routing`` (Beneš, looping routing). The tree is
layout v2's 4-ary accounts tree (spec section 1; ``merkle_circuit.quad_update_roots``).

The statement, for a batch with ``n_accesses`` (a power of two) access slots and ``n_units``
Merkle units:

1. **Log.** Access k (recorded by a slot: ``mem.access(enabled, index=, is_new=)``) is a row
   ``(key, index, is_new, static, before, after)``: ``static`` the fields no slot changes (e.g.
   the public key and the L1 address), ``before`` / ``after`` the dynamic fields around the
   access (``mem.write``; a read leaves after = before). The slot gets ``static`` and ``before``
   as witness variables and may use them freely: this gadget proves them right.
   ``key = index' * 2^s + k`` (s = log2 n_accesses) with ``index' = index`` for an enabled access
   and the sentinel ``SENT = 4^depth`` (no leaf) for a disabled one: disabled accesses sort
   last, start no chain and end none, so their fields are unconstrained and harmless (an
   enabled access at ``index = SENT`` is rejected: ``log/index``).
2. **Sort** by key: a Beneš network with prover-chosen switch bits (checked boolean), then every
   adjacent difference of keys range-checked in [0, 2^(2 depth + 1 + s)). Keys are distinct, so
   the order is forced: by account, then by access number (slot order).
3. **Chains** in sorted order: ``same_j`` = row j is enabled and has row j-1's index. Where
   ``same_j``: row j's ``before`` equals row j-1's ``after`` (``chain/before``), its ``static``
   equals row j-1's (``chain/static``), and it is not ``is_new`` (``chain/is_new``: a created
   account is created by its first access). Each chain carries its first ``before`` state and
   its first ``is_new`` flag down to its last row (``carry``). ``end_j`` = row j is enabled and
   row j+1 is not in its chain.
4. **Compaction**: a butterfly network (bits: the packing of the chain ends, see below) moves
   the chain ends, in order, to the first ``n_units`` rows; every row beyond them must have
   ``end = 0`` (``compact/overflow``: at most ``n_units`` distinct accounts). Rows beyond
   ``n_units`` are only computed in the ``end`` column (the network is evaluated on demand):
   the end column is routed through every switch, so the outputs are still a permutation of
   the inputs.
5. **Units**, in index order: unit u with flag f = its row's ``end``: the index's 2 depth digit
   bits (``unit/index``), the old leaf = 0 if ``is_new`` (then the carried first ``before`` must
   be the leaf spec's ``empty_dynamic``: ``unit/empty``) else ``leaf(static, first before)``, the
   new leaf ``leaf(static, last after)``, one shared 4-ary path (``quad_update``); when f = 1 the
   old root must be the running root (``unit/old_root``) and the running root becomes the new
   root; a unit with f = 0 (fewer distinct accounts) leaves the root unchanged.
   **Top cache** (``top_levels`` = L > 0, chosen by ``best_top_levels`` unless given): the 4^L
   nodes at height depth - L are private inputs checked once against the old root
   (``top/old``); each unit walks only the depth - L levels below them, reads its subtree's old
   root from the entry its top 2L index bits select (``unit/top``: a one-hot product of the
   bits and f, one product per entry) and writes the new one there; the new root is hashed
   from the entries at the end (``top/new``). It trades 2 (4^L - 1) / 3 Poseidon(4) per batch
   and about 7 gates per entry per unit for L update levels (1,871 gates each) per unit.

Why it is sound: the routed rows are a permutation of the log; keys in range (every enabled
row's index is its chain end's, which a unit decomposes into 2 depth bits; disabled rows hold
SENT) and the range-checked differences make the sorted order the true one, so each account's
accesses form one contiguous chain in slot order, and each chain reaches exactly one unit that
checks its first state against the old tree and writes its last one.

Costs (3-wire gates; ``bench/test_bench_account_memory.py`` measures them): per access, the
sort network, about 4 (log2 n - 1/2) gates per routed field (3 + static + 2 dynamic fields),
one range check of 2 depth + 1 + s bits, and about 2 (static + dynamic) + 3 dynamic + 10 for the
chain and the carry; the compaction butterfly, 4 log2 n / 2 gates per field and access where
every output is wanted (pruned where only ``end`` is); per unit, two leaves and one 4-ary
update path (1,871 gates a level) below the top cache.

Measured (depth 8, ``spec2_leaf``, T trades = 2T accesses, D units; bench/out/
account_memory_gates.json): a unit without the top cache is 22,784 gates (leaves 7,757, path
14,968, flags 59; 21,868 when the written leaves share the batch's funding hash). Per trade:

    T = 16:  D = 4: 6,949   D = 8: 11,828   D = 16: 21,455
    T = 32:  D = 8: 7,018   D = 16: 11,886  D = 32: 20,894
    T = 64:  D = 16: 7,217  D = 32: 11,776  D = 64: 20,636   (about 460 less with the shared
                                                              funding hash)

of which sorting, compaction and chains are 1.6k (T = 16) to 2.3k (T = 64); the per-slot
alternative (each trade reads and writes both accounts' leaves and paths) is 45,568.

The leaf is a parameter (``LeafSpec``: the circuit function and its native twin);
``spec2_leaf`` is layout v2 spec section 2's account leaf with static = (pubkey.x, pubkey.y,
l1_address) and dynamic = (nonce, collateral, orders_root, size_0..3, funding_0..3).

Witness: ``native_account_memory`` simulates a log on a ``QuadMerkleTree`` (the per-access
before/after states, the unit order and each unit's siblings); ``AccountMemory.inputs(trace)``
gives the gadget's private inputs. Switch bits are hints computed from the circuit's values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, Var, as_lc
from circuits.gadgets import bits as bits_gadget
from circuits.gadgets.merkle import QUAD_MAX_DEPTH, QuadMerkleTree, quad_empty_hashes
from circuits.gadgets.merkle_circuit import from_bits_lc, quad_update_roots
from circuits.gadgets.poseidon import poseidon
from circuits.gadgets.poseidon_circuit import hash_var
from circuits.gadgets.routing import (
    benes_bits,
    benes_switch_count,
    route,
    sorting_permutation,
)
from prover import params

R = params.R_ORDER
SCOPE = "account_memory"

__all__ = [
    "SCOPE",
    "SPEC2_STATIC",
    "SPEC2_DYNAMIC",
    "Access",
    "AccountMemory",
    "AccountMemoryError",
    "LeafSpec",
    "MemoryTrace",
    "NativeAccess",
    "butterfly_apply",
    "butterfly_switch_count",
    "pack_bits",
    "native_account_memory",
    "best_top_levels",
    "route_butterfly",
    "spec2_leaf",
]


class AccountMemoryError(ValueError):
    """A bad shape or call order, or a native access log the gadget cannot prove (more distinct
    accounts than units, an account that does not exist, a leaf that disagrees with the tree)."""


# --- the leaf ------------------------------------------------------------------------------------

LeafCircuit = Callable[[CircuitBuilder, Sequence[LC], Sequence[LC]], LC]
LeafNative = Callable[[Sequence[int], Sequence[int]], int]


@dataclass(frozen=True)
class LeafSpec:
    """How an account's fields hash into its leaf: ``circuit(b, static, dynamic) -> LC`` and its
    native twin ``native(static, dynamic) -> int`` (equal values). ``empty_dynamic``: the
    dynamic fields of an account before its creation (checked for an ``is_new`` access; None:
    not checked). ``circuit_new``: the leaf of a *written* state if the caller has a cheaper
    equal-valued form (e.g. a funding hash shared by the batch); default ``circuit``."""

    static_width: int
    dynamic_width: int
    circuit: LeafCircuit
    native: LeafNative
    empty_dynamic: tuple[int, ...] | None = None
    circuit_new: LeafCircuit | None = None

    def __post_init__(self) -> None:
        if self.static_width < 0 or self.dynamic_width < 1:
            raise AccountMemoryError("a leaf needs >= 0 static and >= 1 dynamic fields")
        if self.empty_dynamic is not None and len(self.empty_dynamic) != self.dynamic_width:
            raise AccountMemoryError(
                f"empty_dynamic has {len(self.empty_dynamic)} fields, not {self.dynamic_width}"
            )


SPEC2_STATIC = ("pubkey_x", "pubkey_y", "l1_address")
SPEC2_DYNAMIC = (
    "nonce",
    "collateral",
    "orders_root",
    *(f"size_{m}" for m in range(4)),
    *(f"funding_{m}" for m in range(4)),
)


def spec2_leaf(order_depth: int = 2, *, new_funding_hash: LC | None = None) -> LeafSpec:
    """Layout v2's account leaf (spec section 2), 4 markets:
    P5(P4(x, y, l1, nonce), collateral, orders_root, P4(sizes), P4(funding)); fields in
    ``SPEC2_STATIC`` / ``SPEC2_DYNAMIC`` order, values mod r. A created account's before-state
    is nonce 0, collateral 0, the empty order tree E_order_depth, sizes 0, funding 0.
    ``new_funding_hash``: an LC of the batch's P4(global funding indices) for the written
    leaves (the caller proves the written funding fields equal those indices): a write then
    costs P5 + 2 P4 instead of P5 + 3 P4."""
    empty = (0, 0, quad_empty_hashes(order_depth)[order_depth], *([0] * 8))

    def circuit(b: CircuitBuilder, s: Sequence[LC], d: Sequence[LC]) -> LC:
        return _spec2(b, s, d, None)

    def circuit_new(b: CircuitBuilder, s: Sequence[LC], d: Sequence[LC]) -> LC:
        return _spec2(b, s, d, new_funding_hash)

    return LeafSpec(
        3,
        11,
        circuit,
        _spec2_native,
        empty,
        None if new_funding_hash is None else circuit_new,
    )


def _spec2(b: CircuitBuilder, s: Sequence[LC], d: Sequence[LC], funding: LC | None) -> LC:
    static_hash = hash_var(b, [s[0], s[1], s[2], d[0]])
    sizes = hash_var(b, d[3:7])
    fund = hash_var(b, d[7:11]) if funding is None else funding
    return hash_var(b, [static_hash, d[1], d[2], sizes, fund])


def _spec2_native(s: Sequence[int], d: Sequence[int]) -> int:
    d = [x % R for x in d]
    return poseidon(
        [
            poseidon([s[0] % R, s[1] % R, s[2] % R, d[0]]),
            d[1],
            d[2],
            poseidon(d[3:7]),
            poseidon(d[7:11]),
        ]
    )


# --- compaction: packing on a butterfly ---------------------------------------------------------
#
# Moving the marked rows (the chain ends) to the first rows in order is a *packing*, which a
# butterfly of log2 n columns routes without conflicts (F. T. Leighton, "Introduction to
# Parallel Algorithms and Architectures", 1992, section 3.4.3; D. Nassimi and S. Sahni,
# "Parallel permutation and sorting algorithms and a new generalized connection network",
# J. ACM 29(3), 1982): column i holds the switches (c, c + 2^i) for the c with bit i clear, and
# a marked row of rank r takes bit i of r there (least significant bit first). After column i,
# the row from position p with rank r sits at (p >> (i+1)) 2^(i+1) + (r mod 2^(i+1)); two marked
# rows a < b meeting there would have r_b - r_a >= 2^(i+1) > p_b - p_a >= r_b - r_a. Half the
# columns of a Beneš network; any boolean bits still permute the rows, so the circuit only
# checks the bits boolean and where the marked rows end up.


def pack_bits(flags: Sequence[int]) -> list[int]:
    """The butterfly's switch bits (column 0 first, switches by position) that move the rows
    with flag 1 to the first rows, in order."""
    n = len(flags)
    if n < 2 or n & (n - 1):
        raise AccountMemoryError(f"a butterfly has 2^k >= 2 rows, got {n}")
    rank, dest = 0, {}
    for p, f in enumerate(flags):
        if f:
            dest[p] = rank
            rank += 1
    pos = list(range(n))  # pos[c]: the row at position c
    out = []
    for i in range(_log2(n)):
        for c0 in range(n):
            if c0 >> i & 1:
                continue
            c1 = c0 | 1 << i
            x, y = pos[c0], pos[c1]
            wx = dest[x] >> i & 1 if x in dest else None
            wy = dest[y] >> i & 1 if y in dest else None
            if wx is not None and wx == wy:  # pragma: no cover - impossible (see above)
                raise AccountMemoryError("butterfly conflict")
            cross = int(wx == 1 or wy == 0)
            out.append(cross)
            if cross:
                pos[c0], pos[c1] = y, x
    return out


def butterfly_switch_count(n: int) -> int:
    """n/2 switches in each of log2 n columns."""
    return n // 2 * _log2(n)


def butterfly_apply(values: Sequence, bits: Sequence[int]) -> list:
    """The butterfly's outputs for ``values`` under ``bits`` (the gadget's native twin)."""
    vals, it = list(values), iter(bits)
    for i in range(_log2(len(vals))):
        for c0 in range(len(vals)):
            if not c0 >> i & 1 and next(it):
                c1 = c0 | 1 << i
                vals[c0], vals[c1] = vals[c1], vals[c0]
    return vals


def route_butterfly(
    b: CircuitBuilder,
    rows: Sequence[Sequence[Operand]],
    switch_bits: Sequence[LC],
    need: Sequence[int],
) -> list[list[LC | None]]:
    """The butterfly with these bits (checked boolean here), evaluated on demand: ``need[c]``
    is a bit mask of the columns wanted at output c; the rest are None. A switch costs 4 gates
    per column where both outputs are wanted (2 of them materialise the outputs), 3 where one
    is, none where neither is. A column wanted at every output uses every bit, so that
    column's outputs are a permutation of its inputs whatever the (boolean) bits."""
    n = len(rows)
    if n < 2 or n & (n - 1) or len(need) != n:
        raise CircuitError(f"a butterfly has 2^k >= 2 rows and as many needs, got {n}")
    if len(switch_bits) != butterfly_switch_count(n):
        raise CircuitError(f"{butterfly_switch_count(n)} switch bits for {n} rows")
    k = _log2(n)
    needs = [list(need)]  # needs[j]: wanted at the outputs of column k - 1 - j
    for i in reversed(range(k)):
        nxt = list(needs[-1])
        for c0 in range(n):
            if not c0 >> i & 1:
                c1 = c0 | 1 << i
                nxt[c0] = nxt[c1] = needs[-1][c0] | needs[-1][c1]
        needs.append(nxt)
    with b.scope("butterfly"):
        for s in switch_bits:
            b.assert_bool(s)
        vals: list = [[as_lc(x) for x in r] for r in rows]
        it = iter(switch_bits)
        for i in range(k):
            out_need = needs[k - 1 - i]
            for c0 in range(n):
                if c0 >> i & 1:
                    continue
                c1 = c0 | 1 << i
                vals[c0], vals[c1] = _switch(
                    b, as_lc(next(it)), vals[c0], vals[c1], out_need[c0], out_need[c1]
                )
    return vals


def _switch(b: CircuitBuilder, bit: LC, x: list, y: list, nx: int, ny: int) -> tuple[list, list]:
    """(y, x) if bit else (x, y), column by column, only where wanted (masks nx, ny)."""
    xs: list[LC | None] = []
    ys: list[LC | None] = []
    for f, (u, v) in enumerate(zip(x, y)):
        wx, wy = nx >> f & 1, ny >> f & 1
        if not (wx or wy):
            xs.append(None)
            ys.append(None)
            continue
        m = b.mul(bit, v - u)
        xs.append(b.materialize(u + m) if wx else None)
        ys.append(b.materialize(v - m) if wy else None)
    return xs, ys


# --- the gadget ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """One recorded access: ``number`` (its slot order), and LCs for ``index``, ``enabled``,
    ``is_new``, the ``static`` fields and the dynamic fields ``before`` it."""

    number: int
    index: LC
    enabled: LC
    is_new: LC
    static: tuple[LC, ...]
    before: tuple[LC, ...]


def _log2(n: int) -> int:
    return n.bit_length() - 1


class AccountMemory:
    """The offline memory checker of one batch (see the module docstring). Use::

        mem = AccountMemory(b, n_accesses=8, n_units=4, depth=8, leaf=spec2_leaf())
        acc = mem.access(enabled, index=account_index)   # in a slot
        ... use acc.static, acc.before ...
        mem.write(acc, after_fields)                      # omit for a read
        new_root = mem.finish(old_root)                   # once, after every slot

    ``top_levels``: the levels of the top cache (0: none; None: ``best_top_levels``).
    Private inputs (``name`` prefix): ``<name>.<k>.static``, ``<name>.<k>.before`` (and
    ``<name>.<k>.index`` when ``access`` gets no index) per access, ``<name>.unit<u>.siblings``
    (3 (depth - top_levels) values, level 0 first) per unit, ``<name>.top`` (the 4^top_levels
    nodes at height depth - top_levels); ``inputs(trace)`` fills them."""

    def __init__(
        self,
        b: CircuitBuilder,
        *,
        n_accesses: int,
        n_units: int,
        depth: int,
        leaf: LeafSpec,
        name: str = "mem",
        top_levels: int | None = None,
    ) -> None:
        if not isinstance(n_accesses, int) or n_accesses < 2 or n_accesses & (n_accesses - 1):
            raise AccountMemoryError(f"n_accesses must be a power of two >= 2, got {n_accesses!r}")
        if not isinstance(n_units, int) or not 1 <= n_units <= n_accesses:
            raise AccountMemoryError(f"n_units must be in 1..{n_accesses}, got {n_units!r}")
        if not isinstance(depth, int) or not 1 <= depth <= QUAD_MAX_DEPTH:
            raise AccountMemoryError(f"depth must be in 1..{QUAD_MAX_DEPTH}, got {depth!r}")
        self.b = b
        self.n_accesses = n_accesses
        self.n_units = n_units
        self.depth = depth
        self.leaf = leaf
        self.name = name
        self.sentinel = 1 << (2 * depth)
        self.key_bits = 2 * depth + 1 + _log2(n_accesses)
        if top_levels is None:
            top_levels = best_top_levels(depth, n_units)
        if not isinstance(top_levels, int) or not 0 <= top_levels < depth:
            raise AccountMemoryError(f"top_levels must be in 0..{depth - 1}, got {top_levels!r}")
        self.top_levels = top_levels
        self._accesses: list[Access] = []
        self._after: dict[int, tuple[LC, ...]] = {}
        self._own_index: set[int] = set()
        self.finished = False
        # for tests and reports: the hint variables, set by finish
        self.sort_bits: list[Var] = []
        self.compact_bits: list[Var] = []

    # -- recording
    def access(
        self, enabled: Operand = 1, *, index: Operand | None = None, is_new: Operand = 0
    ) -> Access:
        """Record the next access. ``enabled`` and ``is_new`` (boolean; checked here) say
        whether the access happens and whether it creates the account (its leaf must be empty,
        and it must be the account's first access in the batch). ``index``: the caller's LC of
        the account index, or None for a private input. Returns the witness LCs; those of a
        disabled access are unconstrained (any values satisfy the gadget)."""
        if self.finished:
            raise AccountMemoryError("access after finish")
        k = len(self._accesses)
        if k >= self.n_accesses:
            raise AccountMemoryError(f"more than {self.n_accesses} accesses")
        b = self.b
        with b.scope(f"{SCOPE}/log"):
            e, new = as_lc(enabled), as_lc(is_new)
            b.assert_bool(e)
            b.assert_bool(new)
            if index is None:
                idx: LC = b.private_input(f"{self.name}.{k}.index")
                self._own_index.add(k)
            else:
                idx = as_lc(index)
            static = tuple(b.private_inputs(f"{self.name}.{k}.static", self.leaf.static_width))
            before = tuple(b.private_inputs(f"{self.name}.{k}.before", self.leaf.dynamic_width))
        acc = Access(k, idx, e, new, static, before)
        self._accesses.append(acc)
        return acc

    def write(self, acc: Access, after: Sequence[Operand]) -> None:
        """The dynamic fields after ``acc`` (default: unchanged). Once per access."""
        if self.finished:
            raise AccountMemoryError("write after finish")
        if acc.number >= len(self._accesses) or self._accesses[acc.number] is not acc:
            raise AccountMemoryError("not an access of this memory")
        if acc.number in self._after:
            raise AccountMemoryError(f"access {acc.number} is written twice")
        if len(after) != self.leaf.dynamic_width:
            raise AccountMemoryError(f"{len(after)} fields written, not {self.leaf.dynamic_width}")
        self._after[acc.number] = tuple(as_lc(x) for x in after)

    # -- the statement
    def _log_rows(self) -> list[list[LC]]:
        b, n, sent = self.b, self.n_accesses, self.sentinel
        shift = 1 << _log2(n)
        zeros = [LC()] * (self.leaf.static_width + 2 * self.leaf.dynamic_width)
        rows = []
        with b.scope("log"):
            for k in range(n):
                if k >= len(self._accesses):  # padding: a disabled access of constants
                    rows.append([LC({}, sent * shift + k), LC({}, sent), LC(), *zeros])
                    continue
                acc = self._accesses[k]
                e = acc.enabled
                with b.scope("index"):
                    if not e.terms and e.k == 1:
                        idx = acc.index
                        b.assert_nonzero(idx - sent)
                    elif not e.terms:
                        idx = LC({}, sent)
                    else:  # idx' = SENT + e (index - SENT); enabled => index != SENT
                        m = b.mul(e, acc.index - sent)
                        idx = m + sent
                        b.assert_nonzero(m + 1 - e)
                    idx = as_lc(b.materialize(idx)) if len(idx.terms) > 1 else idx
                after = self._after.get(k, acc.before)
                rows.append([idx * shift + k, idx, acc.is_new, *acc.static, *acc.before, *after])
        return rows

    def finish(self, old_root: Operand) -> LC:
        """Build the checker; returns the accounts root after the batch (a variable)."""
        if self.finished:
            raise AccountMemoryError("finish called twice")
        self.finished = True
        b = self.b
        n, sw, dw = self.n_accesses, self.leaf.static_width, self.leaf.dynamic_width
        with b.scope(SCOPE):
            rows = self._log_rows()
            # 2. sort by key
            with b.scope("sort"):
                self.sort_bits = b.hint_many(_sort_bits, [r[0] for r in rows], len(_sw(n)))
                out = route(b, rows, self.sort_bits)
                with b.scope("order"):
                    for j in range(n - 1):
                        bits_gadget.range_check(b, out[j + 1][0] - out[j][0], self.key_bits)
            # 3. chains
            c_static, c_before, c_after = 3, 3 + sw, 3 + sw + dw
            with b.scope("chain"):
                idx = [r[1] for r in out]
                with b.scope("same"):
                    en = [1 - b.is_equal(x, self.sentinel) for x in idx]
                    same: list[LC] = [LC()]
                    for j in range(1, n):
                        same.append(b.and_(b.is_equal(idx[j], idx[j - 1]), en[j]))
                for j in range(1, n):
                    prev, cur = out[j - 1], out[j]
                    with b.scope("static"):
                        for f in range(sw):
                            b.assert_mul(same[j], cur[c_static + f] - prev[c_static + f], 0)
                    with b.scope("before"):
                        for f in range(dw):
                            b.assert_mul(same[j], cur[c_before + f] - prev[c_after + f], 0)
                    with b.scope("is_new"):
                        b.assert_mul(same[j], cur[2], 0)
                with b.scope("carry"):
                    first = [list(out[0][c_before:c_after])]
                    new = [out[0][2]]
                    for j in range(1, n):
                        cur = out[j]
                        first.append(
                            [
                                b.materialize(b.select(same[j], first[j - 1][f], cur[c_before + f]))
                                for f in range(dw)
                            ]
                        )
                        new.append(b.materialize(cur[2] + b.mul(same[j], new[j - 1])))
                with b.scope("end"):
                    ends = [b.materialize(en[j] - same[j + 1]) for j in range(n - 1)]
                    ends.append(b.materialize(en[n - 1]))
            # 4. compaction: chain ends to the first n_units rows
            with b.scope("compact"):
                crows = [
                    [
                        ends[j],
                        idx[j],
                        new[j],
                        *out[j][c_static:c_before],
                        *first[j],
                        *out[j][c_after:],
                    ]  # fmt: skip
                    for j in range(n)
                ]
                n_bits = butterfly_switch_count(n)
                self.compact_bits = b.hint_many(_compact_bits, ends, n_bits)
                full = (1 << len(crows[0])) - 1
                need = [full if i < self.n_units else 1 for i in range(n)]
                units = route_butterfly(b, crows, self.compact_bits, need)
                with b.scope("overflow"):
                    for i in range(self.n_units, n):
                        b.assert_zero(units[i][0])  # type: ignore[arg-type]
            # 5. Merkle units (under a cache of the top levels when top_levels > 0)
            top = self.top_levels
            root = as_lc(old_root)
            cache: list[LC] = []
            if top:
                with b.scope("top/old"):
                    cache = list(b.private_inputs(f"{self.name}.top", 1 << (2 * top)))
                    b.assert_equal(_top_root(b, cache), root)
            with b.scope("units"):
                for u in range(self.n_units):
                    root = self._unit(u, units[u], root, cache)  # type: ignore[arg-type]
            if top:
                with b.scope("top/new"):
                    root = _top_root(b, cache)
        return root

    def _unit(self, u: int, row: list[LC], root: LC, cache: list[LC]) -> LC:
        """One Merkle unit. Without a cache: the update against the running ``root``, returns
        the new running root. With a cache of the 4^top nodes at height depth - top (updated in
        place): the path below them, the old subtree root read from the cache entry selected
        by the index's top digits and the new one written there (``unit/top``)."""
        b, sw, dw = self.b, self.leaf.static_width, self.leaf.dynamic_width
        top = self.top_levels
        d = self.depth - top
        flag, idx, new = row[0], row[1], row[2]
        static = row[3 : 3 + sw]
        first = row[3 + sw : 3 + sw + dw]
        after = row[3 + sw + dw :]
        sibs = b.private_inputs(f"{self.name}.unit{u}.siblings", 3 * d)
        with b.scope("index"):
            index = b.mul(flag, idx)  # a unit without a chain end works at leaf 0
            digit_bits = b.hint_many(_digit_bits(2 * self.depth), [index], 2 * self.depth)
            b.assert_equal(from_bits_lc(digit_bits), index)
        with b.scope("leaf"):
            old_leaf = b.mul(1 - new, self.leaf.circuit(b, static, first))
            new_leaf = (self.leaf.circuit_new or self.leaf.circuit)(b, static, after)
        if self.leaf.empty_dynamic is not None:
            with b.scope("empty"):
                created = b.mul(flag, new)  # a disabled access may carry any is_new
                for x, e in zip(first, self.leaf.empty_dynamic):
                    b.assert_mul(created, x - e, 0)
        with b.scope("path"):
            trios = [sibs[3 * k : 3 * k + 3] for k in range(d)]
            old_r, new_r = quad_update_roots(b, old_leaf, new_leaf, digit_bits[: 2 * d], trios)
        if top:
            with b.scope("top"):
                top_bits = digit_bits[2 * d :]
                for bit in top_bits:
                    b.assert_bool(bit)  # quad_update_roots checked the path's bits
                sel = _one_hot(b, flag, top_bits)
                # read: the selected entry is the old subtree root (nothing when flag = 0)
                reads = [b.mul(s_, c_) for s_, c_ in zip(sel, cache)]
                b.assert_equal(b.sum(reads), b.mul(flag, old_r))
                # write: the selected entry moves to the new subtree root
                delta = b.materialize(new_r - old_r)
                for i, s_ in enumerate(sel):
                    cache[i] = as_lc(b.materialize(cache[i] + b.mul(s_, delta)))
            return root
        with b.scope("old_root"):
            b.assert_mul(flag, old_r - root, 0)
        with b.scope("root"):
            return as_lc(b.materialize(b.select(flag, new_r, root)))

    # -- the witness
    def inputs(self, trace: MemoryTrace) -> dict[str, object]:
        """The gadget's private inputs for ``trace`` (``native_account_memory`` of the same log:
        one entry per recorded access, in order)."""
        if len(trace.before) != len(self._accesses):
            raise AccountMemoryError(
                f"the trace has {len(trace.before)} accesses, the circuit {len(self._accesses)}"
            )
        if len(trace.siblings) > self.n_units:
            raise AccountMemoryError(
                f"{len(trace.siblings)} distinct accounts for {self.n_units} units"
            )
        out: dict[str, object] = {}
        for k in range(len(self._accesses)):
            out[f"{self.name}.{k}.static"] = list(trace.static[k])
            out[f"{self.name}.{k}.before"] = list(trace.before[k])
            if k in self._own_index:
                out[f"{self.name}.{k}.index"] = trace.index[k]
        low = 3 * (self.depth - self.top_levels)
        for u in range(self.n_units):
            sib = trace.siblings[u][:low] if u < len(trace.siblings) else [0] * low
            out[f"{self.name}.unit{u}.siblings"] = list(sib)
        if self.top_levels:
            h = self.depth - self.top_levels
            tree = trace.tree_before
            out[f"{self.name}.top"] = [tree.node(h, p) for p in range(1 << (2 * self.top_levels))]
        return out


def _sw(n: int) -> range:
    return range(benes_switch_count(n))


def _sort_bits(*keys: int) -> list[int]:
    return benes_bits(sorting_permutation(list(keys)))


def _compact_bits(*flags: int) -> list[int]:
    return pack_bits(list(flags))


def _digit_bits(n: int) -> Callable[[int], list[int]]:
    mask = (1 << n) - 1

    def digit_bits(index: int) -> list[int]:
        v = index & mask
        return [(v >> j) & 1 for j in range(n)]

    return digit_bits


def _one_hot(b: CircuitBuilder, flag: LC, bits: Sequence[LC]) -> list[LC]:
    """sel[p] = flag * [p == sum 2^j bits[j]], p < 2^len(bits) (about 1.5 gates an entry)."""
    sel = [as_lc(flag)]
    for bit in reversed(bits):
        nxt = []
        for x in sel:
            m = b.mul(x, bit)
            nxt += [x - m, m]
        sel = nxt
    return sel


def _top_root(b: CircuitBuilder, nodes: Sequence[LC]) -> LC:
    """The root above 4^L nodes of one height (P4 of each 4 consecutive, level by level)."""
    level = list(nodes)
    while len(level) > 1:
        level = [hash_var(b, level[i : i + 4]) for i in range(0, len(level), 4)]
    return level[0]


# Gate model for choosing top_levels (measured: a 4-ary update level 1,871 gates, P4 917 with
# its output a variable, about 7 gates per cache entry and unit for the one-hot, the read and
# the write).
_LEVEL_UPDATE, _P4, _ENTRY = 1871, 917, 7


def best_top_levels(depth: int, n_units: int) -> int:
    """The number of top levels to cache that minimises the estimated gates: caching L levels
    costs 2 (4^L - 1) / 3 Poseidon(4) once (old and new top) and about 7 4^L a unit, and
    saves L update levels a unit."""

    def cost(top: int) -> float:
        entries = 1 << (2 * top)
        fixed = 2 * (entries - 1) // 3 * _P4 if top else 0
        return fixed + n_units * (_ENTRY * entries * (top > 0) - top * _LEVEL_UPDATE)

    return min(range(min(depth - 1, 6) + 1), key=cost)


# --- the native simulation -----------------------------------------------------------------------


@dataclass(frozen=True)
class NativeAccess:
    """One access of a native log: the account ``index``, its dynamic fields ``after`` the
    access (None: a read), the ``static`` fields of an account it creates (required exactly
    when the account does not exist yet; otherwise None or equal to the account's), and
    ``enabled`` (a disabled access touches nothing; its fields are zeros)."""

    index: int = 0
    after: tuple[int, ...] | None = None
    static: tuple[int, ...] | None = None
    enabled: bool = True


@dataclass(frozen=True)
class MemoryTrace:
    """What ``native_account_memory`` computed: per access the ``index``, ``is_new``, ``static``,
    ``before`` and ``after`` fields; ``units``: the distinct indices in unit order (ascending);
    ``siblings[u]``: unit u's 3 depth siblings (level 0 first, flat); the roots; ``accounts``:
    the fields of the touched accounts after the log; ``tree_before``: a copy of the tree
    before it (for the top cache's nodes)."""

    old_root: int
    new_root: int
    index: tuple[int, ...]
    is_new: tuple[int, ...]
    static: tuple[tuple[int, ...], ...]
    before: tuple[tuple[int, ...], ...]
    after: tuple[tuple[int, ...], ...]
    units: tuple[int, ...]
    siblings: tuple[tuple[int, ...], ...]
    accounts: Mapping[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(repr=False)
    tree_before: QuadMerkleTree = field(repr=False, default=None)  # type: ignore[assignment]


def native_account_memory(
    tree: QuadMerkleTree,
    accounts: Mapping[int, tuple[Sequence[int], Sequence[int]]],
    accesses: Sequence[NativeAccess],
    *,
    leaf: LeafSpec,
    n_units: int | None = None,
) -> MemoryTrace:
    """Run ``accesses`` on the accounts (index -> (static, dynamic), the leaves of ``tree``;
    only the touched ones are read) the way the gadget proves them: per access its before/after
    states, then one update per distinct account in index order. Neither ``tree`` nor
    ``accounts`` is changed.
    AccountMemoryError: more distinct accounts than ``n_units``, an access to a missing
    account without ``static``, a static change, an account whose leaf is not in the tree."""
    state: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}  # the touched accounts
    limit = 1 << (2 * tree.depth)
    sw, dw = leaf.static_width, leaf.dynamic_width
    index, is_new, static, before, after = [], [], [], [], []
    first: dict[int, tuple[int, tuple[int, ...]]] = {}  # index -> (is_new, first before)
    for k, a in enumerate(accesses):
        if not a.enabled:
            index.append(0)
            is_new.append(0)
            static.append((0,) * sw)
            before.append((0,) * dw)
            after.append(tuple(a.after) if a.after is not None else (0,) * dw)
            continue
        i = a.index
        if not isinstance(i, int) or not 0 <= i < limit:
            raise AccountMemoryError(f"access {k}: index {i!r} is not a leaf of the tree")
        if i not in state and i in accounts:  # read lazily: ``accounts`` may be a large view
            s0, d0 = accounts[i]
            state[i] = (tuple(s0), tuple(d0))
        if i in state:
            s, bef = state[i]
            if a.static is not None and tuple(a.static) != s:
                raise AccountMemoryError(f"access {k}: the static fields of account {i} changed")
            created = 0
            if i not in first and tree.get(i) != leaf.native(s, bef):
                raise AccountMemoryError(f"account {i}: its fields do not hash to its leaf")
        else:
            if a.static is None:
                raise AccountMemoryError(f"access {k}: account {i} does not exist")
            if tree.get(i) != 0:
                raise AccountMemoryError(f"access {k}: leaf {i} is not empty")
            s = tuple(a.static)
            bef = leaf.empty_dynamic if leaf.empty_dynamic is not None else (0,) * dw
            created = 1
        aft = tuple(a.after) if a.after is not None else bef
        if len(s) != sw or len(aft) != dw:
            raise AccountMemoryError(f"access {k}: field counts differ from the leaf's")
        first.setdefault(i, (created, bef))
        state[i] = (s, aft)
        index.append(i)
        is_new.append(created)
        static.append(s)
        before.append(bef)
        after.append(aft)
    units = tuple(sorted(first))
    if n_units is not None and len(units) > n_units:
        raise AccountMemoryError(f"{len(units)} distinct accounts for {n_units} units")
    before_tree = tree.copy()
    t = tree.copy()
    old_root = t.root
    siblings = []
    for i in units:
        s, last = state[i]
        proof = t.update(i, leaf.native(s, last))
        siblings.append(tuple(x for trio in proof.siblings for x in trio))
    return MemoryTrace(
        old_root,
        t.root,
        tuple(index),
        tuple(is_new),
        tuple(static),
        tuple(before),
        tuple(after),
        units,
        tuple(siblings),
        state,
        before_tree,
    )
