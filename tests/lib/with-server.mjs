// Runs a command while a server under test is up: `node lib/with-server.mjs [--kind K] [--recovery] -- cmd args…`.
// The command gets SIO_TEST_SERVER=http://127.0.0.1:PORT (and, with --recovery,
// SIO_TEST_RECOVERY_SERVER: a second server with RECOVERY_MS); the server (lib/harness.mjs
// startServer: a free port, stopped by its PID) stops when the command exits, whose exit
// code this process returns.
import { spawn } from "node:child_process";
import { startServer } from "./harness.mjs";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
if (sep < 0 || sep === args.length - 1) {
  console.error("usage: node lib/with-server.mjs [--kind contract|features] [--recovery] -- cmd args…");
  process.exit(2);
}
const kindAt = args.indexOf("--kind");
const kind = kindAt >= 0 && kindAt < sep ? args[kindAt + 1] : "contract";
const [cmd, ...rest] = args.slice(sep + 1);

const srv = await startServer({ kind });
const env = { ...process.env, SIO_TEST_SERVER: srv.url };
// --recovery: a second server, with connection state recovery on, as SIO_TEST_RECOVERY_SERVER.
const recovery = args.slice(0, sep).includes("--recovery")
  ? await startServer({ kind, env: { RECOVERY_MS: "60000" } })
  : null;
if (recovery) env.SIO_TEST_RECOVERY_SERVER = recovery.url;
const child = spawn(cmd, rest, { stdio: "inherit", env });
const code = await new Promise((resolve) => {
  child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  child.once("error", (err) => {
    console.error(`with-server: ${err.message}`);
    resolve(1);
  });
});
await Promise.all([srv.stop(), recovery?.stop()]);
process.exit(code);
