// A throwaway redis-server for the cluster tests: Debian's binary (scripts/setup.sh redis),
// on a free port of 127.0.0.1, no persistence; stopped (or killed, to test outages) by PID.
import { spawn, execFileSync } from "node:child_process";
import { freePort } from "./harness.mjs";

export const REDIS_SERVER = process.env.REDIS_SERVER || "redis-server";

/** Whether redis-server can be run here. */
export function haveRedis() {
  try {
    execFileSync(REDIS_SERVER, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Start redis-server (on `port`, or a free one). Returns {port, url, pid, logs(), stop(), kill()}. */
export async function startRedis({ port } = {}) {
  port ??= await freePort();
  const child = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", () => ((exited = true), resolve())));
  // redis-server says when it listens: wait for that line (or its exit, or a deadline).
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not listen on ${port}:\n${log}`));
    }, 10_000);
    const onData = (c) => {
      log = (log + c).slice(-65536);
      if (log.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before listening:\n${log}`));
    });
  });
  const stopWith = async (signal) => {
    if (exited) return;
    process.kill(child.pid, signal);
    const t = setTimeout(() => !exited && process.kill(child.pid, "SIGKILL"), 5_000);
    await exit;
    clearTimeout(t);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}/`,
    pid: child.pid,
    logs: () => log,
    /** SIGTERM, SIGKILL after 5 s. */
    stop: () => stopWith("SIGTERM"),
    /** SIGKILL: an outage, not a shutdown. */
    kill: () => stopWith("SIGKILL"),
  };
}
