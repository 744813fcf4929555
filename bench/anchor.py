"""Run an anchor (a Node script using ffjavascript / snarkjs) and read its JSON report.

Anchor scripts live in bench/anchors/*.mjs, take their parameters as command-line arguments,
and print exactly one JSON object on their last stdout line, e.g.
``{"op": "msm", "n": 65536, "ms": [812.1, 790.3]}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHORS = Path(__file__).resolve().parent / "anchors"


def node_available() -> bool:
    return shutil.which("node") is not None and (REPO / "node_modules" / "ffjavascript").is_dir()


def run_anchor(script: str, *args: object, timeout: float = 1800) -> dict:
    """Run ``node bench/anchors/<script> args...`` in the repository root; return its JSON."""
    proc = subprocess.run(
        ["node", str(ANCHORS / script), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"anchor {script} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
