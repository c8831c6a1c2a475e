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
// After the renaming, one more optimisation round (wasm-pack ran -Oz once): flattening and
// re-looping the control flow, then -Oz to a fixed point, shrinks the module by about 1 %
// more, and the producers and target-features sections are of no use to a browser.
// (Separate runs: `--converge` repeats every pass given with it, the renaming included.)
const map = JSON.parse(
  execFileSync(wasmOpt, [wasmFile, "--minify-imports-and-exports-and-modules", "-o", wasmFile], { encoding: "utf8" }),
);
const passes = ["--flatten", "--rereloop", "-Oz", "--converge", "--strip-producers", "--strip-target-features"];
execFileSync(wasmOpt, [wasmFile, ...passes, "-o", wasmFile]);
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

const exports = Object.fromEntries(map.exports);
js = js.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (_, name) => `wasm.${exports[name] ?? fail(`export ${name}`)}`);
writeFileSync(glueFile, js);
