"""EdDSA-Poseidon verifications per second: pure-Python ``eddsa.verify_poseidon`` against the
Numba kernels of ``eddsa_batch`` (``verify_one``; ``verify_many`` on batches of 64 and 1024,
threads from 8 signatures up), all with the default subgroup checks.

Public keys that passed the subgroup check are cached by ``eddsa_batch``: "fresh" / "cold"
figures pay that check (l * A) for every signature (distinct signers), "cached" ones skip it
(an account that signed before).

Run: ``pytest bench/test_bench_eddsa.py``. 32 distinct signatures (4 keys) repeat to fill a
batch: each row is verified on its own, so repeats cost what fresh ones would. JIT compilation
and the one-off BASE8 table are excluded (a warm-up call first).
"""

from __future__ import annotations

import random
from functools import cache

import numba
import pytest

from circuits.gadgets import eddsa
from circuits.gadgets.eddsa_batch import clear_pubkey_cache, verify_many, verify_one


@cache
def _signed() -> tuple[list[int], list[eddsa.Signature], list[tuple[int, int]]]:
    rng = random.Random(1)
    keys = [rng.randbytes(32) for _ in range(4)]
    pubs = [eddsa.prv2pub(k) for k in keys]
    msgs = [rng.randrange(1 << 250) for _ in range(32)]
    sigs = [eddsa.sign_poseidon(keys[i % 4], m) for i, m in enumerate(msgs)]
    return msgs, sigs, [pubs[i % 4] for i in range(32)]


def _rate(benchmark, n: int) -> float | None:
    """Signatures per second from the fastest round (None under --benchmark-disable)."""
    stats = benchmark.stats
    return None if stats is None else round(n / stats.stats.min, 1)


def _batch(n: int):
    msgs, sigs, pubs = _signed()
    reps = (n + 31) // 32
    return (msgs * reps)[:n], (sigs * reps)[:n], (pubs * reps)[:n]


def test_verify_python(benchmark):
    msgs, sigs, pubs = _batch(16)
    benchmark.pedantic(
        lambda: [eddsa.verify_poseidon(m, s, a) for m, s, a in zip(msgs, sigs, pubs, strict=True)],
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["sigs_per_s"] = _rate(benchmark, 16)


def _one(m, s, a, fresh: bool) -> bool:
    if fresh:
        clear_pubkey_cache()
    return verify_one(m, s, a)


@pytest.mark.parametrize("keys", ["fresh", "cached"])
def test_verify_one_numba(benchmark, keys):
    """``verify_one`` on 32 signatures; "fresh" clears the public-key cache before each call."""
    msgs, sigs, pubs = _batch(32)
    assert verify_one(msgs[0], sigs[0], pubs[0])  # warm-up
    fresh = keys == "fresh"
    out = benchmark.pedantic(
        lambda: [_one(m, s, a, fresh) for m, s, a in zip(msgs, sigs, pubs, strict=True)],
        rounds=5,
        iterations=1,
    )
    assert all(out)
    benchmark.extra_info.update({"keys": keys, "sigs_per_s": _rate(benchmark, 32)})


@pytest.mark.parametrize("keys", ["fresh", "cached"])
@pytest.mark.parametrize("n", [1, 64, 1024])
def test_verify_many_numba(benchmark, n, keys):
    """``verify_many``; "fresh": the public-key cache cleared before each round (the cache is
    read before the kernel runs, so every row checks l * A, as for n distinct signers);
    "cached": every signer seen before."""
    msgs, sigs, pubs = _batch(n)
    assert all(verify_many(msgs[:8], sigs[:8], pubs[:8]))  # warm-up, both kernels
    assert verify_many(msgs[:1], sigs[:1], pubs[:1]) == [True]

    def setup():
        if keys == "fresh":
            clear_pubkey_cache()
        return (msgs, sigs, pubs), {}

    out = benchmark.pedantic(verify_many, setup=setup, rounds=3, iterations=1)
    assert all(out)
    benchmark.extra_info.update(
        {
            "batch": n,
            "keys": keys,
            "threads": numba.get_num_threads(),
            "sigs_per_s": _rate(benchmark, n),
        }
    )
