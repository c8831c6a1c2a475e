#!/usr/bin/env node
// Writes fuzz/seeds/<target>/ from the project's own test vectors: the string and byte
// literals of sio-protocol's unit and property tests (protocol/src/*.rs, protocol/tests/*.rs)
// and of the Redis adapter's (cluster/src/redis/*.rs), and the bytes that Node's real
// adapters published (cluster/tests/fixtures/redis-*.json), the packets of the real
// socket.io-msgpack-parser (from tests/node_modules, `npm ci` there first), and the inputs of
// fuzz/regressions/.
// Run it again when those change:
//   node fuzz/make-seeds.mjs
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const FUZZ = dirname(fileURLToPath(import.meta.url));
const ROOT = join(FUZZ, "..");
const rs = (dir) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith(".rs"))
    .sort()
    .map((f) => readFileSync(join(ROOT, dir, f), "utf8"));

// Rust string literals ("…", b"…", r#"…"#, br"…"), unescaped to their bytes.
function literals(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      // Comments hold doc examples: scan them too, but not as one string with the code.
      i += 2;
      continue;
    }
    if (c === "'") {
      // A char literal ('"', '\\', '\u{1e}') or a lifetime: never the start of a string.
      const m = /^'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'/su.exec(src.slice(i, i + 12));
      i += m ? m[0].length : 1;
      continue;
    }
    const raw = /^b?r(#*)"/.exec(src.slice(i, i + 8));
    if (raw && !/[A-Za-z0-9_]/.test(src[i - 1] ?? "")) {
      const close = '"' + raw[1];
      const start = i + raw[0].length;
      const end = src.indexOf(close, start);
      if (end < 0) break;
      out.push(Buffer.from(src.slice(start, end), "utf8"));
      i = end + close.length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      const parts = [];
      let lit = "";
      while (j < src.length && src[j] !== '"') {
        if (src[j] !== "\\") {
          lit += src[j++];
          continue;
        }
        const e = src[j + 1];
        const simple = { n: "\n", r: "\r", t: "\t", "\\": "\\", "0": "\0", '"': '"', "'": "'" };
        if (e in simple) {
          lit += simple[e];
          j += 2;
        } else if (e === "x") {
          parts.push(Buffer.from(lit, "utf8"), Buffer.from([parseInt(src.slice(j + 2, j + 4), 16)]));
          lit = "";
          j += 4;
        } else if (e === "u") {
          const close = src.indexOf("}", j);
          lit += String.fromCodePoint(parseInt(src.slice(j + 3, close), 16));
          j = close + 1;
        } else if (e === "\n") {
          j += 2;
          while (/\s/.test(src[j])) j++;
        } else {
          lit += "\\" + e;
          j += 2;
        }
      }
      parts.push(Buffer.from(lit, "utf8"));
      out.push(Buffer.concat(parts));
      i = j + 1;
      continue;
    }
    i++;
  }
  return out;
}

// Byte arrays written as &[0xc4, 2, 1, 2] or vec![0x92, 0xc0]: msgpack test vectors.
function byteArrays(src) {
  const out = [];
  for (const m of src.matchAll(/(?:&|vec!)\[((?:\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})\s*,)*\s*(?:0x[0-9a-fA-F]{1,2}|\d{1,3})\s*,?\s*)\]/g)) {
    const bytes = m[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    if (bytes.every((b) => b >= 0 && b < 256)) out.push(Buffer.from(bytes));
  }
  return out;
}

function fixtures(file) {
  const all = JSON.parse(readFileSync(join(ROOT, "cluster/tests/fixtures", file), "utf8"));
  return all.fixtures.map((f) => Buffer.from(f.hex, "hex"));
}

const seeds = {};
const add = (target, bytes) => (seeds[target] ??= new Map()).set(bytes.toString("hex"), bytes);

const protocol = [...rs("protocol/src"), ...rs("protocol/tests")].flatMap(literals);
const redisSrc = rs("cluster/src/redis");
const HEADER = /^[0-6](\d+-)?(\/[^,]*,)?\d*/;

for (const lit of protocol) {
  const text = lit.toString("utf8");
  if (lit.length === 0 || lit.length > 512) continue;
  const utf8 = Buffer.from(text, "utf8").equals(lit);
  if (/^[0-6]/.test(text)) {
    add("engine", lit);
    add("socket", lit);
    if (text.startsWith("4")) add("socket", lit.subarray(1));
  }
  if (/^[0-6b]/.test(text) || text.includes("\x1e")) add("payload", lit);
  if (text.startsWith('"')) add("jsonstr", lit);
  const body = /^[0-6]/.test(text) ? text.replace(HEADER, "") : text;
  if (utf8 && /^\s*\[/.test(body)) {
    const placeholders = Math.min((body.match(/_placeholder/g) ?? []).length, 4);
    add("json_args", Buffer.concat([Buffer.from([placeholders]), Buffer.from(body, "utf8")]));
  }
  // Sessions for the reassembler: the packet, then as many attachments as it announces.
  const att = /^[56](\d+)-/.exec(text);
  if (utf8 && att && Number(att[1]) <= 7) {
    const n = Number(att[1]);
    const frame = (tag, bytes) => Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
    const atts = Array.from({ length: n }, (_, k) => frame(1, Buffer.from([k, k + 1])));
    if (lit.length < 256) add("binary", Buffer.concat([Buffer.from([n]), frame(0, lit), ...atts]));
  } else if (utf8 && /^[0-4]/.test(text) && lit.length < 256) {
    add("binary", Buffer.concat([Buffer.from([4, 0, lit.length]), lit]));
  }
}
// Two packets in a row, one attachment too many, a text frame where one was expected.
add("binary", Buffer.from('\x04\x00\x0451-[\x01\x01a\x00\x072["a"]\x01\x01b', "latin1"));

const classic = fixtures("redis-adapter.json");
const sharded = fixtures("redis-sharded-adapter.json");
for (const b of [...classic, ...sharded, ...redisSrc.flatMap(byteArrays)]) add("redis_msgpack", b);
const jsonLiterals = redisSrc.flatMap(literals).filter((l) => l[0] === 0x7b && l.length > 2);
for (const b of [...classic, ...jsonLiterals]) add("redis_wire", b);
for (const b of [...sharded, ...jsonLiterals]) add("redis_sharded", b);

// socket.io-msgpack-parser's own encoding of every packet type, and the Redis vectors
// (msgpack maps of other shapes).
const { Encoder } = createRequire(join(ROOT, "tests", "package.json"))("socket.io-msgpack-parser");
const bin = Buffer.from([1, 2, 3]);
for (const packet of [
  { type: 0, nsp: "/" },
  { type: 0, nsp: "/auth", data: { token: "secret", n: 1.5 } },
  { type: 0, nsp: "/", data: { sid: "abc", pid: "def" } },
  { type: 1, nsp: "/chat" },
  { type: 2, nsp: "/", data: ["ev", 1, -2, "é", null, true, { a: [bin] }] },
  { type: 2, nsp: "/x", id: 7, data: ["up", bin, { deep: { bin } }] },
  { type: 3, nsp: "/", id: 4294967296, data: [new Date(0), 2 ** 53] },
  { type: 4, nsp: "/", data: { message: "unauthorized", data: { code: 4001 } } },
  { type: 4, nsp: "/", data: "refused" },
]) {
  for (const b of new Encoder().encode(packet)) add("msgpack_packet", Buffer.from(b));
}
for (const b of [...classic, ...sharded]) add("msgpack_packet", b);

// The inputs that once broke a target (fuzz/regressions/<target>/, kept as libFuzzer wrote
// them) stay among its seeds.
for (const target of readdirSync(join(FUZZ, "regressions"))) {
  for (const f of readdirSync(join(FUZZ, "regressions", target)).sort()) {
    add(target, readFileSync(join(FUZZ, "regressions", target, f)));
  }
}

for (const [target, map] of Object.entries(seeds).sort()) {
  const dir = join(FUZZ, "seeds", target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const bytes of map.values()) {
    const name = createHash("sha1").update(bytes).digest("hex").slice(0, 16);
    writeFileSync(join(dir, name), bytes);
  }
  console.log(`${target}: ${map.size} seeds`);
}
