"""CLI: ``plonk setup``, ``zkey export verificationkey`` and ``zkey verify`` (snarkjs-shaped).

- ``zkperp plonk setup <circuit> <in.ptau> <out.zkey>``: PLONK preprocessing
  (``prover.plonk.setup``) of a circom ``.r1cs`` or a zkperp ``.zkpc`` (told apart by their
  magic), written as a snarkjs PLONK zkey (``prover.zkey``): byte-identical to
  ``snarkjs plonk setup`` on the same files.
- ``zkperp zkey export verificationkey <in.zkey> <vk.json>``: the vk.json snarkjs exports.
- ``zkperp zkey verify <circuit> <in.ptau> <in.zkey>``: recompute the zkey and compare, section by
  section; exit 0 with "zkey OK", or exit 1 naming the first differing part.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

_IN = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, writable=True, path_type=Path)


def _proving_key(circuit: Path, ptau_path: Path, verbose: bool = True):
    from prover.plonk.constraint_system import domain_power, load_circuit_any
    from prover.plonk.setup import setup
    from prover.ptau import read_ptau

    t0 = time.perf_counter()
    cs = load_circuit_any(circuit, labels=False)
    ptau = read_ptau(ptau_path)
    if verbose:
        click.echo(
            f"circuit: {cs.n_vars} signals, {cs.n_public} public, {cs.n_gates} PLONK gates, "
            f"{len(cs.additions)} additions; domain 2^{domain_power(cs)}"
        )
    pk = setup(cs, ptau)
    return pk, time.perf_counter() - t0


def register(plonk_group: click.Group, zkey_group: click.Group, zkey_export_group: click.Group):
    """Add ``plonk setup``, ``zkey verify`` and ``zkey export verificationkey``."""

    @plonk_group.command("setup")
    @click.argument("circuit", type=_IN)
    @click.argument("ptau", type=_IN)
    @click.argument("zkey", type=_OUT)
    def plonk_setup(circuit: Path, ptau: Path, zkey: Path) -> None:
        """PLONK setup: CIRCUIT (.r1cs or .zkpc) + PTAU -> ZKEY (a snarkjs PLONK zkey)."""
        from prover.zkey import write_zkey

        pk, seconds = _proving_key(circuit, ptau)
        t0 = time.perf_counter()
        write_zkey(pk, zkey)
        click.echo(
            f"setup {seconds:.2f} s, zkey written in {time.perf_counter() - t0:.2f} s: {zkey}"
        )

    @zkey_export_group.command("verificationkey")
    @click.argument("zkey", type=_IN)
    @click.argument("vk_json", type=_OUT)
    def export_verificationkey(zkey: Path, vk_json: Path) -> None:
        """Write the verification key of a PLONK ZKEY as snarkjs's vk.json."""
        from prover.zkey import dumps_verification_key, read_verifying_key

        vk_json.write_text(dumps_verification_key(read_verifying_key(zkey)))
        click.echo(f"verification key written: {vk_json}")

    @zkey_group.command("verify")
    @click.argument("circuit", type=_IN)
    @click.argument("ptau", type=_IN)
    @click.argument("zkey", type=_IN)
    def zkey_verify(circuit: Path, ptau: Path, zkey: Path) -> None:
        """Recompute the zkey of CIRCUIT with PTAU and compare it with ZKEY (exit 0: identical)."""
        from prover.zkey import compare_zkey

        pk, _ = _proving_key(circuit, ptau)
        difference = compare_zkey(pk, zkey)
        if difference is not None:
            click.echo(f"zkey MISMATCH: {difference}", err=True)
            click.get_current_context().exit(1)
        click.echo("zkey OK")
