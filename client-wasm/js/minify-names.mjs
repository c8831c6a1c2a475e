// Build step (scripts/build-client.sh): a last wasm-opt round that shortens the names the .wasm and its glue use for
// each other. wasm-bindgen names imports like `__wbg_push_c9f4893fc209f768`, and each name
// sits in both files; hashes do not compress, so together they cost more than a KB gzipped.
// wasm-opt renames every import and export to one or two letters and prints the mapping;
// this script applies it to wasm-bindgen's JS. It fails loudly when the glue does not have
// the shape it expects, rather than ship a module that cannot link.
//
// Usage: node minify-names.mjs <wasm-bindgen .js> <_bg.wasm> <wasm-opt>
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const [glueFile, wasmFile, wasmOpt] = process.argv.slice(2);
// After the renaming, more optimisation rounds (wasm-pack ran -Oz once), measured on gzip:
// flattening and re-looping the control flow, then -Oz to a fixed point (about 1 % smaller);
// then monomorphising, -O3 and -Oz again, assuming that the first KB of memory is unused
// (Rust's stack grows down towards it from 1 MiB, and nothing else is there), which lets
// constant offsets fold into loads and stores (−337 B gzip). The producers and
// target-features sections are of no use to a browser. (Separate runs: `--converge` repeats
// every pass given with it, the renaming included; and the second round undoes less of the
// first when it starts from its output.)
const map = JSON.parse(
  execFileSync(wasmOpt, [wasmFile, "--minify-imports-and-exports-and-modules", "-o", wasmFile], { encoding: "utf8" }),
);
const rounds = [
  ["--flatten", "--rereloop", "-Oz", "--converge"],
  ["--low-memory-unused", "--monomorphize", "-O3", "-Oz", "--strip-producers", "--strip-target-features"],
];
for (const passes of rounds) execFileSync(wasmOpt, [wasmFile, ...passes, "-o", wasmFile]);
let js = readFileSync(glueFile, "utf8");
const fail = (what) => {
  throw new Error(`minify-names: ${what} (has wasm-bindgen's output changed?)`);
};

// The import object: `return { __proto__: null, "<module>": importN, ... };` at the end of
// __wbg_get_imports. import0 is the object literal of wasm-bindgen's own shims.
const ret = /return \{\n\s+__proto__: null,\n((?:\s+"[^"]+": import\d+,\n)+)\s+\};/;
const block = js.match(ret) ?? fail("import object not found");
const modules = Object.fromEntries([...block[1].matchAll(/"([^"]+)": (import\d+)/g)].map((m) => [m[1], m[2]]));
const own = [];
for (const [mod, name, short] of map.imports) {
  const v = modules[mod] ?? fail(`module ${mod} not in the import object`);
  if (v === "import0") {
    const key = new RegExp(`(\\n\\s+)${name}(: function)`);
    key.test(js) || fail(`import ${name} not found`);
    js = js.replace(key, (_, indent, rest) => indent + short + rest);
  } else {
    own.push(`${short}: ${v}.${name}`);
  }
}
js = js.replace(ret, () => `return { a: { ...import0, ${own.join(", ")} } };`);

// wasm-bindgen's helpers (everything after the import object) give way to smaller ones of the
// same names: strings go in through TextEncoder.encode (its own fallback path) rather than an
// ASCII loop with reallocations, memory views are re-made only when the memory grew, and
// instantiation is initSync's alone (index.js compiles the module itself). The import object
// and the export wrappers stay wasm-bindgen's; every helper they use must be defined here.
const imports = js.indexOf("\nfunction __wbg_get_imports() {");
imports > 0 || fail("__wbg_get_imports not found");
const cut = js.indexOf("\n}\n", imports) + 3;
// Each helper with the name wasm-bindgen gives it, kept when something uses it.
const HELPERS = {
  WASM_VECTOR_LEN: "let WASM_VECTOR_LEN = 0;",
  // Safari's TextDecoder fails past 2 GiB decoded: a fresh one before that, as wasm-bindgen's.
  decodeText: `let decoder, decoded = Infinity;
const decodeText = (b) => ((decoded += b.length) > 2e9 && ((decoded = b.length), (decoder = new TextDecoder("utf-8", { ignoreBOM: true }))), decoder.decode(b));`,
  getUint8ArrayMemory0: "let u8;\nconst getUint8ArrayMemory0 = () => (u8?.byteLength ? u8 : (u8 = new Uint8Array(wasm.memory.buffer)));",
  getFloat64ArrayMemory0: "let f64;\nconst getFloat64ArrayMemory0 = () => (f64?.byteLength ? f64 : (f64 = new Float64Array(wasm.memory.buffer)));",
  getDataViewMemory0: "const getDataViewMemory0 = () => new DataView(wasm.memory.buffer);",
  getArrayU8FromWasm0: "const getArrayU8FromWasm0 = (ptr, len) => getUint8ArrayMemory0().subarray((ptr >>>= 0), ptr + len);",
  getStringFromWasm0: "const getStringFromWasm0 = (ptr, len) => decodeText(getArrayU8FromWasm0(ptr, len));",
  isLikeNone: "const isLikeNone = (x) => x == null;",
  passArray8ToWasm0: `function passArray8ToWasm0(a, malloc) {
  const p = malloc(a.length, 1) >>> 0;
  getUint8ArrayMemory0().set(a, p);
  WASM_VECTOR_LEN = a.length;
  return p;
}`,
  passArrayF64ToWasm0: `function passArrayF64ToWasm0(a, malloc) {
  const p = malloc(a.length * 8, 8) >>> 0;
  getFloat64ArrayMemory0().set(a, p / 8);
  WASM_VECTOR_LEN = a.length;
  return p;
}`,
  passStringToWasm0: "const encoder = new TextEncoder();\nconst passStringToWasm0 = (s, malloc) => passArray8ToWasm0(encoder.encode(s), malloc);",
  addToExternrefTable0: `function addToExternrefTable0(o) {
  const i = wasm.__externref_table_alloc();
  wasm.__wbindgen_externrefs.set(i, o);
  return i;
}`,
};
const defined = (src) => new Set([...src.matchAll(/^(?:function|let|const|var) (\w+)/gm)].map((m) => m[1]));
const uses = (src, name) => new RegExp(`\\b${name}\\b`).test(src);
const kept = js.slice(0, cut);
for (const name of defined(js.slice(cut))) {
  if (!(name in HELPERS) && uses(kept, name) && !["wasm", "initSync"].includes(name)) fail(`helper ${name} is used but not replaced`);
}
let runtime = `
let wasm;
function initSync({ module }) {
  wasm = new WebAssembly.Instance(module, __wbg_get_imports()).exports;
  wasm.__wbindgen_start();
  return wasm;
}
export { initSync };
`;
const needed = (name) => uses(kept, name) || uses(runtime, name);
for (let more = true; more; ) {
  more = false;
  for (const [name, code] of Object.entries(HELPERS)) {
    if (!runtime.includes(code) && needed(name)) {
      runtime += code + "\n";
      more = true;
    }
  }
}
js = kept + runtime;
// The import object's functions use neither `this` nor `arguments`: arrows are shorter.
js = js.replace(/(\n\s+[\w$]+): function\(([^)]*)\) \{/g, "$1: ($2) => {");

const exports = Object.fromEntries(map.exports);
js = js.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (_, name) => `wasm.${exports[name] ?? fail(`export ${name}`)}`);
writeFileSync(glueFile, js);
