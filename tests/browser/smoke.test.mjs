import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startServer } from "../lib/harness.mjs";
import { useBrowser } from "../lib/browser.mjs";

const b = useBrowser();

for (const impl of ["rust", "node"]) {
  describe(`smoke (${impl} server)`, () => {
    it("connects and echoes", async () => {
      const srv = await startServer({ impl });
      try {
        const page = await b.page();
        const out = await page.evaluate(async (url) => {
          const s = await t.connect(url);
          const r = await s.timeout(5000).emitWithAck("echo", 1, "a", { b: [true, null] });
          const id = s.id;
          s.disconnect();
          return { r, id };
        }, srv.url);
        assert.equal(out.r, 1);
        assert.equal(typeof out.id, "string");
        assert.deepEqual(page.errors, []);
      } finally {
        await srv.stop();
      }
    });
  });
}
