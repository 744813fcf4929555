"""``zkperp plonk verify [vk.json] [public.json] [proof.json]``, shaped like snarkjs's
``plonk verify`` (snarkjs 0.7.6 ``cli.js``: the same arguments and defaults, "OK!" on success).

Exit status: 0 the proof is valid; 1 the files are well formed but the proof does not verify (the
reason is printed); 2 a file is unreadable, not JSON, or not in snarkjs's schema (one line on
stderr, no traceback). The verifier is ``prover.plonk.verifier`` (plain Python, ePrint 2019/953
section 8.3).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from prover.formats import Proof
    from prover.plonk.keys import VerifyingKey

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """An unreadable file or a wrong schema: ``Error: ...`` on stderr and exit status 2."""

    exit_code = EXIT_BAD_INPUT


@click.command("verify")
@click.argument("vk_path", metavar="[VK.JSON]", default="verification_key.json")
@click.argument("public_path", metavar="[PUBLIC.JSON]", default="public.json")
@click.argument("proof_path", metavar="[PROOF.JSON]", default="proof.json")
@click.option("-v", "--verbose", is_flag=True, help="Also print the challenges and the time.")
def verify_command(vk_path: str, public_path: str, proof_path: str, verbose: bool) -> None:
    """Verify a PLONK proof (snarkjs's proof.json / public.json / verification_key.json).

    Prints "OK!" and exits 0 if the proof is valid; exits 1 if it is not (and says why); exits 2
    if a file cannot be read or is not in snarkjs's format. Defaults: verification_key.json,
    public.json, proof.json, as snarkjs.
    """
    from prover import formats
    from prover.plonk import verifier

    try:
        vk = formats.parse_vk_json(formats.load_json(vk_path))
        public = formats.parse_public_json(formats.load_json(public_path))
        proof = formats.parse_proof_json(formats.load_json(proof_path))
    except formats.FormatError as exc:
        path = {
            formats.VkFormatError: vk_path,
            formats.PublicFormatError: public_path,
            formats.ProofFormatError: proof_path,
        }.get(type(exc))
        raise BadInput(f"{path}: {exc}" if path else str(exc)) from None

    t0 = time.perf_counter()
    result = verifier.verify(vk, public, proof)
    elapsed = time.perf_counter() - t0
    if verbose:
        _print_details(vk, public, proof, elapsed)
    if result.valid:
        click.echo("OK!")
        return
    click.echo(f"Invalid proof: {result.reason}")
    click.get_current_context().exit(EXIT_INVALID)


def _print_details(vk: VerifyingKey, public: list[int], proof: Proof, elapsed: float) -> None:
    from prover.plonk import verifier

    well_formed = not (
        verifier.check_proof_points(proof)
        or verifier.check_evaluations(proof)
        or verifier.check_public_signals(vk, public)
    )
    if well_formed:
        ch = verifier.compute_challenges(vk, public, proof)
        for name in ("beta", "gamma", "alpha", "xi", "u"):
            click.echo(f"{name}: {getattr(ch, name):#066x}")
        for k, v in enumerate(ch.v, start=1):
            click.echo(f"v^{k}: {v:#066x}")
    click.echo(f"verified in {elapsed:.3f} s (n = 2^{vk.power}, {vk.n_public} public signals)")


def register(plonk_group: click.Group, *_: click.Group) -> None:
    """Add ``verify`` to the ``plonk`` group."""
    plonk_group.add_command(verify_command)
