"""The ``zkperp`` command line (click): each command is a thin call into the library.

Errors reach the user as one clear line and a non-zero exit status, never as a traceback: bad
options are click usage errors (exit 2); a ``ValueError`` or ``OSError`` raised by the library for
bad input becomes ``Error: ...`` (exit 1). Set ``ZKPERP_DEBUG=1`` to see the traceback instead.

Commands:
- ``demo``: the foundation stage's end-to-end check. It makes a development KZG setup
  (SRS = [tau^i]G1, Kate-Zaverucha-Goldberg 2010) with the fixed-base G1 kernel, commits to a
  random polynomial with the MSM, and checks the commitment against p(tau)G computed
  independently (Python ints and py_ecc).
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import click

_MISSING_PARTS = "prover.curve"  # modules still being written at the foundation stage


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

    Foundation stage: the BN254 arithmetic engine. `zkperp demo` exercises it end to end.
    """


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _import_curve_kernels() -> tuple[Callable, Callable]:
    """The fixed-base and MSM kernels, or a clear error if they are not there yet."""
    try:
        from prover.curve.fixed_base_g1 import fixed_base_g1
        from prover.curve.msm import msm_g1
    except ImportError as exc:
        name = getattr(exc, "name", None) or str(exc)
        if name.startswith(_MISSING_PARTS):
            raise click.ClickException(
                f"the demo needs {name}, which is not built yet (the G1 fixed-base and MSM "
                "kernels of the foundation issue are in progress)"
            ) from exc
        raise click.ClickException(
            f"cannot import {name}: is zkperp installed? run `make install` ({exc})"
        ) from exc
    return fixed_base_g1, msm_g1


def _g1_ints(point: Any) -> tuple[int, int] | None:
    """An affine G1 point -> (x, y) ints, or None for infinity. Accepts a canonical int pair
    (``prover.curve.ref``'s convention; None or (0, 0) for infinity) or a (2, 4) Montgomery Fq
    array (all zeros for infinity), the layout of the fixed-base kernel's output rows."""
    import numpy as np

    from prover.field import convert
    from prover.field.kernels import FQ_M

    if point is None:
        return None
    if isinstance(point, tuple) and all(isinstance(c, int) for c in point):
        return None if point == (0, 0) else (point[0], point[1])
    arr = np.ascontiguousarray(np.asarray(point, dtype=np.uint64).reshape(2, 4))
    if not arr.any():
        return None
    x, y = convert.from_mont(FQ_M, arr)
    return (x, y)


def _py_ecc_affine(pt: Any) -> tuple[int, int] | None:
    from py_ecc.optimized_bn128 import is_inf, normalize

    if is_inf(pt):
        return None
    x, y = normalize(pt)
    return (int(x), int(y))


def _fmt_point(p: tuple[int, int] | None, sep: str = ", ") -> str:
    return "infinity" if p is None else f"(0x{p[0]:064x}{sep}0x{p[1]:064x})"


@zkperp.command()
@click.option(
    "-k",
    "--log-size",
    "k",
    type=click.IntRange(1, 22),
    default=12,
    show_default=True,
    help="SRS size 2^k (the number of powers of tau, and of polynomial coefficients).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=None,
    help="Seed for tau and the polynomial (default: fresh randomness; printed for reruns).",
)
@click.option(
    "--check-size",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="How many SRS points (and MSM terms) to check one by one against py_ecc.",
)
def demo(k: int, seed: int | None, check_size: int) -> None:
    """Development KZG setup and commitment of a random polynomial, checked and timed.

    Makes SRS = [tau^i]G1 for i < 2^k with the fixed-base kernel, commits to a random polynomial
    p of degree < 2^k with the MSM, and checks C = p(tau)G1 with Python ints and py_ecc. tau is
    known here: this SRS is for development only, never for real proofs.
    """
    fixed_base_g1, msm_g1 = _import_curve_kernels()

    import numba
    from py_ecc.optimized_bn128 import G1, Z1, add, multiply

    from prover import params
    from prover.field import convert
    from prover.field.kernels import FR_M

    r = params.R_ORDER
    n = 1 << k
    seed = secrets.randbits(64) if seed is None else seed
    rng = random.Random(seed)

    def row(label: str, seconds: float, status: str = "") -> None:
        click.echo(f"  {label:<50}{seconds:9.3f} s  {status}".rstrip())

    click.echo(f"zkperp {_version()} demo: a KZG commitment with a development SRS")
    click.echo("  (tau comes from the seed: for development only, never for real proofs)")
    click.echo(
        f"  BN254, n = 2^{k} = {n}, seed {seed}, numba {numba.__version__} "
        f"with {numba.config.NUMBA_NUM_THREADS} threads"
    )

    # JIT warm-up, timed apart: compilation on a cold cache, loading from .numba_cache otherwise.
    def warm_up() -> None:
        tiny_m = FR_M.powers(2, 4)
        msm_g1(fixed_base_g1(params.G1_GENERATOR, tiny_m), tiny_m)

    _, t_jit = _timed(warm_up)
    row("JIT warm-up (compile, or load the Numba cache)", t_jit)

    tau = rng.randrange(1, r)
    powers_m, t_pow = _timed(lambda: FR_M.powers(tau, n))
    row("powers tau^i for i < n (Fr kernel)", t_pow)
    srs_m, t_srs = _timed(lambda: fixed_base_g1(params.G1_GENERATOR, powers_m))
    row("SRS [tau^i]G1 (fixed-base G1 kernel)", t_srs)

    coeffs = [rng.randrange(r) for _ in range(n)]
    coeffs_m = convert.to_mont(FR_M, coeffs)
    commit_raw, t_msm = _timed(lambda: msm_g1(srs_m, coeffs_m))
    row("commit C = sum p_i [tau^i]G1 (MSM)", t_msm)

    # Check 1, the KZG identity at full size: C = p(tau) G1, p(tau) by Horner on Python ints.
    def p_at_tau() -> int:
        acc = 0
        for c in reversed(coeffs):
            acc = (acc * tau + c) % r
        return acc

    commit = _g1_ints(commit_raw)
    expected, t_check = _timed(lambda: _py_ecc_affine(multiply(G1, p_at_tau())))
    if commit != expected:
        raise click.ClickException(
            f"commitment mismatch: the MSM gave {_fmt_point(commit)}, "
            f"but p(tau)G1 is {_fmt_point(expected)}"
        )
    row("check C == p(tau)G1 (Python ints + py_ecc)", t_check, "OK")

    # Check 2, small case term by term: the first SRS points and an MSM over them vs py_ecc.
    m = min(check_size, n)

    def check_small() -> None:
        for i in range(m):
            if _g1_ints(srs_m[i]) != _py_ecc_affine(multiply(G1, pow(tau, i, r))):
                raise click.ClickException(f"SRS point {i} differs from [tau^{i}]G1 (py_ecc)")
        small = _g1_ints(msm_g1(srs_m[:m].copy(), convert.to_mont(FR_M, coeffs[:m])))
        naive = Z1
        for i in range(m):
            naive = add(naive, multiply(G1, coeffs[i] * pow(tau, i, r) % r))
        if small != _py_ecc_affine(naive):
            raise click.ClickException(f"the {m}-term MSM differs from the naive py_ecc sum")

    _, t_small = _timed(check_small)
    row(f"check {m} SRS points and a {m}-term MSM (py_ecc)", t_small, "OK")
    two_lines = ",\n" + " " * len("  commitment C = (")
    click.echo(f"  commitment C = {_fmt_point(commit, sep=two_lines)}")


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
    """The exchange's sequencer: create a database, submit signed requests, cut batches."""


@zkperp.group(cls=_Group)
def batch() -> None:
    """Batches: show one (prove / verify come with the state-transition circuit)."""


def _register_commands() -> None:
    from cli import (
        circuit_cmds,
        contract_cmds,
        prove_cmd,
        ptau_cmds,
        sequencer_cmds,
        setup_cmds,
        verify_cmd,
    )

    ptau_cmds.register(ptau)
    setup_cmds.register(plonk, zkey, zkey_export)
    prove_cmd.register(plonk)
    verify_cmd.register(plonk)
    circuit_cmds.register(circuit)
    contract_cmds.register(plonk, zkey_export)
    sequencer_cmds.register(sequencer, batch)


_register_commands()


def main() -> None:
    """Console-script entry point (``zkperp`` in pyproject.toml)."""
    zkperp(prog_name="zkperp")


if __name__ == "__main__":
    main()
