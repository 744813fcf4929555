"""The ``zkperp`` command line (click): each command is a thin call into the library.

Errors reach the user as one clear line and a non-zero exit status, never as a traceback: bad
options are click usage errors (exit 2); a ``ValueError`` or ``OSError`` raised by the library for
bad input becomes ``Error: ...`` (exit 1). Set ``ZKPERP_DEBUG=1`` to see the traceback instead.

Commands:
- ``demo`` (``cli.demo_cmd``): what exists end to end: a development SRS, a circuit of every
  gadget, PLONK setup / prove / verify, and the Solidity verifier on an embedded EVM.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import click


def _version() -> str:
    try:
        return metadata.version("zkperp")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: run `make install`)"


class _Group(click.Group):
    """A click group that turns bad-input exceptions from the library into clean errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ValueError, OSError) as exc:
            if os.environ.get("ZKPERP_DEBUG"):
                raise
            raise click.ClickException(str(exc) or type(exc).__name__) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", "-V", prog_name="zkperp")
def zkperp() -> None:
    """zkperp: a ZK-rollup for perpetual futures (PLONK over BN254 with KZG, Numba prover).

    `zkperp demo` runs the rollup end to end on an embedded EVM (`--circuit-only`: one circuit,
    proven and verified in Python and on the EVM).
    """


# --- snarkjs-shaped groups: each module registers its commands (see its docstring) -------------


@zkperp.group(cls=_Group)
def ptau() -> None:
    """Powers of tau: make a development SRS, verify a .ptau file."""


@zkperp.group(cls=_Group)
def plonk() -> None:
    """PLONK: setup a circuit, prove a witness, verify a proof (snarkjs-compatible files)."""


@zkperp.group(cls=_Group)
def zkey() -> None:
    """PLONK .zkey files: export the verification key, recompute and compare."""


@zkey.group("export", cls=_Group)
def zkey_export() -> None:
    """Export parts of a .zkey."""


@zkperp.group(cls=_Group)
def circuit() -> None:
    """Circuits: sizes, gate counts per gadget, witness checks (.zkpc / .r1cs)."""


@zkperp.group(cls=_Group)
def sequencer() -> None:
    """The exchange's sequencer: create a database, submit signed requests, cut batches, serve
    the local HTTP API."""


@zkperp.group(cls=_Group)
def batch() -> None:
    """Batches: keys per shape, prove and verify a batch with the state-transition circuit."""


@zkperp.group(cls=_Group)
def wallet() -> None:
    """A trader's key: create it, show it, sign orders, cancels, withdrawals and transfers."""


def _register_commands() -> None:
    from cli import (
        audit_cmd,
        batch_cmds,
        bench_cmd,
        chain_cmds,
        circuit_cmds,
        contract_cmds,
        demo_cmd,
        prove_cmd,
        ptau_cmds,
        run_cmd,
        sequencer_cmds,
        serve_cmd,
        setup_cmds,
        verify_cmd,
        wallet_cmds,
    )

    demo_cmd.register(zkperp)
    audit_cmd.register(zkperp)
    bench_cmd.register(zkperp)
    ptau_cmds.register(ptau)
    setup_cmds.register(plonk, zkey, zkey_export)
    prove_cmd.register(plonk)
    verify_cmd.register(plonk)
    circuit_cmds.register(circuit)
    contract_cmds.register(plonk, zkey_export)
    chain_cmds.register(zkperp)
    sequencer_cmds.register(sequencer, batch)
    batch_cmds.register(batch)
    wallet_cmds.register(wallet)
    serve_cmd.register(sequencer)
    run_cmd.register(zkperp)


_register_commands()


def main() -> None:
    """Console-script entry point (``zkperp`` in pyproject.toml)."""
    zkperp(prog_name="zkperp")


if __name__ == "__main__":
    main()
