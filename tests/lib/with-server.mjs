// Runs a command while a server under test is up: `node lib/with-server.mjs [--kind K] -- cmd args…`.
// The command gets SIO_TEST_SERVER=http://127.0.0.1:PORT; the server (lib/harness.mjs
// startServer: a free port, stopped by its PID) stops when the command exits, whose exit
// code this process returns.
import { spawn } from "node:child_process";
import { startServer } from "./harness.mjs";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
if (sep < 0 || sep === args.length - 1) {
  console.error("usage: node lib/with-server.mjs [--kind contract|features] -- cmd args…");
  process.exit(2);
}
const kindAt = args.indexOf("--kind");
const kind = kindAt >= 0 && kindAt < sep ? args[kindAt + 1] : "contract";
const [cmd, ...rest] = args.slice(sep + 1);

const srv = await startServer({ kind });
const child = spawn(cmd, rest, { stdio: "inherit", env: { ...process.env, SIO_TEST_SERVER: srv.url } });
const code = await new Promise((resolve) => {
  child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  child.once("error", (err) => {
    console.error(`with-server: ${err.message}`);
    resolve(1);
  });
});
await srv.stop();
process.exit(code);
