// Anchor: ffjavascript's (snarkjs's) G.batchApplyKey, the routine snarkjs's powersoftau
// (contribute, beacon) uses to write tau^i * G: out[i] = in[i] * first * inc^i, here with in[i]
// the generator, first = 1 and inc = tau, so out[i] = tau^i * G, affine LEM (Montgomery LE).
// It runs on ffjavascript's thread pool (one worker per CPU) over wasm.
// Usage: node bench/anchors/fixed_base_ffjs.mjs <G1|G2> <n> <tau decimal> <repeats> <out.bin>
// Writes the points of the last run to out.bin (n * 64 or n * 128 bytes) and prints
// {"op": "batch_apply_key", "group": ..., "n": n, "ms": [...], "threads": ...}.
import { buildBn128 } from "ffjavascript";
import { writeFileSync } from "node:fs";

const [group, nArg, tauArg, repeatsArg, outPath] = process.argv.slice(2);
const n = Number(nArg);
const repeats = Number(repeatsArg || 1);

const curve = await buildBn128();
const G = curve[group];
const size = G.F.n8 * 2;
const bases = new Uint8Array(n * size);
for (let i = 0; i < n; i++) bases.set(G.oneAffine, i * size);
const tau = curve.Fr.e(BigInt(tauArg));

const ms = [];
let out = null;
for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    out = await G.batchApplyKey(bases, curve.Fr.e(1), tau, "affine", "affine");
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
writeFileSync(outPath, out);
const threads = curve.tm.concurrency;
await curve.terminate();
console.log(JSON.stringify({ op: "batch_apply_key", group, n, ms, threads }));
