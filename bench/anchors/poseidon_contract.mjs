// Anchor: circomlibjs 0.1.7's generated Poseidon contract (poseidon_gencontract.js), the EVM
// hasher a rollup contract deploys to recompute Poseidon on chain (e.g. a pubdata hash chain).
// Usage: node bench/anchors/poseidon_contract.mjs <nInputs> [<nInputs> ...]
// Prints {"op": "poseidon_contract", "contracts": {"<n>": {"bytecode": "0x..", "abi": [...]}}}:
// the creation code of `poseidonContract.createCode(n)` and `poseidonContract.generateABI(n)`.
import { poseidonContract } from "circomlibjs";

const widths = process.argv.slice(2).map(Number);
if (widths.length === 0 || widths.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
    console.error("usage: poseidon_contract.mjs <nInputs 1..8> ...");
    process.exit(2);
}
const contracts = {};
for (const n of widths) {
    contracts[String(n)] = {
        bytecode: poseidonContract.createCode(n),
        abi: poseidonContract.generateABI(n),
    };
}
console.log(JSON.stringify({ op: "poseidon_contract", contracts }));
