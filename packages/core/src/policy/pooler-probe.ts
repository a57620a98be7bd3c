import { randomBytes } from "node:crypto";
import pg from "pg";
import { connect, describeError } from "../db/connect.js";
import { parseDatabaseUrl } from "../db/database-url.js";
import { MigrateError } from "../model/errors.js";
import type { PolicyDecision } from "../model/report.js";
import { redact, redactUrl } from "./redact.js";

/** What the probe concluded about the path between Polymigrate and the server. */
export type PoolerVerdict = "direct" | "session-pooler" | "transaction-pooler";

/** The result of {@link probePooler}: the verdict and the observations it rests on. */
export interface PoolerProbeResult {
  verdict: PoolerVerdict;
  /** One sentence per observation, in the order they were made. */
  evidence: string[];
  /** The process id the connection handshake reported (a pooler makes one up); absent when none was sent. */
  handshakePid?: number;
  /** `pg_backend_pid()` at the start of the probe. */
  backendPid: number;
  /** The server's own address and port, as the backend sees them (`inet_server_addr()`); absent on a Unix socket. */
  serverAddress?: { host: string; port: number };
}

/** Options of {@link probePooler}. */
export interface ProbePoolerOptions {
  /** The migration connection to probe (connection A); when absent, one is opened on the URL and closed after. */
  client?: pg.Client;
  /** The variable the URL came from, for messages. */
  source?: string;
  /** Bound on each step of the second connection, and the wait that counts as "blocked"; default 5 s. */
  stepTimeoutMs?: number;
}

const PROBE_SETTING = "polymigrate.probe";
const TIMED_OUT = Symbol("timed out");

function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readBackend(client: pg.Client): Promise<{ pid: number; host: string | null; port: number | null }> {
  const result = await client.query<{ pid: number; host: string | null; port: number | null }>(
    "SELECT pg_backend_pid() AS pid, host(inet_server_addr()) AS host, inet_server_port() AS port",
  );
  const row = result.rows[0];
  if (!row) throw new Error("pg_backend_pid() returned no row");
  return row;
}

async function closeQuickly(client: pg.Client): Promise<void> {
  const ended = await within(client.end().catch(() => {}), 1_000);
  if (ended === TIMED_OUT) (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * Detects at run time whether a pooler sits between Polymigrate and the server, and in which mode, on the migration
 * connection itself: whatever the URL looks like.
 *
 * 1. Any proxy: the backend pid of the connection handshake differs from `pg_backend_pid()` (PgBouncer makes one
 *    up). When they are equal the connection is direct and the probe stops there: one query.
 * 2. Transaction mode, deterministically, with a second connection B on the same URL: A sets a session setting and
 *    notes its backend pid; B opens a transaction and holds it (taking the server connection A just released, in
 *    transaction mode); A reads its setting and pid again. A transaction pooler moved A to another server connection
 *    (setting gone, pid changed), or made A wait for B's transaction. A session pooler and a direct connection keep
 *    both. A single client alone is not enough: at low load a transaction pooler often hands the same server back.
 * 3. The backend pid changing across A's own transactions.
 *
 * @example
 * const probe = await probePooler(url, { client: session.client, source: "DIRECT_URL" });
 * if (probe.verdict === "transaction-pooler") console.error(probe.evidence.join("\n"));
 */
export async function probePooler(url: string, options: ProbePoolerOptions = {}): Promise<PoolerProbeResult> {
  const stepMs = options.stepTimeoutMs ?? 5_000;
  const owned = options.client ? undefined : await connect(url, { applicationName: "polymigrate probe", ...(options.source ? { source: options.source } : {}) });
  const a = options.client ?? owned!.client;
  try {
    const handshake = (a as unknown as { processID?: number | null }).processID ?? undefined;
    const first = await readBackend(a);
    const base = {
      backendPid: first.pid,
      ...(handshake === undefined ? {} : { handshakePid: handshake }),
      ...(first.host && first.port ? { serverAddress: { host: first.host, port: first.port } } : {}),
    };
    if (handshake !== undefined && handshake === first.pid) {
      return {
        verdict: "direct",
        evidence: [`the handshake's backend pid ${handshake} equals pg_backend_pid() ${first.pid}: nothing sits in between`],
        ...base,
      };
    }
    const evidence: string[] = [
      handshake === undefined
        ? `the handshake reported no backend pid (pg_backend_pid() is ${first.pid}): something may sit in between`
        : `the handshake's backend pid ${handshake} differs from pg_backend_pid() ${first.pid}: a proxy or pooler is in the path`,
    ];
    let isTransactionMode = false;

    // (3) The backend pid across A's own transactions (each autocommit query is one).
    const pids = [first.pid];
    for (let index = 0; index < 3; index++) pids.push((await readBackend(a)).pid);
    if (new Set(pids).size > 1) {
      isTransactionMode = true;
      evidence.push(`the backend pid changed across the connection's own transactions (${pids.join(", ")})`);
    }

    // (2) The session setting, with a second client holding a transaction in between.
    const nonce = randomBytes(8).toString("hex");
    const set = await a.query<{ pid: number }>(`SELECT set_config('${PROBE_SETTING}', '${nonce}', false), pg_backend_pid() AS pid`);
    const pidBefore = set.rows[0]?.pid ?? first.pid;
    const b = new pg.Client({ connectionString: url, application_name: "polymigrate probe", connectionTimeoutMillis: stepMs });
    b.on("error", () => {});
    let isHoldingB = false;
    try {
      const opened = await within(
        (async () => {
          await b.connect();
          await b.query("BEGIN");
          isHoldingB = true;
          return (await b.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
        })(),
        stepMs,
      );
      if (opened === TIMED_OUT) evidence.push(`a second connection could not open a transaction within ${stepMs} ms (the pool may be full)`);
      else if (opened === pidBefore) {
        isTransactionMode = true;
        evidence.push(`a second connection's transaction got backend pid ${opened}, the server connection the first one had just used`);
      }
    } catch (error) {
      const message = redact(describeError(error));
      if (/statement pool mode/i.test(message)) {
        isTransactionMode = true;
        evidence.push(`the pooler refused a transaction block ("${message}"): statement mode`);
      } else evidence.push(`a second connection failed (${message}), so the two-connection test was skipped`);
    }

    const reading = a.query<{ value: string | null; pid: number }>(
      `SELECT current_setting('${PROBE_SETTING}', true) AS value, pg_backend_pid() AS pid`,
    );
    let after = await within(reading, stepMs);
    if (after === TIMED_OUT) {
      isTransactionMode = true;
      evidence.push(`the first connection waited more than ${stepMs} ms for the second one's transaction: it owns no server connection of its own`);
    }
    if (isHoldingB) await within(b.query("ROLLBACK").catch(() => {}), stepMs);
    await closeQuickly(b);
    if (after === TIMED_OUT) after = await reading;
    const row = after.rows[0];
    if (row?.value !== nonce) {
      isTransactionMode = true;
      evidence.push(`a session setting made with set_config('${PROBE_SETTING}', ..., false) was gone in the next transaction`);
    }
    if (row && row.pid !== pidBefore) {
      isTransactionMode = true;
      evidence.push(`the backend pid changed from ${pidBefore} to ${row.pid} while another client held a transaction`);
    }
    await a.query(`SELECT set_config('${PROBE_SETTING}', '', false)`);
    if (!isTransactionMode) {
      evidence.push(
        isHoldingB
          ? "the session setting and the backend pid survived while another client held a transaction: each client keeps its server connection"
          : "the session setting and the backend pid survived across the connection's transactions",
      );
    }
    return { verdict: isTransactionMode ? "transaction-pooler" : "session-pooler", evidence, ...base };
  } finally {
    await owned?.close();
  }
}

/** How {@link decidePoolerPolicy} words and applies its verdict. */
export interface PoolerPolicyOptions {
  /** The URL that was probed (only its host, port, user and database are shown; never its password). */
  url: string;
  /** The variable the URL came from. */
  source: string;
  /** The loud override (`--allow-pooled-url`). */
  allowPooledUrl?: boolean;
}

function describeDirectUrl(probe: PoolerProbeResult, url: string): string {
  if (!probe.serverAddress) return "";
  try {
    const parsed = parseDatabaseUrl(url);
    // Built from the parsed parts, so a pooler reached through `?host=` and `?port=` leaves neither behind.
    const direct = redactUrl({
      ...parsed,
      endpoints: [{ host: probe.serverAddress.host, port: probe.serverAddress.port, isSocket: false }],
      parameters: parsed.parameters.filter(([key]) => key !== "pgbouncer"),
    });
    return ` The server behind it reports listening at ${probe.serverAddress.host}:${probe.serverAddress.port}, so the direct URL is probably ${direct} (if that address is reachable from here).`;
  } catch {
    return "";
  }
}

/**
 * The pooler policy on a probe's verdict: a direct connection is allowed, a session-mode pooler warned, a
 * transaction-mode pooler refused with `URL_POOLED` (exit code 2) unless the loud override is set.
 */
export function decidePoolerPolicy(probe: PoolerProbeResult, options: PoolerPolicyOptions): PolicyDecision {
  const evidence = probe.evidence.join("; ");
  if (probe.verdict === "direct") {
    return { policy: "pooler-probe", decision: "allowed", rule: "direct", message: `Direct connection: ${evidence}.` };
  }
  if (probe.verdict === "session-pooler") {
    return {
      policy: "pooler-probe",
      decision: "warned",
      rule: "session-pooler",
      message: `A session-mode pooler was detected at run time on the URL in "${options.source}" (${evidence}). Migrations work through it, but prefer the server's direct host and port in "${options.source}".`,
    };
  }
  const found = `A transaction-mode pooler was detected at run time on the URL in "${options.source}" (${redactUrl(options.url)}), although the URL itself passed the URL rules: ${evidence}.`;
  if (options.allowPooledUrl) {
    return {
      policy: "pooler-probe",
      decision: "warned",
      rule: "transaction-pooler",
      message: `--allow-pooled-url: migrating through it anyway. ${found} DDL, session settings, lock_timeout and the migration lock may fail or misbehave.`,
    };
  }
  throw new MigrateError(
    "URL_POOLED",
    `${found} A transaction-mode pooler breaks DDL, session settings and locks. Set "${options.source}" to the server's direct host and port, not the pooler's.${describeDirectUrl(probe, options.url)} To run anyway, pass --allow-pooled-url.`,
    {
      details: {
        variable: options.source,
        rule: "transaction-pooler",
        evidence: probe.evidence,
        ...(probe.serverAddress ? { serverAddress: probe.serverAddress } : {}),
      },
    },
  );
}
