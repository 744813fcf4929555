// Anchor: ffjavascript's (snarkjs's) WebAssembly Fr Montgomery multiply, called in a tight loop
// on elements resident in wasm memory (no JS buffer copies), single-threaded.
// Usage: node bench/anchors/field_ffjs.mjs <input.bin> <repeats>
//   input.bin: 2n little-endian Montgomery Fr elements (32 bytes each): a[0..n), b[0..n).
// Prints {"op": "fr_mul", "n": n, "ns_per_mul": [...], "checksum_hex": first product (LE hex)}.
import { buildBn128 } from "ffjavascript";
import { readFileSync } from "node:fs";

const [input, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 3);
const data = readFileSync(input);
const n = data.length / 64;

const curve = await buildBn128(true); // single-threaded: the kernel, not the thread pool
const tm = curve.tm;
const mul = tm.instance.exports.frm_mul;
// ffjavascript's wasm memory is small (1.6 MB): stream the operands through it in blocks.
const block = 8192;
const pA = tm.alloc(32 * block);
const pB = tm.alloc(32 * block);
const pC = tm.alloc(32 * block);

const times = [];
let first = null;
for (let r = 0; r < repeats; r++) {
    let ns = 0n;
    for (let lo = 0; lo < n; lo += block) {
        const m = Math.min(block, n - lo);
        tm.setBuff(pA, data.subarray(32 * lo, 32 * (lo + m)));
        tm.setBuff(pB, data.subarray(32 * (n + lo), 32 * (n + lo + m)));
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < m; i++) mul(pA + 32 * i, pB + 32 * i, pC + 32 * i);
        ns += process.hrtime.bigint() - t0;
        if (first === null) first = Buffer.from(tm.getBuff(pC, 32)).toString("hex");
    }
    times.push(Number(ns) / n);
}
await curve.terminate();
console.log(JSON.stringify({ op: "fr_mul", n, ns_per_mul: times, checksum_hex: first }));
