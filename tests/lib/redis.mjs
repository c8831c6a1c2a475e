// A throwaway redis-server for the cluster tests: Debian's binary (scripts/setup.sh redis),
// on a free port of 127.0.0.1, no persistence; stopped (or killed, to test outages) by PID.
// startRedisCluster: a Redis Cluster of such servers (redis-cli --cluster create).
import { spawn, execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, waitFor } from "./harness.mjs";

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

/** Start redis-server (on `port`, or a free one; `args` added to its command line). Returns
 *  {port, url, pid, logs(), stop(), kill(), restart()}. */
export async function startRedis({ port, args = [] } = {}) {
  port ??= await freePort();
  const child = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...args],
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
    /** Stops it (SIGTERM, or SIGKILL with `kill`) and starts a new redis-server on the same
     *  port with the same arguments (empty: no persistence); resolves with the new handle. */
    async restart({ kill = false } = {}) {
      await stopWith(kill ? "SIGKILL" : "SIGTERM");
      return startRedis({ port, args });
    },
  };
}

const run = promisify(execFile);
const REDIS_CLI = process.env.REDIS_CLI || "redis-cli";

/** Start a Redis Cluster of `masters` redis-servers (no replicas; every 16384 slots
 *  assigned), and wait until every node says `cluster_state:ok`. Returns {url (the first
 *  node's), urls, nodes, stop()}. */
export async function startRedisCluster({ masters = 3 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "sio-redis-cluster-"));
  const nodes = [];
  const args = [];
  const ok = async (n) => {
    const info = await run(REDIS_CLI, ["-p", String(n.port), "cluster", "info"]).catch(() => ({ stdout: "" }));
    return info.stdout.includes("cluster_state:ok");
  };
  const allOk = () =>
    waitFor(async () => (await Promise.all(nodes.map(ok))).every(Boolean), {
      timeout: 20_000,
      interval: 100,
      what: "the Redis Cluster is ok on every node",
    });
  try {
    for (let i = 0; i < masters; i++) {
      const busPort = await freePort();
      args.push(["--cluster-enabled", "yes", "--cluster-port", String(busPort), "--cluster-config-file", `nodes-${i}.conf`, "--dir", dir]);
      nodes.push(await startRedis({ args: args[i] }));
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(REDIS_CLI, ["--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"]);
    await allOk();
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: nodes[0].url,
    urls: nodes.map((n) => n.url),
    nodes,
    /** The index of the node that owns the slot of `key` (a channel name). */
    async owner(key) {
      const slot = Number((await run(REDIS_CLI, ["-p", String(nodes[0].port), "cluster", "keyslot", key])).stdout);
      const { stdout } = await run(REDIS_CLI, ["-p", String(nodes[0].port), "cluster", "shards"]);
      // `cluster shards`: each shard's slot ranges, then its nodes with their ports.
      const shards = stdout.split(/^slots$/m).slice(1);
      for (const shard of shards) {
        const [ranges, rest] = shard.split(/^nodes$/m);
        const bounds = ranges.trim().split(/\s+/).map(Number);
        for (let i = 0; i + 1 < bounds.length; i += 2) {
          if (slot >= bounds[i] && slot <= bounds[i + 1]) {
            const port = Number(/^port\n(\d+)$/m.exec(rest)?.[1]);
            return nodes.findIndex((n) => n.port === port);
          }
        }
      }
      return -1;
    },
    /** Kills node `i` (SIGKILL, an outage) and starts it again on its port and config. */
    async restart(i) {
      const port = nodes[i].port;
      await nodes[i].kill();
      nodes[i] = await startRedis({ port, args: args[i] });
      await allOk();
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
