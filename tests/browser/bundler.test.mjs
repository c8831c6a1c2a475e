// sio-client as a front-end team installs it: the npm package that scripts/build-client.sh
// writes (client-wasm/pkg) is packed into a tarball, installed into a fresh project, and a
// page that does `import { io } from "sio-client"` — at once, no init call — is bundled with
// esbuild. In Chromium, the bundle connects to the contract server and gets an ack.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it, before, after } from "node:test";
import * as esbuild from "esbuild";
import { startServer } from "../lib/harness.mjs";
import { IS_REF, PKG_DIR, assertClean, launchBrowser, pageWithErrors, serveDir } from "../lib/browser.mjs";

const PAGE = `
import io, { io as named, connect, Manager, Socket, protocol } from "sio-client";
const same = io === named && io === connect && typeof Manager == "function" && typeof Socket == "function";
const socket = io(new URLSearchParams(location.search).get("server"), { transports: ["websocket"] });
socket.timeout(5000).emitWithAck("echo", "bundled").then(
  (reply) => { window.result = { reply, same, protocol, id: typeof socket.id }; socket.disconnect(); },
  (err) => { window.result = { error: String(err) }; },
);
`;

describe("bundler: the npm package, installed from a tarball and bundled by esbuild", { skip: IS_REF }, () => {
  let work, srv, site, browser;
  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "sio-bundler-"));
    srv = await startServer({ impl: "rust" });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await srv?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a page that does `import { io } from "sio-client"` connects at once, with upstream\'s exports', async () => {
    const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const tarball = npm(["pack", PKG_DIR, "--pack-destination", work, "--silent"], work).trim().split("\n").pop();
    const app = path.join(work, "app");
    await mkdir(path.join(app, "src"), { recursive: true });
    await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    npm(["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", path.join(work, tarball)], app);
    const installed = JSON.parse(await readFile(path.join(app, "node_modules/sio-client/package.json"), "utf8"));
    assert.equal(installed.name, "sio-client");

    await writeFile(path.join(app, "src/main.js"), PAGE);
    const dist = path.join(app, "dist");
    await esbuild.build({
      absWorkingDir: app,
      entryPoints: ["src/main.js"],
      bundle: true,
      format: "esm",
      minify: true,
      outfile: path.join(dist, "main.js"),
      logLevel: "silent",
    });
    // What the bundler setup copies beside the bundle: the module fetches it from there.
    await copyFile(path.join(app, "node_modules/sio-client/sio_client_bg.wasm"), path.join(dist, "sio_client_bg.wasm"));
    await writeFile(path.join(dist, "index.html"), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="main.js"></script>');

    site = await serveDir(dist);
    browser = await launchBrowser();
    const page = await pageWithErrors(browser);
    await page.goto(`${site.url}/index.html?server=${encodeURIComponent(srv.url)}`);
    await page.waitForFunction(() => window.result, null, { timeout: 10000 });
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(result, { reply: "bundled", same: true, protocol: 5, id: "string" });
    assertClean(page);
  });
});
