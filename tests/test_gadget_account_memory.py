"""circuits.gadgets.account_memory: random access logs (reads, writes, account creations,
disabled accesses) proven by the offline memory checker give the root that a QuadMerkleTree
reaches applying the same accesses one by one; every check fails at its named gate (a stale
before-state, a forged old leaf or sibling, more accounts than units, a forged sort, a changed
static field, a creation that is not first or not empty, an enabled access at the sentinel
index, a forged top cache); with and without the cache of the top levels; the butterfly packs
every pattern, its on-demand evaluation agrees with its native twin and prunes."""

from __future__ import annotations

import dataclasses
import itertools
import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, UnsatisfiedGate
from circuits.gadgets.account_memory import (
    AccountMemory,
    AccountMemoryError,
    NativeAccess,
    best_top_levels,
    butterfly_apply,
    butterfly_switch_count,
    native_account_memory,
    pack_bits,
    route_butterfly,
    spec2_leaf,
)
from circuits.gadgets.merkle import QuadMerkleTree
from circuits.gadgets.poseidon import poseidon
from circuits.gadgets.routing import benes_bits, benes_switch_count
from prover import params

R = params.R_ORDER
LEAF = spec2_leaf(order_depth=2)
SW, DW = LEAF.static_width, LEAF.dynamic_width
OLD_LEAF = ("account_memory/units/old_root", "account_memory/units/top")  # by top_levels


@cache
def _circuit(n_acc: int, n_units: int, depth: int, n_used: int, top: int | None = None):
    """A test circuit: n_used accesses with private enabled / is_new / index / after inputs;
    ``top``: the gadget's top_levels (None: its choice)."""
    b = CircuitBuilder()
    old_root = b.public_input("old_root")
    mem = AccountMemory(
        b, n_accesses=n_acc, n_units=n_units, depth=depth, leaf=LEAF, top_levels=top
    )
    for k in range(n_used):
        acc = mem.access(
            b.private_input(f"en{k}"),
            index=b.private_input(f"idx{k}"),
            is_new=b.private_input(f"new{k}"),
        )
        mem.write(acc, b.private_inputs(f"after{k}", DW))
    b.expose(mem.finish(old_root), "new_root")
    return b.compile(), mem


def _inputs(mem: AccountMemory, trace, accesses) -> dict:
    out = {"old_root": trace.old_root} | mem.inputs(trace)
    for k, a in enumerate(accesses):
        out[f"en{k}"] = int(a.enabled)
        out[f"idx{k}"] = trace.index[k]
        out[f"new{k}"] = trace.is_new[k]
        out[f"after{k}"] = list(trace.after[k])
    return out


def _fields(rng: random.Random, width: int) -> tuple[int, ...]:
    return tuple(rng.choice([0, 1, rng.randrange(1 << 64), R - 1 - rng.randrange(1 << 40)])
                 for _ in range(width))  # fmt: skip


def _state(rng: random.Random, depth: int, n_existing: int):
    tree = QuadMerkleTree(depth, backend="python")
    accounts = {}
    for i in rng.sample(range(1 << (2 * depth)), n_existing):
        s, d = _fields(rng, SW), _fields(rng, DW)
        accounts[i] = (s, d)
        tree.set(i, LEAF.native(s, d))
    return tree, accounts


def _log(rng, depth, accounts, n_used, max_distinct, p_disabled=0.2):
    """A random log touching at most max_distinct accounts, existing or created."""
    size = 1 << (2 * depth)
    pool = rng.sample(sorted(accounts), min(len(accounts), max_distinct))
    free = [i for i in range(size) if i not in accounts]
    while len(pool) < max_distinct:
        pool.append(free.pop(rng.randrange(len(free))))
    seen: set[int] = set()
    out = []
    for _ in range(n_used):
        if rng.random() < p_disabled:
            out.append(NativeAccess(enabled=False, after=_fields(rng, DW)))
            continue
        i = rng.choice(pool)
        static = _fields(rng, SW) if i not in accounts and i not in seen else None
        seen.add(i)
        after = None if rng.random() < 0.25 else _fields(rng, DW)
        out.append(NativeAccess(index=i, after=after, static=static))
    return out


def _sequential_root(tree: QuadMerkleTree, trace, accesses) -> int:
    """The reference: each enabled access's after-state written to the tree in slot order."""
    t = tree.copy()
    for k, a in enumerate(accesses):
        if a.enabled:
            t.set(a.index, LEAF.native(trace.static[k], trace.after[k]))
    return t.root


@pytest.mark.parametrize(
    "n_acc,n_units,depth,n_used,seeds,top",
    [(4, 2, 2, 4, 4, 0), (8, 4, 2, 7, 4, 1), (16, 6, 3, 16, 2, None), (8, 3, 3, 8, 2, 2)],
)
def test_random_logs_match_sequential_updates(n_acc, n_units, depth, n_used, seeds, top):
    c, mem = _circuit(n_acc, n_units, depth, n_used, top)
    assert top is None or mem.top_levels == top
    for seed in range(seeds):
        rng = random.Random(1000 * n_acc + seed)
        tree, accounts = _state(rng, depth, 5)
        accesses = _log(rng, depth, accounts, n_used, rng.randint(1, n_units))
        trace = native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=n_units)
        want = _sequential_root(tree, trace, accesses)
        assert trace.new_root == want
        w = c.check(_inputs(mem, trace, accesses))
        assert c.public_signals(w) == [tree.root, want]
        # the chain: every access sees the previous one's write
        last: dict[int, tuple] = {i: d for i, (_, d) in accounts.items()}
        for k, a in enumerate(accesses):
            if a.enabled:
                if a.index in last:
                    assert trace.before[k] == last[a.index]
                last[a.index] = trace.after[k]


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 12), st.floats(0, 0.6))
def test_random_logs_property(seed, n_existing, p_disabled):
    """Any log over <= n_units accounts (existing or created, some disabled) is proven, and
    the proven root is the sequential one."""
    c, mem = _circuit(8, 4, 2, 8)
    rng = random.Random(seed)
    tree, accounts = _state(rng, 2, n_existing)
    accesses = _log(rng, 2, accounts, 8, rng.randint(1, 4), p_disabled)
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=4)
    want = _sequential_root(tree, trace, accesses)
    assert c.public_signals(c.check(_inputs(mem, trace, accesses))) == [tree.root, want]


def test_shared_funding_hash_variant():
    """spec2_leaf(new_funding_hash=...): written leaves use the batch's funding hash."""
    rng = random.Random(12)
    g = _fields(rng, 4)  # the global funding indices every written account holds
    leaf = spec2_leaf(order_depth=2)
    b = CircuitBuilder()
    old_root = b.public_input("old_root")
    fh = b.private_input("fh")
    mem = AccountMemory(b, n_accesses=4, n_units=2, depth=2,
                        leaf=spec2_leaf(order_depth=2, new_funding_hash=fh))  # fmt: skip
    for k in range(4):
        acc = mem.access(index=b.private_input(f"idx{k}"))
        mem.write(acc, b.private_inputs(f"after{k}", DW))
    b.expose(mem.finish(old_root), "new_root")
    c = b.compile()
    tree, accounts = _state(rng, 2, 3)
    i, j = sorted(accounts)[:2]
    accesses = [NativeAccess(index=x, after=_fields(rng, 7) + g) for x in (i, j, i, i)]
    trace = native_account_memory(tree, accounts, accesses, leaf=leaf, n_units=2)
    inputs = {"old_root": tree.root, "fh": poseidon(list(g))} | mem.inputs(trace)
    for k in range(4):
        inputs[f"idx{k}"] = trace.index[k]
        inputs[f"after{k}"] = list(trace.after[k])
    assert c.public_signals(c.check(inputs)) == [tree.root, _sequential_root(tree, trace, accesses)]


def test_disabled_accesses_are_harmless_and_a_read_only_log_keeps_the_root():
    c, mem = _circuit(8, 4, 2, 7)
    rng = random.Random(7)
    tree, accounts = _state(rng, 2, 4)
    idx = sorted(accounts)
    accesses = [NativeAccess(index=idx[k % 3]) if k % 2 else NativeAccess(enabled=False)
                for k in range(7)]  # fmt: skip
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=4)
    assert trace.new_root == tree.root
    inputs = _inputs(mem, trace, accesses)
    for k in (0, 2, 4, 6):  # garbage in every field of the disabled accesses
        inputs[f"idx{k}"] = rng.randrange(R)
        inputs[f"new{k}"] = 1
        inputs[f"{mem.name}.{k}.static"] = list(_fields(rng, SW))
        inputs[f"{mem.name}.{k}.before"] = list(_fields(rng, DW))
        inputs[f"after{k}"] = list(_fields(rng, DW))
    assert c.public_signals(c.check(inputs)) == [tree.root, tree.root]


def _two_writes(rng, n_used=4):
    """Account A written by access 0 and read-written by access 2; B by access 1."""
    tree, accounts = _state(rng, 2, 3)
    a, bb, _ = sorted(accounts)
    accesses = [
        NativeAccess(index=a, after=_fields(rng, DW)),
        NativeAccess(index=bb, after=_fields(rng, DW)),
        NativeAccess(index=a, after=_fields(rng, DW)),
        NativeAccess(enabled=False),
    ][:n_used]
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF)
    return tree, accounts, accesses, trace


def _fails_at(c, inputs, label, **kw):
    with pytest.raises(UnsatisfiedGate) as err:
        c.check(inputs, **kw)
    assert err.value.label is not None and err.value.label.startswith(label), err.value.label


def test_stale_before_state_fails_at_the_chain():
    c, mem = _circuit(4, 2, 2, 4)
    tree, accounts, accesses, trace = _two_writes(random.Random(1))
    inputs = _inputs(mem, trace, accesses)
    c.check(inputs)
    inputs[f"{mem.name}.2.before"] = list(trace.before[0])  # ignores access 0's write
    _fails_at(c, inputs, "account_memory/chain/before")


def test_changed_static_field_fails_at_the_chain():
    c, mem = _circuit(4, 2, 2, 4)
    tree, accounts, accesses, trace = _two_writes(random.Random(2))
    inputs = _inputs(mem, trace, accesses)
    static = list(trace.static[2])
    static[0] = (static[0] + 1) % R  # another public key for the same account
    inputs[f"{mem.name}.2.static"] = static
    _fails_at(c, inputs, "account_memory/chain/static")


@pytest.mark.parametrize("top,label", [(0, OLD_LEAF[0]), (1, OLD_LEAF[1])])
def test_forged_old_leaf_or_sibling_fails_at_the_unit(top, label):
    c, mem = _circuit(4, 2, 2, 4, top)
    tree, accounts, accesses, trace = _two_writes(random.Random(3))
    inputs = _inputs(mem, trace, accesses)
    before = list(trace.before[0])
    before[1] = (before[1] + 10**6) % R  # more collateral than the tree holds
    forged = dict(inputs) | {f"{mem.name}.0.before": before}
    _fails_at(c, forged, label)
    sib = list(inputs[f"{mem.name}.unit1.siblings"])
    sib[1] = (sib[1] + 1) % R
    _fails_at(c, dict(inputs) | {f"{mem.name}.unit1.siblings": sib}, label)
    # a changed first static field is a forged old leaf too
    static = list(trace.static[0])
    static[2] = (static[2] + 1) % R
    forged = dict(inputs) | {f"{mem.name}.0.static": static, f"{mem.name}.2.static": static}
    _fails_at(c, forged, label)
    if top:  # a forged cache of the top levels fails against the old root
        nodes = list(inputs[f"{mem.name}.top"])
        nodes[3] = (nodes[3] + 1) % R
        _fails_at(c, dict(inputs) | {f"{mem.name}.top": nodes}, "account_memory/top/old")


def test_more_accounts_than_units_fails_at_the_overflow_check():
    c, mem = _circuit(4, 2, 2, 4)
    rng = random.Random(4)
    tree, accounts = _state(rng, 2, 4)
    idx = sorted(accounts)
    accesses = [NativeAccess(index=i, after=_fields(rng, DW)) for i in idx[:3]]
    accesses.append(NativeAccess(enabled=False))
    with pytest.raises(AccountMemoryError, match="3 distinct accounts for 2 units"):
        native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=2)
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF)
    with pytest.raises(AccountMemoryError, match="units"):
        mem.inputs(trace)
    trace = dataclasses.replace(trace, siblings=trace.siblings[:2])
    _fails_at(c, _inputs(mem, trace, accesses), "account_memory/compact/overflow")


def test_forged_sort_fails():
    c, mem = _circuit(4, 2, 2, 4)
    tree, accounts, accesses, trace = _two_writes(random.Random(5))
    inputs = _inputs(mem, trace, accesses)
    bits = mem.sort_bits
    # another permutation (reversed order): boolean bits, but the keys come out of order
    rev = benes_bits([3, 2, 1, 0])
    _fails_at(c, inputs, "account_memory/sort/order", overrides=dict(zip(bits, rev)))
    _fails_at(c, inputs, "account_memory/sort/benes", overrides={bits[0]: 2})
    # the compaction's bits likewise
    _fails_at(c, inputs, "account_memory/compact/butterfly", overrides={mem.compact_bits[1]: 3})


def test_identity_sort_is_rejected_when_the_log_is_unsorted():
    """Keys 2 a, 2 b + 1, 2 a + 2 (a < b) are not sorted in log order."""
    c, mem = _circuit(4, 2, 2, 4)
    tree, accounts, accesses, trace = _two_writes(random.Random(6))
    ident = [0] * benes_switch_count(4)
    _fails_at(c, _inputs(mem, trace, accesses), "account_memory/sort/order",
              overrides=dict(zip(mem.sort_bits, ident)))  # fmt: skip


def test_account_creation():
    c, mem = _circuit(8, 4, 2, 7)
    rng = random.Random(8)
    tree, accounts = _state(rng, 2, 2)
    new = next(i for i in range(16) if i not in accounts)
    old = sorted(accounts)[0]
    key = _fields(rng, SW)
    accesses = [
        NativeAccess(index=new, static=key, after=_fields(rng, DW)),
        NativeAccess(index=old, after=_fields(rng, DW)),
        NativeAccess(index=new, after=_fields(rng, DW)),
        NativeAccess(enabled=False),
        NativeAccess(index=new),
        NativeAccess(index=old, static=accounts[old][0]),
        NativeAccess(enabled=False),
    ]
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=4)
    assert trace.is_new == (1, 0, 0, 0, 0, 0, 0)
    assert trace.before[0] == LEAF.empty_dynamic
    want = _sequential_root(tree, trace, accesses)
    inputs = _inputs(mem, trace, accesses)
    assert c.public_signals(c.check(inputs))[1] == want
    # a created account must start empty
    before = list(trace.before[0])
    before[1] = 5
    _fails_at(c, dict(inputs) | {f"{mem.name}.0.before": before}, "account_memory/units/empty")
    # is_new on a later access of the account
    _fails_at(c, dict(inputs) | {"new2": 1}, "account_memory/chain/is_new")
    # "creating" an existing account: its old leaf is not empty
    fake = dict(inputs) | {"new1": 1, f"{mem.name}.1.before": list(LEAF.empty_dynamic)}
    _fails_at(c, fake, OLD_LEAF)
    # not claiming creation: no fields hash to the empty leaf
    _fails_at(c, dict(inputs) | {"new0": 0}, OLD_LEAF)


def test_enabled_access_at_the_sentinel_index_fails():
    c, mem = _circuit(4, 2, 2, 4)
    tree, accounts, accesses, trace = _two_writes(random.Random(9))
    inputs = _inputs(mem, trace, accesses) | {"idx1": mem.sentinel}
    _fails_at(c, inputs, "account_memory/log/index")


def test_native_errors():
    rng = random.Random(10)
    tree, accounts = _state(rng, 2, 2)
    i = sorted(accounts)[0]
    missing = next(j for j in range(16) if j not in accounts)
    with pytest.raises(AccountMemoryError, match="does not exist"):
        native_account_memory(tree, accounts, [NativeAccess(index=missing)], leaf=LEAF)
    with pytest.raises(AccountMemoryError, match="static fields"):
        native_account_memory(
            tree, accounts, [NativeAccess(index=i, static=_fields(rng, SW))], leaf=LEAF
        )
    with pytest.raises(AccountMemoryError, match="not a leaf"):
        native_account_memory(tree, accounts, [NativeAccess(index=16)], leaf=LEAF)
    bad = dict(accounts) | {i: (accounts[i][0], _fields(rng, DW))}
    with pytest.raises(AccountMemoryError, match="hash to its leaf"):
        native_account_memory(tree, bad, [NativeAccess(index=i)], leaf=LEAF)
    root = tree.root
    native_account_memory(tree, accounts, [NativeAccess(index=i, after=(1,) * DW)], leaf=LEAF)
    assert tree.root == root  # the tree is not changed


def test_shape_and_call_order_errors():
    b = CircuitBuilder()
    for bad in (dict(n_accesses=6), dict(n_units=0), dict(n_units=9), dict(depth=0)):
        kw = dict(n_accesses=8, n_units=2, depth=2) | bad
        with pytest.raises(AccountMemoryError):
            AccountMemory(b, leaf=LEAF, **kw)
    mem = AccountMemory(b, n_accesses=2, n_units=1, depth=1, leaf=LEAF)
    acc = mem.access()
    with pytest.raises(AccountMemoryError):
        mem.write(acc, [0] * (DW - 1))
    mem.write(acc, [0] * DW)
    with pytest.raises(AccountMemoryError):
        mem.write(acc, [0] * DW)
    mem.access(0)
    with pytest.raises(AccountMemoryError):
        mem.access()
    mem.finish(0)
    with pytest.raises(AccountMemoryError):
        mem.finish(0)


def test_padding_accesses_and_own_index_inputs():
    """Fewer accesses than n_accesses (the rest are constant disabled rows), indices as the
    gadget's private inputs, constant enabled flags."""
    b = CircuitBuilder()
    old_root = b.public_input("old_root")
    mem = AccountMemory(b, n_accesses=8, n_units=3, depth=2, leaf=LEAF)
    a0 = mem.access()
    mem.write(a0, b.private_inputs("after0", DW))
    mem.access()
    a2 = mem.access(index=0)  # a constant index (the insurance account of spec section 4)
    mem.write(a2, b.private_inputs("after2", DW))
    b.expose(mem.finish(old_root), "new_root")
    c = b.compile()
    rng = random.Random(11)
    tree, accounts = _state(rng, 2, 3)
    s0, d0 = _fields(rng, SW), _fields(rng, DW)
    accounts[0] = (s0, d0)
    tree.set(0, LEAF.native(s0, d0))
    i, j = sorted(x for x in accounts if x)[:2]
    accesses = [
        NativeAccess(index=i, after=_fields(rng, DW)),
        NativeAccess(index=j),
        NativeAccess(index=0, after=_fields(rng, DW)),
    ]
    trace = native_account_memory(tree, accounts, accesses, leaf=LEAF, n_units=3)
    inputs = {"old_root": tree.root, "after0": list(trace.after[0])} | mem.inputs(trace)
    inputs["after2"] = list(trace.after[2])
    assert set(inputs) >= {"mem.0.index", "mem.1.index"} and "mem.2.index" not in inputs
    assert c.public_signals(c.check(inputs)) == [tree.root, _sequential_root(tree, trace, accesses)]


def test_pack_bits_pack_every_pattern():
    """The butterfly packs every flag pattern (exhaustively up to 16 rows, random to 256)."""

    def packs(flags):
        out = butterfly_apply(list(range(len(flags))), pack_bits(flags))
        marked = [p for p, f in enumerate(flags) if f]
        return out[: len(marked)] == marked and sorted(out) == list(range(len(flags)))

    for n in (2, 4, 8, 16):
        assert all(packs(list(f)) for f in itertools.product([0, 1], repeat=n))
    rng = random.Random(13)
    for n in (32, 64, 256):
        for _ in range(50):
            q = rng.random()
            assert packs([int(rng.random() < q) for _ in range(n)])
    assert butterfly_switch_count(128) == 448
    with pytest.raises(AccountMemoryError):
        pack_bits([1, 0, 1])


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_route_butterfly_matches_native_and_prunes(n):
    rng = random.Random(n)
    width = 3
    rows_v = [[rng.randrange(R) for _ in range(width)] for _ in range(n)]
    bits_v = [rng.randrange(2) for _ in range(butterfly_switch_count(n))]
    want = butterfly_apply(rows_v, bits_v)

    def build(need):
        b = CircuitBuilder()
        rows = [b.private_inputs(f"r{i}", width) for i in range(n)]
        sw = b.private_inputs("bits", butterfly_switch_count(n))
        start = b.n_gates
        out = route_butterfly(b, rows, sw, need)
        gates = b.n_gates - start
        for i, r in enumerate(out):
            for f, x in enumerate(r):
                if x is not None:
                    b.expose(x, f"o{i}_{f}")
        c = b.compile()
        inputs = {f"r{i}": rows_v[i] for i in range(n)} | {"bits": bits_v}
        return gates, c, inputs

    g_full, c, inputs = build([7] * n)
    assert g_full == butterfly_switch_count(n) * (4 * width + 1)
    assert c.public_signals(c.check(inputs)) == [x for r in want for x in r]
    bad = list(inputs["bits"])
    bad[0] = 2
    _fails_at(c, inputs | {"bits": bad}, "butterfly")
    need = [7 if i < max(1, n // 4) else 1 for i in range(n)]
    g_pr, c, inputs = build(need)
    assert g_pr < g_full
    expect = [x for i, r in enumerate(want) for f, x in enumerate(r) if need[i] >> f & 1]
    assert c.public_signals(c.check(inputs)) == expect


def test_best_top_levels():
    assert best_top_levels(8, 1) == 1
    assert [best_top_levels(8, d) for d in (16, 32, 64)] == [2, 3, 3]
    assert best_top_levels(1, 64) == 0  # the units need a path of at least one level
