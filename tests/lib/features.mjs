// Helpers shared by the features-server test files (interop/features*.test.mjs).
import { ack, waitFor } from "./harness.mjs";

let seq = 0;
/** A unique name (room, namespace suffix) for this test process. */
export const uniq = (p) => `${p}-${process.pid}-${++seq}`;

/** A fresh dynamic namespace: nothing else ever connects to it (broadcasts to "all" stay in the test). */
export const dynNs = (p = "ns") => `/dyn-${uniq(p)}`;

/**
 * Round-trip barrier for the features server (it has no `echo`): a `whoami` ack on each
 * socket. Everything the server sent to a socket before handling it has then been received.
 */
export async function sync(...sockets) {
  await Promise.all(sockets.map((s) => ack(s, "whoami")));
}

/** The events of `got` (a collect() array) whose first argument is `msg`-tagged `tag`. */
export const tagged = (got, tag) => got.filter(([m]) => m && m.tag === tag).map(([m]) => m);

/** Poll `last-disconnect` through `observer` until it reports socket `id`; resolves with it. */
export async function lastDisconnectOf(observer, id, { timeout = 5_000 } = {}) {
  let value;
  try {
    await waitFor(
      async () => {
        [value] = await ack(observer, "last-disconnect");
        return value !== null && typeof value === "object" && value.id === id;
      },
      { timeout, what: `last-disconnect to report ${id}` },
    );
  } catch (e) {
    throw new Error(`${e.message} (last seen ${JSON.stringify(value)})`);
  }
  return value;
}
