"""Development powers of tau: ``zkperp ptau new`` against snarkjs's own way to the same file.

Ours: ``prover.ptau.write_dev_ptau`` (every section, Lagrange sections included, with the
fixed-base kernels, and the contribution record with its hashes), at powers 10, 12 and 16; the
time of each section goes into ``extra_info``. ``verify_ptau`` is timed at 12 and 16.

Anchor, in the same run: snarkjs 0.7.6 ``powersoftau new`` + ``contribute`` + ``prepare
phase2`` (what a snarkjs user runs to get an equivalent file), at power 10 (set
``ZKPERP_BENCH_PTAU_SNARKJS_POWER`` for another; 12 takes minutes, 14 about 7 minutes here).
Both files must pass ``snarkjs powersoftau verify``'s checks and ours: the anchor's output is
verified by our verifier, ours by snarkjs (at the anchor's power).

pytest-benchmark pedantic mode, one round each (the JIT warm-up is excluded and reported).
"""

from __future__ import annotations

import os
import random
import tempfile
import time

import pytest

from prover import ptau

POWERS = [10, 12, 16]
SNARKJS_POWER = int(os.environ.get("ZKPERP_BENCH_PTAU_SNARKJS_POWER", "10"))


@pytest.fixture(scope="module")
def warm() -> float:
    """Load (or compile) the Numba kernels once, outside every timing."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm.ptau")
        ptau.write_dev_ptau(path, 2)
        ptau.verify_ptau(path)
    return time.perf_counter() - t0


@pytest.mark.parametrize("power", POWERS, ids=lambda p: f"power{p}")
def test_write_dev_ptau(benchmark, bench_out, warm, power):
    path = bench_out / f"dev_ptau_{power}.ptau"
    sections: dict[str, float] = {}

    def run() -> None:
        sections.clear()
        ptau.write_dev_ptau(path, power, progress=lambda label, s: sections.update({label: s}))

    benchmark.pedantic(run, rounds=1, iterations=1)
    pt = ptau.read_ptau(path)
    assert pt.power == power and pt.prepared
    g2_s = sum(s for label, s in sections.items() if "G2" in label)
    benchmark.extra_info.update(
        power=power,
        jit_warmup_s=round(warm, 2),
        total_s=round(benchmark.stats.stats.min, 2),
        g2_sections_s=round(g2_s, 2),
        file_mb=round(path.stat().st_size / 2**20, 1),
        sections_s={label: round(s, 3) for label, s in sections.items()},
    )
    if power != SNARKJS_POWER:
        path.unlink()


@pytest.mark.parametrize("power", [12, 16], ids=lambda p: f"power{p}")
def test_verify_ptau(benchmark, bench_out, warm, power):
    path = bench_out / f"verify_ptau_{power}.ptau"
    ptau.write_dev_ptau(path, power)
    failures = benchmark.pedantic(
        ptau.verify_ptau, args=(path, random.Random(1)), rounds=1, iterations=1
    )
    assert failures == []
    benchmark.extra_info.update(power=power, total_s=round(benchmark.stats.stats.min, 2))
    path.unlink()


@pytest.mark.node
def test_snarkjs_new_contribute_prepare(benchmark, bench_out, warm):
    from tests.interop import snarkjs

    power = SNARKJS_POWER
    work = bench_out / "snarkjs_ptau"
    work.mkdir(exist_ok=True)
    steps: dict[str, float] = {}

    def step(name: str, *args) -> None:
        t0 = time.perf_counter()
        snarkjs(*args)
        steps[name] = round(time.perf_counter() - t0, 2)

    def run() -> None:
        step("new", "powersoftau", "new", "bn128", str(power), work / "p0.ptau")
        step(
            "contribute", "powersoftau", "contribute", work / "p0.ptau", work / "p1.ptau",
            "--name=bench", "-e=zkperp bench entropy",
        )  # fmt: skip
        step("prepare", "powersoftau", "prepare", "phase2", work / "p1.ptau", work / "p2.ptau")

    benchmark.pedantic(run, rounds=1, iterations=1)
    theirs = benchmark.stats.stats.min
    assert ptau.verify_ptau(work / "p2.ptau") == []  # our verifier accepts snarkjs's file
    info: dict = {"power": power, "snarkjs_steps_s": steps, "snarkjs_total_s": round(theirs, 2)}
    ours = bench_out / f"dev_ptau_{power}.ptau"
    if ours.exists():  # written by test_write_dev_ptau in this run: snarkjs must accept it
        assert "Powers of Tau Ok!" in snarkjs("powersoftau", "verify", ours)
        t0 = time.perf_counter()
        ptau.write_dev_ptau(ours, power)
        ours_s = time.perf_counter() - t0
        info.update(ours_s=round(ours_s, 2), speedup_vs_snarkjs=round(theirs / ours_s, 1))
        ours.unlink()
    benchmark.extra_info.update(info)
    for f in work.iterdir():
        f.unlink()
    work.rmdir()
