// A custom parser for the Rust API's `parser` test: socket.io-parser's text format (no
// binary), counting the packets it encodes and decodes, so that the test sees that they went
// through it and not through the built-in parser.
const counts = { encoded: 0, decoded: 0 };

class Encoder {
  encode(p) {
    counts.encoded++;
    const nsp = p.nsp != "/" ? p.nsp + "," : "";
    return [p.type + nsp + (p.id ?? "") + (p.data === undefined ? "" : JSON.stringify(p.data))];
  }
}

class Decoder {
  constructor() {
    this.listeners = [];
  }
  on(event, f) {
    if (event == "decoded") this.listeners.push(f);
    return this;
  }
  add(frame) {
    const m = /^(\d)(\/[^,]*,)?(\d*)([^]*)$/.exec(frame);
    if (!m) throw new Error("not a packet");
    const p = { type: +m[1], nsp: m[2] ? m[2].slice(0, -1) : "/" };
    if (m[3]) p.id = +m[3];
    if (m[4]) p.data = JSON.parse(m[4]);
    counts.decoded++;
    for (const f of this.listeners) f(p);
  }
  destroy() {}
}

export const parser = () => ({ Encoder, Decoder });
/** `[encoded, decoded]` so far. */
export const used = () => [counts.encoded, counts.decoded];
