"""Compile Solidity offline with the npm ``solc`` pinned in package.json (0.8.28, the
Emscripten build: no network, no native binary), through its standard-JSON interface.

One set of compiler settings for every contract of the project (``SETTINGS``): ``evmVersion``
pinned to ``cancun`` so the same bytecode runs on py-evm (eth-tester) and on a hardhat 2 node,
the optimizer on with ``OPTIMIZER_RUNS`` runs (tuned for runtime gas), no metadata hash
appended (so the bytecode depends only on the source and the settings). The compiled runtime
code must fit EIP-170 (24,576 bytes) and the creation code EIP-3860 (49,152 bytes):
``ContractTooLargeError`` otherwise, since such a contract cannot be deployed on Ethereum.

``compile_sources`` runs ``node`` once per distinct input and caches the standard-JSON output
under ``<repo>/.cache/solc/`` (``ZKPERP_SOLC_CACHE`` overrides the folder), keyed by the SHA-256
of the input and the compiler version, and in memory for the process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
# Optimise for runtime gas: a verifier runs once per batch for the life of the rollup and is
# deployed once. Below ~20,000 runs solc's constant optimizer re-derives the 256-bit moduli at
# some of their uses instead of pushing them (PUSH32): 10,000 gas more for a 32-signal verifier.
OPTIMIZER_RUNS = 1_000_000
EIP170_MAX_RUNTIME = 24_576
EIP3860_MAX_INITCODE = 49_152

SETTINGS: dict[str, Any] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}

REPO_ROOT = Path(__file__).resolve().parent.parent

# Reads the standard-JSON input on stdin, compiles with the solc module at argv[1], prints
# {"version": ..., "output": <standard-JSON output>}.
_NODE_SCRIPT = r"""
const solc = require(process.argv[1]);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
    const output = JSON.parse(solc.compile(input));
    process.stdout.write(JSON.stringify({ version: solc.version(), output: output }));
});
"""


class SolcError(ValueError):
    """solc is missing, is not the pinned version, or reported compilation errors."""


class ContractTooLargeError(SolcError):
    """The compiled contract exceeds EIP-170 (runtime code) or EIP-3860 (creation code)."""


@dataclass(frozen=True)
class CompiledContract:
    """One contract of a compilation: its ABI and code (creation and runtime)."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes  # creation code (what a deployment transaction carries)
    deployed_bytecode: bytes  # runtime code (what EIP-170 limits)
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Runtime code size in bytes."""
        return len(self.deployed_bytecode)


def node_modules() -> Path:
    """The project's node_modules (``ZKPERP_NODE_MODULES`` overrides it)."""
    return Path(os.environ.get("ZKPERP_NODE_MODULES", REPO_ROOT / "node_modules"))


def _cache_dir() -> Path:
    return Path(os.environ.get("ZKPERP_SOLC_CACHE", REPO_ROOT / ".cache" / "solc"))


def _solc_module() -> Path:
    module = node_modules() / "solc"
    if not (module / "package.json").is_file():
        raise SolcError(f"the npm solc is not installed ({module} is missing): run `make install`")
    pinned = json.loads((module / "package.json").read_text()).get("version")
    if pinned != SOLC_VERSION:
        raise SolcError(f"node_modules has solc {pinned}, the project pins {SOLC_VERSION}")
    return module


def _run_solc(standard_input: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise SolcError("`node` is not on PATH: Node.js 20 is needed to run the npm solc")
    module = _solc_module()
    proc = subprocess.run(
        [node, "-e", _NODE_SCRIPT, str(module)],
        input=standard_input,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise SolcError(f"solc (node) exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout)
    if not str(result["version"]).startswith(SOLC_VERSION + "+"):
        raise SolcError(f"solc reports version {result['version']}, expected {SOLC_VERSION}")
    return result["output"]


@functools.lru_cache(maxsize=64)
def _compile_cached(standard_input: str) -> str:
    key = hashlib.sha256(f"solc {SOLC_VERSION}\0{standard_input}".encode()).hexdigest()
    path = _cache_dir() / f"{key}.json"
    if path.is_file():
        return path.read_text()
    text = json.dumps(_run_solc(standard_input), sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:  # a read-only checkout still compiles, without the disk cache
        pass
    return text


def standard_input(sources: Mapping[str, str], settings: Mapping[str, Any] | None = None) -> str:
    """The standard-JSON input for ``sources`` (file name -> source text) with ``SETTINGS``."""
    body = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": dict(SETTINGS if settings is None else settings),
    }
    return json.dumps(body, sort_keys=True)


def compile_sources(
    sources: Mapping[str, str], settings: Mapping[str, Any] | None = None
) -> dict[str, CompiledContract]:
    """Compile ``sources`` (file name -> Solidity text); every contract by its name.

    Raises ``SolcError`` with solc's messages on a compilation error, and
    ``ContractTooLargeError`` if a contract with code is over EIP-170 / EIP-3860.
    """
    output = json.loads(_compile_cached(standard_input(sources, settings)))
    messages = output.get("errors", [])
    errors = [m["formattedMessage"] for m in messages if m.get("severity") == "error"]
    if errors:
        raise SolcError("solc failed:\n" + "\n".join(errors))
    warnings = tuple(m["formattedMessage"] for m in messages if m.get("severity") != "error")
    out: dict[str, CompiledContract] = {}
    for file_name, contracts in output.get("contracts", {}).items():
        for name, data in contracts.items():
            if name in out:
                raise SolcError(f"two contracts are named {name} (second one in {file_name})")
            contract = CompiledContract(
                name=name,
                abi=tuple(data["abi"]),
                bytecode=bytes.fromhex(data["evm"]["bytecode"]["object"]),
                deployed_bytecode=bytes.fromhex(data["evm"]["deployedBytecode"]["object"]),
                warnings=warnings,
            )
            check_size(contract)
            out[name] = contract
    return out


def compile_contract(source: str, name: str, file_name: str | None = None) -> CompiledContract:
    """Compile one source file and return the contract called ``name``."""
    contracts = compile_sources({file_name or f"{name}.sol": source})
    if name not in contracts:
        raise SolcError(f"no contract {name} in the source (found: {', '.join(contracts)})")
    return contracts[name]


def check_size(contract: CompiledContract) -> None:
    """Raise ``ContractTooLargeError`` unless the contract fits EIP-170 and EIP-3860."""
    if contract.size > EIP170_MAX_RUNTIME:
        raise ContractTooLargeError(
            f"{contract.name}: runtime code is {contract.size} bytes, over the EIP-170 limit "
            f"of {EIP170_MAX_RUNTIME}"
        )
    if len(contract.bytecode) > EIP3860_MAX_INITCODE:
        raise ContractTooLargeError(
            f"{contract.name}: creation code is {len(contract.bytecode)} bytes, over the "
            f"EIP-3860 limit of {EIP3860_MAX_INITCODE}"
        )
