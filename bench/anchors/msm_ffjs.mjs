// Anchor: ffjavascript's (snarkjs's) G1 multi-exponentiation, `curve.G1.multiExpAffine`, with its
// worker-thread pool (one WebAssembly worker per CPU core, as snarkjs runs it when proving).
// Usage: node bench/anchors/msm_ffjs.mjs <bases.bin> <scalars.bin> <repeats>
//   bases.bin: n affine G1 points, 64 bytes each: x || y, 32-byte little-endian Montgomery words
//     (ffjavascript's "LEM" layout, as in .zkey/.ptau sections; infinity all zeros).
//   scalars.bin: n scalars, 32-byte little-endian words in normal (non-Montgomery) form
//     (multiExpAffine reads scalars of byteLength / n bytes each).
// Prints {"op": "g1_msm", "n": n, "threads": t, "warmup_ms": w, "ms": [...], "x": "...", "y": "..."}
// with the result in affine canonical decimal ("0", "0" for infinity).
import { buildBn128 } from "ffjavascript";
import { readFileSync } from "node:fs";

const [basesPath, scalarsPath, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 3);
const bases = new Uint8Array(readFileSync(basesPath));
const scalars = new Uint8Array(readFileSync(scalarsPath));
const n = bases.length / 64;
if (!Number.isInteger(n) || scalars.length !== 32 * n) {
    throw new Error(`bad input sizes: ${bases.length} bytes of bases, ${scalars.length} of scalars`);
}

const curve = await buildBn128();
const G1 = curve.G1;
const threads = curve.tm.concurrency;

let t0 = process.hrtime.bigint();
let res = await G1.multiExpAffine(bases, scalars); // warm-up: starts the workers, compiles wasm
const warmupMs = Number(process.hrtime.bigint() - t0) / 1e6;

const ms = [];
for (let r = 0; r < repeats; r++) {
    t0 = process.hrtime.bigint();
    res = await G1.multiExpAffine(bases, scalars);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
let x = "0";
let y = "0";
if (!G1.isZero(res)) {
    const [ax, ay] = G1.toObject(G1.toAffine(res));
    x = ax.toString();
    y = ay.toString();
}
await curve.terminate();
console.log(JSON.stringify({ op: "g1_msm", n, threads, warmup_ms: warmupMs, ms, x, y }));
