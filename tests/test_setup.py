"""The two-command set-up: what `make install` provides is really there, and CI runs the tests."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "module",
    ["numpy", "numba", "py_ecc", "galois", "web3", "eth_tester", "eth", "click", "hypothesis"],
)
def test_python_dependencies_import(module):
    importlib.import_module(module)


def test_keccak_backend():
    """eth-hash's Keccak-256 (pycryptodome backend): the Fiat-Shamir transcript depends on it."""
    from eth_hash.auto import keccak

    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_numba_cache_inside_checkout(repo_root):
    """Set by tests/conftest.py (or the Makefile) to <repo>/.numba_cache, unless the user chose."""
    import numba

    assert numba.config.CACHE_DIR == os.environ["NUMBA_CACHE_DIR"]
    if os.environ.get("CI"):
        assert (
            Path(os.environ["NUMBA_CACHE_DIR"]).resolve() == (repo_root / ".numba_cache").resolve()
        )


def test_makefile_targets(repo_root):
    text = (repo_root / "Makefile").read_text()
    for target in ("install", "test", "bench", "demo", "lint", "format", "clean"):
        assert re.search(rf"^{target}:", text, re.MULTILINE), target
    assert "npm ci" in text and "pip install" in text


def test_ci_entry_runs_make_test(repo_root):
    ci = repo_root / ".ci" / "run"
    text = ci.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text and "make test" in text
    proc = subprocess.run(["bash", "-n", str(ci)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_readme_quick_start(repo_root):
    text = (repo_root / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_generated_paths_are_ignored(repo_root):
    """What the tools generate is ignored by git (asked of git itself, not of the file's text)."""
    if not (repo_root / ".git").exists():
        pytest.skip("not a git checkout")
    generated = [
        ".venv/bin/python",
        "node_modules/snarkjs/package.json",
        ".numba_cache/x.nbi",
        ".numba_cache_other/x.nbi",
        ".cache/tests/snarkjs_pot8_final.ptau",
        "bench/out/latest.json",
        "circuit.zkey",
        "pot12.ptau",
        "witness.wtns",
    ]
    for path in generated:
        proc = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", path], cwd=repo_root, check=False
        )
        assert proc.returncode == 0, f"{path} is not ignored by .gitignore"


@pytest.mark.node
def test_node_tools_match_their_pins(node_tools):
    """Every package.json pin is installed at exactly its version (npm ci from the lock file)."""
    pins = json.loads((node_tools.root / "package.json").read_text())["dependencies"]
    for name, version in pins.items():
        installed = json.loads((node_tools.modules / name / "package.json").read_text())["version"]
        assert installed == version, f"{name}: installed {installed}, pinned {version}"
    assert node_tools.bin("snarkjs").exists()
    out = subprocess.run(
        [node_tools.node, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert int(out.strip().lstrip("v").split(".")[0]) >= 18, out
