"""Fr Montgomery multiplication throughput: our Numba kernel beside ffjavascript's wasm kernel.

Run: ``make bench`` or ``pytest bench/test_bench_field.py``. The figure of merit is ns per
multiplication per core on 2^20 elements; the anchor multiplies the same elements.
"""

from __future__ import annotations

import os
import random

import numba
import numpy as np
import pytest

from bench.anchor import node_available, run_anchor
from prover.field import convert, kernels
from prover.field.kernels import FR_M

N = 1 << 20
OUT = os.path.join(os.path.dirname(__file__), "out")


@pytest.fixture(scope="module")
def operands():
    rnd = random.Random(20)
    xs = [rnd.randrange(FR_M.modulus) for _ in range(N)]
    ys = [rnd.randrange(FR_M.modulus) for _ in range(N)]
    return xs, ys, convert.to_mont(FR_M, xs), convert.to_mont(FR_M, ys)


@pytest.fixture(scope="module")
def anchor(operands):
    if not node_available():
        pytest.skip("node_modules missing: run make install")
    _, _, a_m, b_m = operands
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "fr_mul_input.bin")
    with open(path, "wb") as f:
        f.write(convert.mont_to_le32(FR_M, a_m, montgomery=True))
        f.write(convert.mont_to_le32(FR_M, b_m, montgomery=True))
    return run_anchor("field_ffjs.mjs", path, 5)


@pytest.mark.parametrize("threads", [1, 2])
def test_fr_mul_2p20(benchmark, operands, anchor, threads):
    xs, ys, a_m, b_m = operands
    out = np.empty_like(a_m)
    kernels.mul_m(a_m[:8], b_m[:8], out[:8], FR_M.mod)  # JIT warm-up, excluded
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        benchmark.pedantic(kernels.mul_m, args=(a_m, b_m, out, FR_M.mod), rounds=10, iterations=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    # Same product as ffjavascript's kernel and as Python ints.
    first = int.from_bytes(bytes.fromhex(anchor["checksum_hex"]), "little")
    assert (
        first
        == int(out[0, 0]) | int(out[0, 1]) << 64 | int(out[0, 2]) << 128 | int(out[0, 3]) << 192
    )
    assert convert.from_mont(FR_M, out[:4]) == [x * y % FR_M.modulus for x, y in zip(xs, ys)][:4]
    ours_ns_core = benchmark.stats.stats.min / N * 1e9 * threads
    theirs = min(anchor["ns_per_mul"])
    benchmark.extra_info.update(
        n=N,
        threads=threads,
        ours_ns_per_mul_per_core=round(ours_ns_core, 2),
        ffjavascript_wasm_ns_per_mul_1_thread=round(theirs, 2),
        ratio_ffjs_over_ours_per_core=round(theirs / ours_ns_core, 2),
    )


def test_python_int_mul(benchmark, operands):
    """The plain-int reference path, for scale (first 2^14 products)."""
    xs, ys, _, _ = operands
    m = FR_M.modulus
    xs, ys = xs[: 1 << 14], ys[: 1 << 14]
    benchmark.pedantic(lambda: [x * y % m for x, y in zip(xs, ys)], rounds=5, iterations=1)
    benchmark.extra_info.update(ns_per_mul=round(benchmark.stats.stats.min / len(xs) * 1e9, 1))
