"""Shared test set-up: the Numba cache location, golden vectors, the repository root, Node tools.

- ``NUMBA_CACHE_DIR`` defaults to ``<repo>/.numba_cache`` (set here, before anything imports numba).
- Golden vectors live in ``tests/vectors/`` and are rewritten only on purpose, with
  ``pytest --regen-golden``; the ``golden`` fixture compares against them (and read the diff).
- Tests that run the pinned Node tools (snarkjs, solc, circomlibjs, ffjavascript) take the
  ``node_tools`` fixture or carry ``@pytest.mark.node``: outside CI they are skipped when the tools
  are not installed; in CI (``CI`` set) a missing tool is a failure, never a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VECTORS = REPO_ROOT / "tests" / "vectors"

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".numba_cache"))

import pytest  # noqa: E402  (after NUMBA_CACHE_DIR on purpose)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite the golden vectors in tests/vectors/ instead of comparing against them",
    )


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture
def golden(regen_golden: bool):
    """``golden(name, data)``: compare ``data`` (bytes or str) with ``tests/vectors/<name>``.

    With ``--regen-golden`` the file is (re)written instead. A missing file is a failure that
    says how to create it, so a golden test never passes vacuously.
    """

    def check(name: str, data: bytes | str) -> None:
        path = VECTORS / name
        blob = data.encode() if isinstance(data, str) else bytes(data)
        if regen_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
            return
        if not path.is_file():
            pytest.fail(
                f"golden vector {path.relative_to(REPO_ROOT)} is missing: "
                "create it with `pytest --regen-golden` and review the diff"
            )
        assert path.read_bytes() == blob, (
            f"output differs from golden vector {path.relative_to(REPO_ROOT)} "
            "(if the change is intended: `pytest --regen-golden`, then read the diff)"
        )

    return check


# --- Node tools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeTools:
    """The pinned Node tools of package.json, installed by ``make install`` (``npm ci``)."""

    node: str  # path of the node executable
    root: Path  # the repository root (run node scripts from here so imports resolve)
    modules: Path  # <repo>/node_modules

    def bin(self, name: str) -> Path:
        """Path of an executable installed by npm, e.g. ``bin("snarkjs")``."""
        path = self.modules / ".bin" / name
        if not path.exists():
            raise FileNotFoundError(f"node_modules/.bin/{name} is missing: run `make install`")
        return path


def _missing_node_tools() -> str | None:
    """Why the Node tools cannot be used, or None when they can."""
    if shutil.which("node") is None:
        return "`node` is not on PATH (Node.js 20 is needed)"
    modules = REPO_ROOT / "node_modules"
    if not modules.is_dir():
        return "node_modules/ is missing: run `make install`"
    pins = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]
    absent = [name for name in pins if not (modules / name / "package.json").is_file()]
    if absent:
        return f"node_modules lacks {', '.join(absent)}: run `make install`"
    return None


def require_node_tools() -> NodeTools:
    """Skip (outside CI) or fail (in CI) unless every pinned Node tool is installed."""
    reason = _missing_node_tools()
    if reason is not None:
        if in_ci():
            pytest.fail(f"Node tools required in CI: {reason}", pytrace=False)
        pytest.skip(f"Node tools not installed: {reason}")
    return NodeTools(
        node=shutil.which("node") or "node", root=REPO_ROOT, modules=REPO_ROOT / "node_modules"
    )


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    return require_node_tools()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("node") is not None:
        require_node_tools()
