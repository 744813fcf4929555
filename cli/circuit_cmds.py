"""CLI: ``circuit info`` and ``circuit check``, on compiled circuits (.zkpc, or circom's .r1cs).

- ``zkperp circuit info <circuit>``: the sizes (signals, public signals, PLONK gates, additions,
  the domain 2^k that ``plonk setup`` will use) and the gate count per labelled gadget
  (``circuits.builder.gate_report``; ``--depth`` levels of the label path, default 1).
- ``zkperp circuit check <circuit> <witness.wtns>``: checks every gate on the witness; exit 0 with
  "witness OK", or exit 1 naming the first failing gate, its label (the gadget that emitted it)
  and its values (``prover.plonk.constraint_system.check_satisfied``).

``register(circuit_group)`` adds them to a click group (``cli.main`` owns the groups).
"""

from __future__ import annotations

from pathlib import Path

import click

_IN = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load(reader, path: Path):
    """reader(path), with a bad file as a one-line error (exit 1) whatever the group class."""
    try:
        return reader(path)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc) or type(exc).__name__) from exc


def register(circuit_group: click.Group) -> None:
    """Add ``info`` and ``check`` to the ``circuit`` group."""

    @circuit_group.command("info")
    @click.argument("circuit", type=_IN)
    @click.option(
        "--depth",
        type=click.IntRange(1, 32),
        default=1,
        show_default=True,
        help="Levels of the label path to group gates by.",
    )
    def info(circuit: Path, depth: int) -> None:
        """Sizes of CIRCUIT (.zkpc or .r1cs) and its gate count per labelled gadget."""
        from circuits.builder import gate_report
        from prover.plonk.constraint_system import domain_power, load_circuit_any

        cs = _load(load_circuit_any, circuit)
        power = domain_power(cs)
        click.echo(f"circuit: {circuit}")
        click.echo(f"  signals      {cs.n_vars}")
        click.echo(f"  public       {cs.n_public}")
        click.echo(f"  gates        {cs.n_gates}")
        click.echo(f"  additions    {len(cs.additions)}")
        click.echo(f"  domain       2^{power} = {1 << power} rows")
        report = gate_report(cs, depth)
        if cs.labels is None:
            click.echo("  (no labels in this file)")
            return
        width = max(len(k) for k in report) if report else 0
        click.echo("gates per gadget:")
        for label, count in sorted(report.items(), key=lambda kv: -kv[1]):
            share = 100.0 * count / cs.n_gates if cs.n_gates else 0.0
            click.echo(f"  {label:<{width}}  {count:>10}  {share:5.1f}%")

    @circuit_group.command("check")
    @click.argument("circuit", type=_IN)
    @click.argument("witness", type=_IN)
    def check(circuit: Path, witness: Path) -> None:
        """Check WITNESS (.wtns) against every gate of CIRCUIT (exit 0: all satisfied)."""
        from prover.plonk.constraint_system import (
            UnsatisfiedGate,
            check_satisfied,
            load_circuit_any,
        )
        from prover.wtns import read_wtns

        cs = _load(load_circuit_any, circuit)
        values = _load(read_wtns, witness)
        if len(values) != cs.n_vars:
            raise click.ClickException(
                f"the witness has {len(values)} values, the circuit needs {cs.n_vars}"
            )
        try:
            check_satisfied(cs, values)
        except UnsatisfiedGate as exc:
            click.echo(f"witness FAILS: {exc}", err=True)
            click.get_current_context().exit(1)
        click.echo(f"witness OK: {cs.n_gates} gates satisfied")
