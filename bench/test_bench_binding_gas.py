"""Gas of the ways to bind a batch's pubdata to its proof (issue E: "choose the binding by
measuring gas against prover cost"), on the embedded EVM (py-evm, Cancun rules), every contract
compiled by the pinned solc (``verifier_contract.compile``).

(a) pubdata packed into public inputs, 31 bytes per field element: our PLONK verifier
    (``verifier_contract.render``) for N = 2, 8, 32, 64 and 128 public signals, plus the rollup
    side's cost of rebuilding the N words from the pubdata bytes (``packWords``).
(b) one public input = a Poseidon hash chain over the records, ``h = Poseidon(h, c0..c4)`` over
    80-byte slots of five 16-byte chunks (``circuits.state_transition``): circomlibjs's
    generated Poseidon contract (``bench/anchors/poseidon_contract.mjs``) for 2 and 6 inputs,
    called directly and through a Solidity loop over the slots (``poseidonChain``).
(b') keccak256 / sha256 over the same bytes on chain, for comparison only: either would have to
    be recomputed in the circuit, which is far too expensive (not built here).

Reported: execution gas (``gasUsed`` minus the 21,000 base and the calldata gas). The pubdata
itself is calldata in every option (the contract rebuilds whatever it binds from it), so its
calldata gas is the same for all and left out of the comparison. Gas is deterministic. Run:
``pytest bench/test_bench_binding_gas.py -s``; the table is printed and written to
``bench/out/binding_gas.json``.
"""

from __future__ import annotations

import json
import random

import pytest

from bench.anchor import node_available, run_anchor
from circuits.builder import CircuitBuilder
from circuits.gadgets.poseidon import poseidon as native_poseidon
from prover import params
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from verifier_contract.chain import Chain, deploy_verifier
from verifier_contract.compile import CompiledContract, compile_contract

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(not node_available(), reason="needs node and node_modules"),
]

R = params.R_ORDER
N_PUBLIC = (2, 8, 32, 64, 128)
POSEIDON_WIDTHS = (2, 6)
SLOT_BYTES = 80  # five 16-byte chunks: one Poseidon(6) of the chain per slot
SLOT_COUNTS = (1, 4, 16)
WORD_BYTES = 31  # pubdata bytes per public input in option (a)
TRADE_BYTES = 48  # a trade record (rollup.pubdata: three 16-byte chunks)
HARNESS_GAS = 30_000_000

HARNESS = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IPoseidon6 {
    function poseidon(uint256[6] memory input) external pure returns (uint256);
}

/// What a rollup contract would run to bind the pubdata (calldata) to the proof.
contract BindingGas {
    IPoseidon6 public immutable hasher;

    constructor(IPoseidon6 h) {
        hasher = h;
    }

    /// The same calldata, no work: subtracted from the others.
    function baseline(bytes calldata pubdata) external returns (uint256) {
        return pubdata.length;
    }

    /// (b) h = Poseidon(h, c0..c4) over 80-byte slots, c_j = 16-byte big-endian chunks.
    function poseidonChain(bytes calldata pubdata) external returns (uint256 h) {
        require(pubdata.length % 80 == 0, "slots");
        uint256[6] memory inp;
        for (uint256 pos = 0; pos < pubdata.length; pos += 80) {
            inp[0] = h;
            for (uint256 j = 0; j < 5; j++) {
                inp[j + 1] = uint128(bytes16(pubdata[pos + 16 * j:pos + 16 * j + 16]));
            }
            h = hasher.poseidon(inp);
        }
    }

    /// (b') for comparison
    function keccakOf(bytes calldata pubdata) external returns (bytes32) {
        return keccak256(pubdata);
    }

    function sha256Of(bytes calldata pubdata) external returns (bytes32) {
        return sha256(pubdata);
    }

    /// (a) the public inputs rebuilt from the pubdata: 31-byte big-endian words (the length is
    /// a multiple of 31 here), laid out in memory as the verifier's calldata would be and
    /// returned as a uint256[] (what a rollup contract passes to the verifier).
    function packWords(bytes calldata pubdata) external returns (uint256[] memory) {
        require(pubdata.length % 31 == 0, "words");
        assembly {
            let n := div(pubdata.length, 31)
            let ptr := mload(0x40)
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), n)
            let dst := add(ptr, 0x40)
            let src := pubdata.offset
            for { let end := add(dst, shl(5, n)) } lt(dst, end) { dst := add(dst, 0x20) } {
                mstore(dst, shr(8, calldataload(src)))
                src := add(src, 31)
            }
            return(ptr, add(0x40, shl(5, n)))
        }
    }
}
"""


def _poseidon_contracts() -> dict[int, CompiledContract]:
    report = run_anchor("poseidon_contract.mjs", *POSEIDON_WIDTHS, timeout=120)
    out = {}
    for n in POSEIDON_WIDTHS:
        c = report["contracts"][str(n)]
        code = bytes.fromhex(c["bytecode"].removeprefix("0x"))
        out[n] = CompiledContract(f"Poseidon{n}", tuple(c["abi"]), code, b"")
    return out


def _proven(n_public: int):
    """A small circuit with ``n_public`` public signals, its key (known tau) and one proof."""
    b = CircuitBuilder()
    xs = [b.public_input(f"x{i}") for i in range(n_public)]
    acc = b.private_input("s")
    for i in range(max(6, n_public)):
        acc = b.mul(acc, acc + xs[i % n_public])
    circuit = b.compile()
    values = {f"x{i}": (0xB1D << 200) + 7 * i for i in range(n_public)}  # 31-byte-sized words
    witness = circuit.witness({**values, "s": 3})
    pk = setup(circuit.cs, KnownTauPowers(10, 0xB1D6A5 + n_public))
    proof, public = prove(pk, witness, rng=random.Random(n_public))
    assert verify(pk.vk, public, proof).valid
    return pk, proof, public


def _slope(points: dict[int, int]) -> float:
    lo, hi = min(points), max(points)
    return (points[hi] - points[lo]) / (hi - lo)


def test_binding_gas_table(bench_out):
    rng = random.Random(0xB1D)
    chain = Chain.embedded()

    # --- the Poseidon contracts, called directly -------------------------------------------
    hashers = {n: chain.deploy(c) for n, c in _poseidon_contracts().items()}
    poseidon_direct = {}
    for n, dep in hashers.items():
        fn = dep.contract.get_function_by_signature(f"poseidon(uint256[{n}])")
        xs = [rng.randrange(1 << 128) for _ in range(n)]
        assert chain.call(fn(xs), 5_000_000) == native_poseidon(xs)  # circomlibjs == ours
        tx = chain.transact(fn(xs), 5_000_000)
        poseidon_direct[n] = {
            "deploy_gas": dep.gas_used,
            "call_tx_gas": tx.gas_used,
            "call_execution_gas": tx.execution_gas,
        }

    # --- the rollup-side harness: chain, keccak, sha256, packing ----------------------------
    harness = chain.deploy(compile_contract(HARNESS, "BindingGas"), hashers[6].address)
    fns = harness.contract.functions

    def execution(name: str, data: bytes) -> int:
        tx = chain.transact(getattr(fns, name)(data), HARNESS_GAS)
        return tx.execution_gas - chain.transact(fns.baseline(data), HARNESS_GAS).execution_gas

    per_slots: dict[str, dict[int, int]] = {"poseidonChain": {}, "keccakOf": {}, "sha256Of": {}}
    for k in SLOT_COUNTS:
        data = rng.randbytes(SLOT_BYTES * k)
        h = 0
        for s in range(k):
            chunk = data[SLOT_BYTES * s : SLOT_BYTES * (s + 1)]
            h = native_poseidon(
                [h, *(int.from_bytes(chunk[16 * j : 16 * j + 16]) for j in range(5))]
            )
        assert chain.call(fns.poseidonChain(data), HARNESS_GAS) == h
        for name in per_slots:
            per_slots[name][k] = execution(name, data)
    per_slot = {name: _slope(pts) for name, pts in per_slots.items()}

    pack: dict[int, int] = {}
    for n in N_PUBLIC:
        data = rng.randbytes(WORD_BYTES * n)
        words = chain.call(fns.packWords(data), HARNESS_GAS)
        assert words == [int.from_bytes(data[31 * i : 31 * i + 31]) for i in range(n)]
        pack[n] = execution("packWords", data)
    pack_per_word = _slope(pack)

    # --- option (a): the verifier with N public inputs --------------------------------------
    verifier_rows = []
    for n in N_PUBLIC:
        pk, proof, public = _proven(n)
        contract = deploy_verifier(chain, pk.vk)
        assert contract.verify(proof, public) is True
        tx = contract.verify_transaction(proof, public)
        verifier_rows.append(
            {
                "n_public": n,
                "power": pk.power,
                "runtime_bytes": contract.deployment.compiled.size,
                "verify_tx_gas": tx.gas_used,
                "verify_execution_gas": tx.execution_gas,
                "pack_execution_gas": pack[n],
            }
        )
    verify_per_input = _slope({r["n_public"]: r["verify_execution_gas"] for r in verifier_rows})
    per_word_a = verify_per_input + pack_per_word

    # --- per trade (48-byte record) ---------------------------------------------------------
    per_trade = {
        "a_dense_31B_words": TRADE_BYTES / WORD_BYTES * per_word_a,
        "a_two_inputs_per_record": 2 * per_word_a,
        "b_poseidon6_chain_per_slot": per_slot["poseidonChain"],
        "b_prime_keccak_48B": per_slot["keccakOf"] * TRADE_BYTES / SLOT_BYTES,
        "b_prime_sha256_48B": per_slot["sha256Of"] * TRADE_BYTES / SLOT_BYTES,
    }

    lines = ["| Poseidon contract | deploy gas | call tx gas | call execution gas |"]
    lines.append("| --- | --- | --- | --- |")
    for n, d in poseidon_direct.items():
        lines.append(
            f"| Poseidon({n}) | {d['deploy_gas']:,} | {d['call_tx_gas']:,} | "
            f"{d['call_execution_gas']:,} |"
        )
    lines += [
        "",
        "| slots (80 B) | Poseidon(6) chain | keccak256 | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    for k in SLOT_COUNTS:
        lines.append(
            f"| {k} | {per_slots['poseidonChain'][k]:,} | {per_slots['keccakOf'][k]:,} | "
            f"{per_slots['sha256Of'][k]:,} |"
        )
    lines.append(
        f"| per slot | {per_slot['poseidonChain']:,.0f} | {per_slot['keccakOf']:,.1f} | "
        f"{per_slot['sha256Of']:,.1f} |"
    )
    lines += [
        "",
        "| public inputs | domain | verify tx gas | verify execution gas | pack execution gas "
        "| runtime bytes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in verifier_rows:
        lines.append(
            f"| {r['n_public']} | 2^{r['power']} | {r['verify_tx_gas']:,} | "
            f"{r['verify_execution_gas']:,} | {r['pack_execution_gas']:,} | "
            f"{r['runtime_bytes']:,} |"
        )
    lines.append(
        f"per public input: verify {verify_per_input:.1f} + pack {pack_per_word:.1f} = "
        f"{per_word_a:.1f} execution gas per 31 bytes"
    )
    lines += ["", "| per 48-byte trade | execution gas |", "| --- | --- |"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in per_trade.items()]
    print("\n" + "\n".join(lines))
    (bench_out / "binding_gas.json").write_text(
        json.dumps(
            {
                "poseidon_direct": poseidon_direct,
                "per_slots_execution_gas": per_slots,
                "per_slot_execution_gas": per_slot,
                "verifier": verifier_rows,
                "verify_per_public_input": verify_per_input,
                "pack_per_word": pack_per_word,
                "per_trade_execution_gas": per_trade,
            },
            indent=2,
        )
        + "\n"
    )
    # Sanity: the Poseidon chain costs more per trade than packing, on chain.
    assert per_trade["b_poseidon6_chain_per_slot"] > per_trade["a_two_inputs_per_record"]
