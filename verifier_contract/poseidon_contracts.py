"""circomlibjs's generated Poseidon contracts (``poseidon_gencontract.js``, Jordi Baylina's EVM
assembly, LGPL-3.0+), the on-chain hash of the rollup's escape hatch (``Rollup.sol`` checks an
account's Merkle proof with them after a freeze).

The bytecode is made at build time by a small ES-module script run with ``node`` against the
project's ``node_modules/circomlibjs`` (pinned in package.json), and cached under
``<repo>/.cache/poseidon/`` keyed by the circomlibjs version. ``deploy_poseidon(chain, n)``
deploys the contract for ``n`` inputs; its ABI is circomlibjs's ``generateABI(n)``:
``poseidon(uint256[n]) returns (uint256)`` (and the same on ``bytes32[n]``).

The contracts reduce their inputs mod r (``addmod``) without checking them: a caller that keys
on the preimage must check each input < r itself (``Rollup.sol`` does).
circomlibjs 0.1.7 generates 1..6 inputs here (7 and 8 hit an assertion of its assembler, DUP17);
the 6-input contract's runtime is ~23.6 kB (EIP-170: 24,576).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from typing import Any

from verifier_contract.compile import REPO_ROOT, CompiledContract, node_modules

MIN_INPUTS = 1
MAX_INPUTS = 6  # circomlibjs 0.1.7 asserts (DUP17) from 7 inputs on

# env ZKPERP_NODE_MODULES, ZKPERP_POSEIDON_N (a JSON list of input counts); prints
# {n: "0x<creation code>"}.
_SCRIPT = r"""
import { pathToFileURL } from "node:url";
const base = process.env.ZKPERP_NODE_MODULES + "/circomlibjs/src/poseidon_gencontract.js";
const mod = await import(pathToFileURL(base).href);
const out = {};
for (const n of JSON.parse(process.env.ZKPERP_POSEIDON_N)) out[n] = mod.createCode(n);
process.stdout.write(JSON.stringify(out));
"""


class PoseidonContractError(ValueError):
    """circomlibjs or node is missing, or the input count is outside 1..6."""


def _version() -> str:
    pkg = node_modules() / "circomlibjs" / "package.json"
    if not pkg.is_file():
        raise PoseidonContractError(f"circomlibjs is not installed ({pkg} missing): make install")
    return str(json.loads(pkg.read_text())["version"])


def _generate(counts: list[int]) -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        raise PoseidonContractError("`node` is not on PATH: Node.js 20 runs circomlibjs")
    proc = subprocess.run(
        [node, "--input-type=module", "-e", _SCRIPT],
        env={
            **os.environ,
            "ZKPERP_NODE_MODULES": str(node_modules()),
            "ZKPERP_POSEIDON_N": json.dumps(counts),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise PoseidonContractError(f"poseidon_gencontract failed: {proc.stderr.strip()[-1500:]}")
    return json.loads(proc.stdout)


@functools.cache
def _all_codes() -> dict[int, bytes]:
    version = _version()
    path = REPO_ROOT / ".cache" / "poseidon" / f"circomlibjs-{version}.json"
    if path.is_file():
        raw = json.loads(path.read_text())
    else:
        raw = _generate(list(range(MIN_INPUTS, MAX_INPUTS + 1)))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(raw, sort_keys=True))
            os.replace(tmp, path)
        except OSError:
            pass
    return {int(n): bytes.fromhex(code.removeprefix("0x")) for n, code in raw.items()}


def poseidon_abi(n_inputs: int) -> tuple[dict[str, Any], ...]:
    """circomlibjs's ``generateABI(n)``, the uint256 overload only (web3 picks it by name)."""
    return (
        {
            "inputs": [
                {
                    "internalType": f"uint256[{n_inputs}]",
                    "name": "input",
                    "type": f"uint256[{n_inputs}]",
                }
            ],  # fmt: skip
            "name": "poseidon",
            "outputs": [{"internalType": "uint256", "name": "", "type": "uint256"}],
            "stateMutability": "pure",
            "type": "function",
        },
    )


def poseidon_contract(n_inputs: int) -> CompiledContract:
    """The creation code and ABI of circomlibjs's Poseidon contract for ``n_inputs`` inputs."""
    if not isinstance(n_inputs, int) or not MIN_INPUTS <= n_inputs <= MAX_INPUTS:
        raise PoseidonContractError(f"circomlibjs generates 1..6 inputs, not {n_inputs!r}")
    # deployed_bytecode is unknown until deployed (the creation code builds it): left empty
    return CompiledContract(f"PoseidonT{n_inputs + 1}", poseidon_abi(n_inputs),
                            _all_codes()[n_inputs], b"")  # fmt: skip


def deploy_poseidon(chain: Any, n_inputs: int, gas: int = 8_000_000) -> str:
    """Deploy the ``n_inputs`` Poseidon contract on ``chain`` (a ``verifier_contract.chain.Chain``)
    and return its address."""
    return chain.deploy(poseidon_contract(n_inputs), gas=gas).address
