"""``zkperp bench``: run the benchmark suites (pytest-benchmark, snarkjs side by side in the same
run) and write a report: the pytest-benchmark JSON, ``summary.json`` and two PNG plots
(``bench.report``: prove time against circuit size, trades proven per second against batch
size). Run from a checkout (the suites live in ``bench/``); ``bench/RESULTS.md`` records the
latest figures and the command that made them.

Suites: ``kernels`` (field, NTT, MSM, fixed-base), ``prover`` (PLONK prove, ours and snarkjs),
``batch`` (the batch circuit's gates, prove time and trades/s, the rollup contract's gas),
``all`` (everything under bench/). ``--report-only`` redraws from existing results.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
SUITES = {
    "kernels": [
        "bench/test_bench_field.py",
        "bench/test_bench_ntt.py",
        "bench/test_bench_msm.py",
        "bench/test_bench_fixed_base.py",
    ],
    "prover": ["bench/test_bench_plonk.py"],
    "batch": [
        "bench/test_bench_stf.py",
        "bench/test_bench_batch_prove.py",
        "bench/test_bench_rollup_gas.py",
    ],
    "all": ["bench"],
}


@click.command("bench")
@click.option(
    "--suite",
    "suites",
    type=click.Choice(sorted(SUITES)),
    multiple=True,
    default=("all",),
    show_default=True,
    help="Which suites to run (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="bench/out/report",
    show_default=True,
    help="Where the report goes.",
)
@click.option("--report-only", is_flag=True, help="Only redraw the report from bench/out/.")
@click.option("-k", "keyword", default=None, help="pytest -k expression to select benchmarks.")
def bench(suites: tuple[str, ...], out: str, report_only: bool, keyword: str | None) -> None:
    """Run the benchmarks and write JSON and PNG plots."""
    if not (REPO / "bench" / "conftest.py").is_file():
        raise click.ClickException("zkperp bench runs from a checkout: bench/ is not here")
    if str(REPO) not in sys.path:  # bench/ is the checkout's, not an installed package
        sys.path.insert(0, str(REPO))
    from bench.report import write_report

    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    if not report_only:
        paths = [p for s in suites for p in SUITES[s]]
        cmd = [sys.executable, "-m", "pytest", *dict.fromkeys(paths), "-q",
               f"--benchmark-json={(dest / 'bench.json').resolve()}"]  # fmt: skip
        if keyword:
            cmd += ["-k", keyword]
        click.echo("running: " + " ".join(cmd[2:]))
        rc = subprocess.call(cmd, cwd=REPO)
        if rc not in (0, 5):  # 5: no test selected
            raise click.ClickException(f"the benchmarks failed (pytest exit {rc})")
    summary = write_report(REPO / "bench" / "out", dest)
    for p in summary["prove"]:
        ratio = f"  ({p['ratio']}x snarkjs)" if p["ratio"] else ""
        click.echo(f"  {p['circuit']:<12} {p['gates']:>9,} gates  {p['ours_s']:8.2f} s{ratio}")
    for t in summary["trades"]:
        click.echo(f"  batch of {t['slots']}: {t['ours_trades_per_s']:.2f} trades/s proven")
    click.echo(f"report: {dest}/summary.json, prove_time.png, trades_per_s.png")


def register(zkperp: click.Group) -> None:
    zkperp.add_command(bench)
