"""CLI: the Solidity verifier and its calldata, shaped like snarkjs 0.7.6's commands (``cli.js``).

- ``zkperp zkey export solidityverifier [in.zkey] [verifier.sol]``: our PLONK verifier contract
  for the key (``verifier_contract.render``); the input may also be a ``verification_key.json``.
  Defaults as snarkjs: circuit_final.zkey, verifier.sol. ``--compile`` also compiles it with the
  pinned solc and prints its size (EIP-170).
- ``zkperp zkey export soliditycalldata [public.json] [proof.json]`` (and its alias
  ``zkperp plonk calldata``): the ``verifyProof`` arguments, printed as snarkjs prints them.

A file that is missing, unreadable or not in snarkjs's format is one ``Error: <path>: ...`` line
and exit status 1, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

ZKEY_MAGIC = b"zkey"


def _load_vk(path: Path):
    """A VerifyingKey from a PLONK .zkey (told by its magic) or a snarkjs vk.json."""
    from prover import formats
    from prover.zkey import read_verifying_key

    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror or exc}") from None
    try:
        if magic == ZKEY_MAGIC:
            return read_verifying_key(path)
        return formats.parse_vk_json(formats.load_json(path))
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None


def _calldata(public_path: str, proof_path: str) -> None:
    from prover import formats
    from verifier_contract.render import solidity_calldata

    try:
        public = formats.parse_public_json(formats.load_json(public_path))
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"{public_path}: {exc}") from None
    try:
        proof = formats.parse_proof_json(formats.load_json(proof_path))
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"{proof_path}: {exc}") from None
    try:
        click.echo(solidity_calldata(proof, public))
    except ValueError as exc:  # a value over 256 bits cannot be a calldata word
        raise click.ClickException(str(exc)) from None


@click.command("solidityverifier")
@click.argument("key_path", metavar="[ZKEY|VK.JSON]", default="circuit_final.zkey")
@click.argument("out_path", metavar="[VERIFIER.SOL]", default="verifier.sol")
@click.option(
    "--name", "contract_name", default="PlonkVerifier", show_default=True, help="Contract name."
)
@click.option("--compile", "do_compile", is_flag=True, help="Compile it and print its size.")
def solidityverifier_command(
    key_path: str, out_path: str, contract_name: str, do_compile: bool
) -> None:
    """Write the Solidity PLONK verifier of a .zkey (or vk.json): verifyProof(uint256[24],
    uint256[nPublic]), the same ABI and calldata as snarkjs's, checking every input canonical."""
    from verifier_contract.render import render_verifier

    vk = _load_vk(Path(key_path))
    try:
        source = render_verifier(vk, contract_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        Path(out_path).write_text(source)
    except OSError as exc:
        raise click.ClickException(f"{out_path}: {exc.strerror or exc}") from None
    click.echo(f"verifier written: {out_path} ({vk.n_public} public signals, domain 2^{vk.power})")
    if do_compile:
        from verifier_contract.compile import EIP170_MAX_RUNTIME, EVM_VERSION, compile_contract

        try:
            compiled = compile_contract(source, contract_name)
        except ValueError as exc:  # SolcError, ContractTooLargeError
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"compiled ({EVM_VERSION}): runtime {compiled.size} bytes "
            f"(EIP-170 limit {EIP170_MAX_RUNTIME}), creation {len(compiled.bytecode)} bytes"
        )


@click.command("soliditycalldata")
@click.argument("public_path", metavar="[PUBLIC.JSON]", default="public.json")
@click.argument("proof_path", metavar="[PROOF.JSON]", default="proof.json")
def soliditycalldata_command(public_path: str, proof_path: str) -> None:
    """Print the verifyProof arguments for a PLONK proof, as snarkjs's
    `zkey export soliditycalldata`: [24 proof words][public signals]."""
    _calldata(public_path, proof_path)


@click.command("calldata")
@click.argument("public_path", metavar="[PUBLIC.JSON]", default="public.json")
@click.argument("proof_path", metavar="[PROOF.JSON]", default="proof.json")
def calldata_command(public_path: str, proof_path: str) -> None:
    """Print the verifyProof arguments of a proof (= `zkey export soliditycalldata`)."""
    _calldata(public_path, proof_path)


def register(plonk_group: click.Group, zkey_export_group: click.Group) -> None:
    """Add ``zkey export solidityverifier``, ``zkey export soliditycalldata`` and
    ``plonk calldata``."""
    zkey_export_group.add_command(solidityverifier_command)
    zkey_export_group.add_command(soliditycalldata_command)
    plonk_group.add_command(calldata_command)
