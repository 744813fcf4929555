// Anchor: circomlibjs 0.1.7's poseidon (its wasm build, what circomlibjs users call), single
// hashes from JS, and the hashing part of a depth-32 Merkle update (32 chained Poseidon(2)),
// plus EdDSA-Poseidon sign / verify, single-threaded.
// Usage: node bench/anchors/poseidon_circomlibjs.mjs <n_hashes> <rounds> <n_paths> <n_sigs>
//   Hashes rows [i, i + 1] for i < n_hashes; a path hashes (node, sibling_i) 32 times.
// Prints {"op": "poseidon2", "n": n, "hashes_per_s": [...], "first": [h0, h1, h2] (decimal),
//         "path_updates_per_s": [...], "path_root": decimal, "sign_per_s", "verify_per_s"}.
import { buildPoseidon, buildEddsa } from "circomlibjs";

const [nArg, roundsArg, pathsArg, sigsArg] = process.argv.slice(2);
const n = Number(nArg || 20000);
const rounds = Number(roundsArg || 3);
const nPaths = Number(pathsArg || 200);
const nSigs = Number(sigsArg || 50);

const poseidon = await buildPoseidon();
const F = poseidon.F;
const rows = [];
for (let i = 0; i < n; i++) rows.push([BigInt(i), BigInt(i + 1)]);

const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

const hashesPerS = [];
let first = null;
for (let r = 0; r < rounds; r++) {
    const out = new Array(3);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
        const h = poseidon(rows[i]);
        if (i < 3) out[i] = h;
    }
    hashesPerS.push(n / secs(t0));
    first = out.map((h) => F.toString(h));
}

// A depth-32 path: node_{k+1} = H(node_k, sib_k) (index 0: every node a left child).
const sibs = [];
for (let k = 0; k < 32; k++) sibs.push(F.e(BigInt(k + 1000)));
const pathPerS = [];
let root = null;
for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < nPaths; j++) {
        let cur = F.e(BigInt(j));
        for (let k = 0; k < 32; k++) cur = poseidon([cur, sibs[k]]);
        if (j === 0) root = F.toString(cur);
    }
    pathPerS.push(nPaths / secs(t0));
}

const eddsa = await buildEddsa();
const prv = Buffer.alloc(32, 7);
const pub = eddsa.prv2pub(prv);
let t0 = process.hrtime.bigint();
const sigs = [];
for (let j = 0; j < nSigs; j++) sigs.push(eddsa.signPoseidon(prv, F.e(BigInt(j))));
const signPerS = nSigs / secs(t0);
t0 = process.hrtime.bigint();
for (let j = 0; j < nSigs; j++) {
    if (!eddsa.verifyPoseidon(F.e(BigInt(j)), sigs[j], pub)) throw new Error("verify failed");
}
const verifyPerS = nSigs / secs(t0);

console.log(
    JSON.stringify({
        op: "poseidon2",
        n,
        hashes_per_s: hashesPerS,
        first,
        path_updates_per_s: pathPerS,
        path_root: root,
        sign_per_s: signPerS,
        verify_per_s: verifyPerS,
    }),
);
process.exit(0);
