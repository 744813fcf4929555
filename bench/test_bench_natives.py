"""Native gadgets: Poseidon(2) hashes per second and depth-32 Merkle updates per second, beside
circomlibjs 0.1.7 (``bench/anchors/poseidon_circomlibjs.mjs``: its wasm ``poseidon`` called
once a hash from JS, the 32 chained hashes of a depth-32 path, EdDSA-Poseidon sign/verify).

Run: ``pytest bench/test_bench_natives.py``. Our figures:

- ``poseidon`` in pure Python (one hash a call, no Numba start-up);
- ``poseidon_many``: the Numba kernel over a batch, one thread and all threads;
- ``SparseMerkleTree.update`` at depth 32 (sparse: 2^32 leaves, a few thousand set), one path
  hashed by one Numba call, and the pure-Python backend; ``set_many``: batched updates hashed
  level by level;
- EdDSA-Poseidon sign and verify (pure Python).

The anchor's first hashes and path root are checked against ours. JIT compilation is excluded
(a warm-up call first).
"""

from __future__ import annotations

import random

import numba
import pytest

from bench.anchor import node_available, run_anchor
from circuits.gadgets import eddsa
from circuits.gadgets.merkle import SparseMerkleTree, path_nodes
from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon, poseidon_many

N_HASHES = 20000
N_PATHS = 200
N_SIGS = 50
DEPTH = 32


@pytest.fixture(scope="module")
def anchor():
    if not node_available():
        pytest.skip("node_modules missing: run make install")
    res = run_anchor("poseidon_circomlibjs.mjs", N_HASHES, 3, N_PATHS, N_SIGS)
    assert [int(h) for h in res["first"]] == [poseidon([i, i + 1]) for i in range(3)]
    sibs = [k + 1000 for k in range(DEPTH)]
    assert int(res["path_root"]) == path_nodes(0, sibs, [0] * DEPTH)[-1]
    return res


def _anchor_info(anchor: dict | None, key: str) -> dict:
    if anchor is None:
        return {}
    v = anchor[key]
    return {f"circomlibjs_{key}": round(max(v) if isinstance(v, list) else v, 1)}


def test_poseidon2_python(benchmark, anchor):
    rows = [(i, i + 1) for i in range(500)]
    poseidon(rows[0])  # derive the constants (excluded)
    benchmark.pedantic(lambda: [poseidon(r) for r in rows], rounds=3, iterations=1)
    ours = len(rows) / benchmark.stats.stats.min
    info = {"hashes_per_s": round(ours, 1), **_anchor_info(anchor, "hashes_per_s")}
    if anchor:
        info["ratio_ours_over_circomlibjs"] = round(ours / max(anchor["hashes_per_s"]), 3)
    benchmark.extra_info.update(info)


@pytest.mark.parametrize("threads", [1, 0])
def test_poseidon2_kernel_batch(benchmark, anchor, threads):
    """``poseidon_many`` on N_HASHES rows, conversions included (threads 0 = all of Numba's)."""
    rows = [[i, i + 1] for i in range(N_HASHES)]
    poseidon_many(rows[:2])  # JIT warm-up / cache load, excluded
    poseidon_many(rows[:5000])
    n_threads = numba.config.NUMBA_NUM_THREADS if threads == 0 else threads
    numba.set_num_threads(n_threads)
    try:
        out = benchmark.pedantic(poseidon_many, args=(rows,), rounds=3, iterations=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert out[:3] == [poseidon(r) for r in rows[:3]]
    ours = N_HASHES / benchmark.stats.stats.min
    info = {"threads": n_threads, "hashes_per_s": round(ours, 1)}
    info.update(_anchor_info(anchor, "hashes_per_s"))
    if anchor:
        info["ratio_ours_over_circomlibjs"] = round(ours / max(anchor["hashes_per_s"]), 2)
    benchmark.extra_info.update(info)


def _populated_tree(backend: str) -> SparseMerkleTree:
    rng = random.Random(9)
    tree = SparseMerkleTree(DEPTH, backend=backend)  # type: ignore[arg-type]
    tree.set_many((rng.randrange(1 << DEPTH), rng.randrange(FIELD_MODULUS)) for _ in range(2000))
    return tree


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_merkle_update_depth32(benchmark, anchor, backend):
    tree = _populated_tree(backend)
    rng = random.Random(10)
    n = N_PATHS if backend == "numba" else 10
    updates = [(rng.randrange(1 << DEPTH), rng.randrange(FIELD_MODULUS)) for _ in range(n)]
    tree.update(*updates[0])  # warm-up

    def run() -> None:
        for i, v in updates:
            tree.update(i, v)

    benchmark.pedantic(run, rounds=3, iterations=1)
    ours = n / benchmark.stats.stats.min
    info = {"backend": backend, "depth": DEPTH, "updates_per_s": round(ours, 1)}
    info.update(_anchor_info(anchor, "path_updates_per_s"))
    if anchor:
        info["ratio_ours_over_circomlibjs"] = round(ours / max(anchor["path_updates_per_s"]), 2)
    benchmark.extra_info.update(info)


def test_merkle_set_many_depth32(benchmark):
    """4096 random leaves into a depth-32 tree at once (hashes batched level by level)."""
    rng = random.Random(11)
    batches = [
        [(rng.randrange(1 << DEPTH), rng.randrange(FIELD_MODULUS)) for _ in range(4096)]
        for _ in range(3)
    ]
    SparseMerkleTree(DEPTH).set_many(batches[0][:64])  # warm-up
    it = iter(batches)
    benchmark.pedantic(lambda: SparseMerkleTree(DEPTH).set_many(next(it)), rounds=3, iterations=1)
    benchmark.extra_info.update(
        depth=DEPTH, leaves=4096, leaves_per_s=round(4096 / benchmark.stats.stats.min, 1)
    )


def test_eddsa_sign_verify(benchmark, anchor):
    prv = bytes([7]) * 32
    pub = eddsa.prv2pub(prv)
    msgs = list(range(10))
    sigs = [eddsa.sign_poseidon(prv, m) for m in msgs]
    assert all(eddsa.verify_poseidon(m, s, pub) for m, s in zip(msgs, sigs))

    def run() -> None:
        for m, s in zip(msgs, sigs):
            eddsa.verify_poseidon(m, s, pub)

    benchmark.pedantic(run, rounds=3, iterations=1)
    import time

    t0 = time.perf_counter()
    for m in msgs:
        eddsa.sign_poseidon(prv, m)
    sign_s = (time.perf_counter() - t0) / len(msgs)
    info = {
        "verify_per_s": round(len(msgs) / benchmark.stats.stats.min, 1),
        "sign_per_s": round(1 / sign_s, 1),
    }
    info.update(_anchor_info(anchor, "verify_per_s"))
    info.update(_anchor_info(anchor, "sign_per_s"))
    benchmark.extra_info.update(info)
