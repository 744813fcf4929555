// Anchor: ffjavascript's (snarkjs's) Fr NTT, `curve.Fr.fft`, with its worker-thread pool
// (one WebAssembly worker per CPU core, as snarkjs runs it).
// Usage: node bench/anchors/ntt_ffjs.mjs <input.bin> <repeats> [output.bin]
//   input.bin: n little-endian Montgomery Fr elements (32 bytes each, ffjavascript's own layout),
//   n a power of two. Natural order in, natural order out (ffjavascript bit-reverses the input,
//   then runs decimation-in-time butterflies with w_k = w_28^(2^(28-k)), w_28 = 5^((r-1)/2^28)).
//   output.bin, if given, receives the transform of the last repeat (same layout).
// Prints {"op": "fr_fft", "n": n, "threads": t, "warmup_ms": w, "ms": [...]}.
import { buildBn128 } from "ffjavascript";
import { readFileSync, writeFileSync } from "node:fs";

const [input, repeatsArg, output] = process.argv.slice(2);
const repeats = Number(repeatsArg || 3);
const data = new Uint8Array(readFileSync(input));
const n = data.length / 32;

const curve = await buildBn128();
const threads = curve.tm.concurrency;

let t0 = process.hrtime.bigint();
let out = await curve.Fr.fft(data); // warm-up: starts the workers, compiles the wasm
const warmupMs = Number(process.hrtime.bigint() - t0) / 1e6;

const ms = [];
for (let r = 0; r < repeats; r++) {
    t0 = process.hrtime.bigint();
    out = await curve.Fr.fft(data);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
if (output) writeFileSync(output, out);
await curve.terminate();
console.log(JSON.stringify({ op: "fr_fft", n, threads, warmup_ms: warmupMs, ms }));
