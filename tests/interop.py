"""Shared helpers for the interoperability tests: the pinned snarkjs and circom (npm, WASM build).

Everything expensive is cached under ``<repo>/.cache/tests/`` (git-ignored), keyed by its inputs,
and built under a file lock so parallel test processes do not race:

- ``snarkjs_ptau(power)``: a powers-of-tau file made by snarkjs itself, with ONE contribution of
  fixed entropy (with none, tau = 1 and a broken prover can pass interop tests), prepared for
  phase 2. Power 12 at most (snarkjs's ``prepare phase2`` is slow: larger files come from
  ``zkperp ptau new``).
- ``compile_circom(source, name)``: circom2 compiles the r1cs and the wasm in one call, with
  ``--O1`` (the r1cs and the witness generator must come from the same optimisation level).
  Sources that include circomlib get its ``circuits/`` copied beside them (circom2 only sees its
  directory tree).
- ``circom_witness(build, inputs)``: ``snarkjs wtns calculate`` on the build's wasm.
- ``snarkjs(*args)``: run the pinned snarkjs CLI; raises ``SnarkjsError`` with its output on
  failure.

Import as ``from tests.interop import ...`` (tests and benchmarks run from the repository root).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = REPO_ROOT / ".cache" / "tests"
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
MAX_SNARKJS_PTAU_POWER = 12
PTAU_ENTROPY = "zkperp fixed test entropy: never use this file for anything real"


class SnarkjsError(RuntimeError):
    """A Node tool exited non-zero; the message carries its output."""


def _tool(name: str) -> str:
    path = NODE_BIN / name
    if not path.exists():
        raise FileNotFoundError(f"node_modules/.bin/{name} is missing: run `make install`")
    return str(path)


def run_node_tool(
    name: str, *args: str | os.PathLike, cwd: str | os.PathLike | None = None, timeout: float = 900
) -> str:
    cmd = [_tool(name), *map(str, args)]
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SnarkjsError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-4000:]}")
    return out


def snarkjs(*args: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """Run ``snarkjs <args>`` (the pinned 0.7.6) and return its output."""
    return run_node_tool("snarkjs", *args, cwd=cwd)


def snarkjs_ok(*args: str | os.PathLike, cwd: str | os.PathLike | None = None) -> bool:
    """Run snarkjs and report success; for verify commands (exit 0 = valid)."""
    try:
        snarkjs(*args, cwd=cwd)
    except SnarkjsError:
        return False
    return True


@contextmanager
def _locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def snarkjs_ptau(power: int) -> Path:
    """A cached snarkjs-made ptau of ``power`` (one contribution, prepared for phase 2)."""
    if not 1 <= power <= MAX_SNARKJS_PTAU_POWER:
        raise ValueError(f"snarkjs-made test ptau files stay at power <= {MAX_SNARKJS_PTAU_POWER}")
    final = CACHE / f"snarkjs_pot{power}_final.ptau"
    with _locked(f"ptau{power}"):
        if final.is_file():
            return final
        work = CACHE / f"snarkjs_pot{power}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        snarkjs("powersoftau", "new", "bn128", str(power), work / "p0.ptau")
        snarkjs(
            "powersoftau", "contribute", work / "p0.ptau", work / "p1.ptau",
            "--name=zkperp tests", f"-e={PTAU_ENTROPY}",
        )  # fmt: skip
        snarkjs("powersoftau", "prepare", "phase2", work / "p1.ptau", work / "final.ptau")
        os.replace(work / "final.ptau", final)
        shutil.rmtree(work, ignore_errors=True)
    return final


@dataclass(frozen=True)
class CircomBuild:
    name: str
    dir: Path  # holds <name>.circom, <name>.r1cs, <name>_js/<name>.wasm
    r1cs: Path
    wasm: Path


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def compile_circom(source: str, name: str) -> CircomBuild:
    """Compile ``source`` (a circom 2 program whose main component is in it) with circom2 --O1."""
    key = _digest(source, name, "O1")
    out = CACHE / "circom" / f"{name}-{key}"
    build = CircomBuild(name, out, out / f"{name}.r1cs", out / f"{name}_js" / f"{name}.wasm")
    with _locked(f"circom-{name}-{key}"):
        if build.r1cs.is_file() and build.wasm.is_file():
            return build
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if "circomlib" in source:
            shutil.copytree(
                REPO_ROOT / "node_modules" / "circomlib" / "circuits", tmp / "circomlib"
            )
        (tmp / f"{name}.circom").write_text(source)
        run_node_tool("circom2", f"{name}.circom", "--r1cs", "--wasm", "--O1", cwd=tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    return build


def circom_witness(build: CircomBuild, inputs: dict) -> Path:
    """A .wtns for ``inputs`` computed by the circuit's own wasm (snarkjs wtns calculate)."""
    blob = json.dumps(inputs, sort_keys=True, default=str)
    path = build.dir / f"witness-{_digest(blob)}.wtns"
    with _locked(f"wtns-{build.dir.name}"):
        if path.is_file():
            return path
        inp = build.dir / f"input-{_digest(blob)}.json"
        inp.write_text(blob)
        tmp = path.with_name(path.name + ".tmp")
        snarkjs("wtns", "calculate", build.wasm, inp, tmp)
        os.replace(tmp, path)
    return path
