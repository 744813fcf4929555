"""The ``zkperp`` command line: help, version, clean errors (never a traceback), the demo's
options (the demo itself runs in tests/test_demo.py)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cli.main import _Group, zkperp


def invoke(*args: str):
    return CliRunner().invoke(zkperp, list(args), prog_name="zkperp")


def assert_clean_failure(result, code: int) -> None:
    """A non-zero exit with a message and no traceback (exit raised as SystemExit by click)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert "Error" in result.output or "error" in result.output


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    assert "Usage: zkperp" in result.output
    assert "demo" in result.output
    assert invoke("-h").output == result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("zkperp, version ")
    assert "0.1.0" in result.output or "not installed" in result.output


def test_demo_help():
    result = invoke("demo", "--help")
    assert result.exit_code == 0, result.output
    assert "--seed" in result.output and "--quick" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-option"],
        ["no-such-command"],
        ["demo", "--seed", "-1"],
        ["demo", "--seed", str(2**64)],
        ["demo", "--seed", "one"],
        ["demo", "--quick", "extra"],
        ["demo", "--log-size", "5"],  # the foundation stage's demo option, gone
        ["demo", "--bogus"],
    ],
)
def test_bad_input_is_a_usage_error_without_traceback(args):
    assert_clean_failure(invoke(*args), 2)


def test_library_value_error_becomes_clean_error(monkeypatch):
    """A ValueError from the library (bad input) is one error line and exit 1, not a traceback."""

    @click.group(cls=_Group)
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise ValueError("field element out of range")

    monkeypatch.delenv("ZKPERP_DEBUG", raising=False)
    result = CliRunner().invoke(group, ["boom"])
    assert_clean_failure(result, 1)
    assert "Error: field element out of range" in result.output

    monkeypatch.setenv("ZKPERP_DEBUG", "1")  # the escape hatch re-raises for debugging
    result = CliRunner().invoke(group, ["boom"])
    assert isinstance(result.exception, ValueError)


def test_console_script_module_entry(repo_root):
    """`python -m cli.main --version` runs in a fresh interpreter (the console script's target)."""
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "--version"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("zkperp, version ")
