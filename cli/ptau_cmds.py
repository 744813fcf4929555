"""``zkperp ptau new`` and ``zkperp ptau verify``: powers-of-tau files (snarkjs .ptau).

- ``new --power K OUT``: a development SRS of 2^K powers, prepared for phase 2 (Lagrange
  sections included), from tau, alpha, beta drawn from OS entropy and then forgotten
  (``prover.ptau.write_dev_ptau``). Prints that a one-party setup is insecure for production
  and how to use a ceremony's file instead, then the time of each section.
- ``verify PTAU``: every section's consistency (``prover.ptau.check_ptau``): exit 0 and
  "ptau OK", or exit 1 with the list of failures.
"""

from __future__ import annotations

import time

import click

INSECURE_WARNING = """\
WARNING: this is a ONE-PARTY setup, insecure for production. Whoever knows tau can forge
proofs; it exists here for a moment, in this process, and is then discarded, but nobody else
can check that. Use this file for development and tests only.
For production, import a multi-party ceremony's file instead, e.g. the Hermez/Polygon
perpetual powers of tau (powersOfTau28_hez_final_K.ptau, already prepared for phase 2). A
ceremony file that is not prepared needs `snarkjs powersoftau prepare phase2 <in> <out>`
first. Check either with `zkperp ptau verify <file>`."""


@click.command("new")
@click.option(
    "-p",
    "--power",
    "power",
    required=True,
    metavar="K",
    type=click.IntRange(1, 27),  # prover.ptau.MAX_POWER (not imported: keeps --help fast)
    help="2^K powers of tau: circuits of up to 2^K gates (PLONK).",
)
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def new(power: int, out: str) -> None:
    """Write a development SRS to OUT (insecure: one party).

    A snarkjs .ptau file of 2^K powers, prepared for phase 2, from OS entropy."""
    from prover.ptau import write_dev_ptau

    click.echo(INSECURE_WARNING, err=True)
    click.echo(f"zkperp ptau new: power {power} ({1 << power} powers) -> {out}")

    def progress(label: str, seconds: float) -> None:
        click.echo(f"  {label:<40}{seconds:8.2f} s")

    t0 = time.perf_counter()
    write_dev_ptau(out, power, progress=progress)
    click.echo(f"  {'total':<40}{time.perf_counter() - t0:8.2f} s")
    click.echo(f"wrote {out}")


@click.command("verify")
@click.argument("ptau_file", metavar="PTAU", type=click.Path(exists=True, dir_okay=False))
def verify(ptau_file: str) -> None:
    """Check every section of a .ptau file.

    Random-linear-combination pairing checks of every section against the others, the
    contributions' proofs and hashes. Exit 0: OK; 1: failures, listed."""
    from prover.ptau import check_ptau

    t0 = time.perf_counter()
    report = check_ptau(ptau_file)
    elapsed = time.perf_counter() - t0
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.ok:
        click.echo(f"ptau OK (power {report.power}, {elapsed:.1f} s)")
        return
    click.echo(f"ptau INVALID: {len(report.failures)} failure(s) in {ptau_file}", err=True)
    for failure in report.failures:
        click.echo(f"  - {failure}", err=True)
    raise SystemExit(1)


def register(ptau: click.Group) -> None:
    """Add ``new`` and ``verify`` to the ``zkperp ptau`` group (cli/main.py)."""
    ptau.add_command(new)
    ptau.add_command(verify)
