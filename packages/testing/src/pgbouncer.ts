import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** Where Debian's `pgbouncer` package puts the executable. */
export const PGBOUNCER_BIN = "/usr/sbin/pgbouncer";

/** Options of {@link startPgBouncer}. */
export interface StartPgBouncerOptions {
  /** PgBouncer's `pool_mode`. */
  mode: "transaction" | "session";
  /** The database behind the pooler (a URL on 127.0.0.1 or localhost; its user, password and database are used). */
  targetUrl: string;
  /** `default_pool_size`; default 5. */
  poolSize?: number;
  /** How long to wait for PgBouncer to accept connections; default 10 s. */
  startTimeoutMs?: number;
}

/** A running PgBouncer in front of one database; `stop()` ends it and removes its folder. */
export interface PgBouncer {
  mode: "transaction" | "session";
  port: number;
  /**
   * The URL of the target database through the pooler: 127.0.0.1:<port>, the same user and database, no
   * `pgbouncer=true` (it looks like a direct URL). `password` replaces the target URL's password when given.
   */
  url(password?: string): string;
  /** PgBouncer's log so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

interface SystemUser {
  uid: number;
  gid: number;
}

// PgBouncer refuses to run as root ("PgBouncer should not run as root"): as root it runs as `postgres`.
function findPostgresUser(): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) {
    throw new Error('startPgBouncer: running as root and there is no "postgres" user to run PgBouncer as. Create it (apt-get install postgresql does).');
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// The ini's values are written without quotes; refuse anything that could break a line.
function iniValue(value: string, what: string): string {
  if (/[\s'"\n\\;=]/.test(value)) throw new Error(`startPgBouncer: the ${what} contains characters the test setup does not quote; use a simpler one.`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000, query_timeout: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts a real PgBouncer (Debian's `/usr/sbin/pgbouncer`) on a free loopback port in front of the database of
 * `targetUrl`, in transaction or session mode, and waits until it serves queries. Its ini, log, pid file and socket
 * live in a temporary folder (owned by `postgres` when the tests run as root) that `stop()` removes.
 *
 * @example
 * const bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
 * try { await runCli(["up"], { cwd, env: { DIRECT_URL: bouncer.url("secret") } }); } finally { await bouncer.stop(); }
 */
export async function startPgBouncer(options: StartPgBouncerOptions): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER_BIN)) {
    throw new Error(`startPgBouncer: "${PGBOUNCER_BIN}" is missing. Install Debian's PgBouncer: apt-get install -y pgbouncer.`);
  }
  const target = new URL(options.targetUrl);
  const host = target.hostname === "localhost" ? "127.0.0.1" : target.hostname;
  if (host !== "127.0.0.1") throw new Error(`startPgBouncer: the target must be on the loopback address, not "${host}".`);
  const database = iniValue(decodeURIComponent(target.pathname.slice(1)), "database name");
  const user = iniValue(decodeURIComponent(target.username || "postgres"), "user name");
  const password = target.password ? ` password=${iniValue(decodeURIComponent(target.password), "password")}` : "";
  const owner = findPostgresUser();
  const dir = mkdtempSync(join(tmpdir(), "pm-pgbouncer-"));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const logFile = join(dir, "pgbouncer.log");
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  let child: ChildProcess | undefined;
  let port = 0;
  let output = "";
  // A test process that ends without calling stop() must not leave a PgBouncer behind.
  const killOnExit = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    const running = child;
    child = undefined;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
      running.kill("SIGTERM");
      const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!killed) {
        running.kill("SIGKILL");
        await Promise.race([exited, sleep(2_000)]);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // A free port can be taken between the check and PgBouncer's bind: try a few.
    for (let attempt = 1; attempt <= 3 && !child; attempt++) {
      port = await findFreePort();
      const ini = join(dir, "pgbouncer.ini");
      writeFileSync(
        ini,
        [
          "[databases]",
          `${database} = host=${host} port=${target.port || "5432"} dbname=${database} user=${user}${password}`,
          "",
          "[pgbouncer]",
          "listen_addr = 127.0.0.1",
          `listen_port = ${port}`,
          `unix_socket_dir = ${dir}`,
          `logfile = ${logFile}`,
          `pidfile = ${join(dir, "pgbouncer.pid")}`,
          "auth_type = any",
          `pool_mode = ${options.mode}`,
          `default_pool_size = ${options.poolSize ?? 5}`,
          "max_client_conn = 100",
          "ignore_startup_parameters = extra_float_digits,options",
          "",
        ].join("\n"),
      );
      if (owner) chownSync(ini, owner.uid, owner.gid);
      const started = spawn(PGBOUNCER_BIN, [ini], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
        ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      });
      started.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
      started.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
      started.on("error", (error) => (output += `\n${error.message}`));
      const url = new URL(options.targetUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
      while (Date.now() < deadline && started.exitCode === null && started.signalCode === null) {
        if (await canQuery(url.toString())) {
          child = started;
          break;
        }
        await sleep(100);
      }
      if (!child) {
        started.kill("SIGKILL");
        if (!/Address already in use/i.test(output + readLog())) {
          throw new Error(`startPgBouncer: PgBouncer did not accept connections on 127.0.0.1:${port}.\n${(output + readLog()).slice(-2_000)}`);
        }
      }
    }
    if (!child) throw new Error(`startPgBouncer: no free port after 3 attempts.\n${(output + readLog()).slice(-2_000)}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    mode: options.mode,
    port,
    url(newPassword) {
      const url = new URL(options.targetUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      if (newPassword !== undefined) url.password = newPassword;
      return url.toString();
    },
    log: () => output + readLog(),
    stop,
  };
}
