"""Fixed-base multiplication, tau^i * G for i < n: the powers-of-tau workload.

Ours: ``prover.curve.fixed_base_g2.fixed_base_g2`` (signed-window table + batched affine
additions, table build and base validation included in the timing), and the G1 twin
``prover.curve.fixed_base_g1.fixed_base_g1`` when that module exists. Anchor: ffjavascript's
``G.batchApplyKey`` (what snarkjs powersoftau uses to write tau^i G), on the same tau; its points
must equal ours byte for byte (both write affine little-endian Montgomery).

Run: ``pytest bench/test_bench_fixed_base.py`` (the 2^16 G2 anchor alone takes ~1-2 minutes).
"""

from __future__ import annotations

import importlib
import importlib.util
import time

import numpy as np
import pytest

from bench.anchor import node_available, run_anchor
from prover import params
from prover.curve import fixed_base_g2 as fb2
from prover.curve import ref
from prover.field.kernels import FR_M

SIZES = [1 << 12, 1 << 16]
TAU = 0x2A5F0C_D3B1E4_77C2A9_1F0E3D_5B6A79_8C4D2E_1F3A5B_7C9D0E_1F2A3B_4C5D6E % params.R_ORDER


def _fixed_base_g1():
    if importlib.util.find_spec("prover.curve.fixed_base_g1") is None:
        return None
    return getattr(importlib.import_module("prover.curve.fixed_base_g1"), "fixed_base_g1", None)


GROUPS = {
    "G2": (fb2.fixed_base_g2, ref.G2_GENERATOR, 128),
    "G1": (_fixed_base_g1(), ref.G1_GENERATOR, 64),
}

_anchor_cache: dict[tuple[str, int], tuple[dict, bytes]] = {}


def anchor(group: str, n: int, out_dir) -> tuple[dict, bytes] | None:
    if not node_available():
        return None
    key = (group, n)
    if key not in _anchor_cache:
        path = out_dir / f"fixed_base_ffjs_{group}_{n}.bin"
        repeats = 2 if n <= 1 << 12 else 1
        report = run_anchor("fixed_base_ffjs.mjs", group, n, TAU, repeats, path)
        _anchor_cache[key] = (report, path.read_bytes())
    return _anchor_cache[key]


@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"2p{n.bit_length() - 1}")
@pytest.mark.parametrize("group", ["G2", "G1"])
def test_fixed_base_powers_of_tau(benchmark, bench_out, group, n):
    fn, base, point_bytes = GROUPS[group]
    if fn is None:
        pytest.skip(f"prover/curve/fixed_base_{group.lower()}.py does not exist yet")
    scalars_m = FR_M.powers(TAU, n)

    t0 = time.perf_counter()
    fn(base, scalars_m[:8])  # JIT compile or cache load, excluded from the timing
    warmup_s = time.perf_counter() - t0

    rounds = 3 if n <= 1 << 12 else 2
    out = benchmark.pedantic(fn, args=(base, scalars_m), rounds=rounds, iterations=1)
    ours_s = benchmark.stats.stats.min
    info = {
        "n": n,
        "group": group,
        "jit_warmup_s": round(warmup_s, 3),
        "ours_points_per_s": round(n / ours_s),
    }
    if group == "G2":  # the parts: table build (incl. validation) and the multiplication alone
        t0 = time.perf_counter()
        table = fb2.FixedBaseTableG2.build(base, n_hint=n)
        t1 = time.perf_counter()
        table.multiply(scalars_m)
        t2 = time.perf_counter()
        info.update(
            window=table.window, table_build_s=round(t1 - t0, 4), multiply_s=round(t2 - t1, 4)
        )

    got = np.ascontiguousarray(out).astype("<u8", copy=False).tobytes()
    assert len(got) == n * point_bytes
    res = anchor(group, n, bench_out)
    if res is not None:
        report, theirs = res
        assert got == theirs, "our points differ from ffjavascript's batchApplyKey"
        ffjs_s = min(report["ms"]) / 1e3
        info.update(
            ffjs_batch_apply_key_s=round(ffjs_s, 3),
            ffjs_threads=report["threads"],
            ffjs_points_per_s=round(n / ffjs_s),
            speedup_vs_ffjs=round(ffjs_s / ours_s, 1),
        )
    else:  # no Node: still check a few points against the int reference
        for i in (0, 1, n - 1):
            expect = (
                ref.g2_to_lem(ref.g2_mul(base, pow(TAU, i, params.R_ORDER)))
                if group == "G2"
                else ref.g1_to_lem(ref.g1_mul(base, pow(TAU, i, params.R_ORDER)))
            )
            assert got[i * point_bytes : (i + 1) * point_bytes] == expect
    benchmark.extra_info.update(info)
