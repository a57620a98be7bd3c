import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { BOOKKEEPING_SCHEMAS, HISTORY_TABLES } from "../catalog/catalog-snapshot.js";
import { connect, quoteIdent, type DatabaseSession } from "../db/connect.js";
import { MigrateError } from "../model/errors.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { ProjectReport, RehearsalReport, RehearsedMigration } from "../model/report.js";
import { redact, redactUrl } from "../policy/redact.js";
import { pgEnvironment } from "../snapshot/pg-tools.js";
import { loadSqlParser, splitStatements } from "../sql/statements.js";
import { readProjectPlan, selectPending, startReport, upProject, type ProjectCommandOptions, type ProjectTarget } from "../run/project-run.js";
import { locksOfStatement, type StatementLock } from "./statement-locks.js";
import { createNeonBranch, deleteNeonBranch, neonBranchUrl, type NeonSettings } from "../neon/neon-api.js";

/** Options of {@link rehearseProject}. */
export interface RehearseOptions extends ProjectCommandOptions {
  /** Copy the schema only, not the data (for large databases); forces the pg_dump copy. */
  noData?: boolean;
  /** Neon configured: the copy is a Neon branch of the target, made through Neon's API and deleted after. */
  neon?: NeonSettings;
}

function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}

interface RelationState {
  oid: number;
  name: string;
  relfilenode: number;
  inserted: number;
  updated: number;
  deleted: number;
}

// The tables of the copy with their storage file and the statistics' row counters. Statistics reach shared memory when
// a backend exits: the caller waits for the run's sessions to end first, and clears this session's cached snapshot.
async function readRelations(client: pg.Client): Promise<Map<number, RelationState>> {
  await client.query("SELECT pg_stat_clear_snapshot()");
  const result = await client.query<{ oid: number; name: string; relfilenode: number; ins: string | null; upd: string | null; del: string | null }>(
    `SELECT c.oid::int AS oid, format('%s.%s', n.nspname, c.relname) AS name, c.relfilenode::int AS relfilenode,
            s.n_tup_ins AS ins, s.n_tup_upd AS upd, s.n_tup_del AS del
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
  );
  return new Map(
    result.rows.map((row) => [
      row.oid,
      { oid: row.oid, name: row.name, relfilenode: row.relfilenode, inserted: Number(row.ins ?? 0), updated: Number(row.upd ?? 0), deleted: Number(row.del ?? 0) },
    ]),
  );
}

async function waitForOtherSessions(client: pg.Client, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await client.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    if (result.rowCount === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// "AccessExclusiveLock" -> "ACCESS EXCLUSIVE", the documentation's spelling.
function lockModeName(mode: string): string {
  return mode.replace(/Lock$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

/**
 * Samples `pg_locks` every 20 ms while a migration runs on the copy: the relation locks held by the copy's other
 * sessions (only the run's own are there). A sample can miss a lock held for less than its interval, so it confirms the
 * locks derived from the statements rather than replacing them.
 */
function sampleRelationLocks(client: pg.Client): { stop: () => void; done: Promise<Array<{ relation: string; mode: string }>> } {
  let isRunning = true;
  const seen = new Map<string, { relation: string; mode: string }>();
  const done = (async () => {
    while (isRunning) {
      try {
        const result = await client.query<{ relation: string; mode: string }>(
          `SELECT format('%s.%s', n.nspname, c.relname) AS relation, l.mode
             FROM pg_locks l
             JOIN pg_database d ON d.oid = l.database AND d.datname = current_database()
             JOIN pg_class c ON c.oid = l.relation
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'p', 'm')`,
        );
        for (const row of result.rows) {
          const mode = lockModeName(row.mode);
          seen.set(`${row.relation}|${mode}`, { relation: row.relation, mode });
        }
      } catch {
        // A sample that fails (the copy's session ended under it) is just a missed sample.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return [...seen.values()];
  })();
  return { stop: () => (isRunning = false), done };
}

async function otherSessionCount(admin: pg.Client, database: string): Promise<number> {
  const result = await admin.query<{ count: number }>("SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database]);
  return result.rows[0]?.count ?? 0;
}

// pg_dump | pg_restore, without a shell: the server, user and password reach both through libpq's environment only;
// pg_restore's --dbname carries the copy's bare name, which is no secret.
function dumpAndRestore(url: string, copy: string, dumpOptions: string[], restoreOptions: string[] = []): Promise<void> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PG") && value !== undefined) base[key] = value;
  const env = { ...base, ...pgEnvironment(url) };
  const dumpArgs = ["--format=custom", "--no-owner", "--no-acl", ...dumpOptions];
  const restoreArgs = ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", ...restoreOptions, `--dbname=${copy}`];
  return new Promise((resolve, reject) => {
    const dump = spawn("pg_dump", dumpArgs, { env, stdio: ["ignore", "pipe", "pipe"] });
    const restore = spawn("pg_restore", restoreArgs, { env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    dump.stderr.on("data", (chunk) => (stderr += chunk));
    restore.stderr.on("data", (chunk) => (stderr += chunk));
    dump.stdout.pipe(restore.stdin);
    restore.stdin.on("error", () => {});
    let failed = false;
    const fail = (tool: string, error: unknown) => {
      if (failed) return;
      failed = true;
      const missing = (error as NodeJS.ErrnoException)?.code === "ENOENT";
      reject(
        new MigrateError(
          missing ? "TOOL_UNAVAILABLE" : "CHILD_PROCESS_FAILED",
          missing
            ? `"${tool}" was not found on PATH. Install PostgreSQL's client programs (Debian: apt-get install postgresql-client), then run "migrate rehearse" again.`
            : `Could not copy the target into "${copy}" with pg_dump | pg_restore: ${redact(stderr.trim().split("\n").slice(-3).join(" ") || String(error))}. Check the server, then run "migrate rehearse" again.`,
          { details: { command: tool } },
        ),
      );
    };
    let dumpCode: number | null | undefined;
    dump.on("error", (error) => fail("pg_dump", error));
    restore.on("error", (error) => fail("pg_restore", error));
    dump.on("close", (code) => {
      dumpCode = code;
      if (code !== 0) fail("pg_dump", `exit ${code}`);
    });
    restore.on("close", (code) => {
      if (code !== 0) return fail("pg_restore", `exit ${code}`);
      if (dumpCode !== undefined && dumpCode !== 0) return;
      if (!failed) resolve();
    });
  });
}

async function locksOfMigration(target: ProjectTarget, migration: Migration, copyUrl: string): Promise<{ locks: StatementLock[]; source: RehearsedMigration["lockSource"] }> {
  let sql = migration.sql;
  if (sql === undefined && target.adapter.native?.renderSql) {
    try {
      const rendered = await target.adapter.native.renderSql([migration], { url: copyUrl, env: {}, emit: () => {}, project: target.name });
      sql = rendered[migration.id];
    } catch {
      // Without its offline SQL, a native migration's locks are unknown; the run itself still reports.
      return { locks: [], source: "unknown" };
    }
  }
  if (sql === undefined) return { locks: [], source: "unknown" };
  const { statements } = splitStatements(sql);
  return { locks: statements.flatMap(locksOfStatement), source: migration.sql === undefined ? "offline-sql" : "sql" };
}

/**
 * `rehearse`: applies the pending migrations to a throwaway copy of the target database, made for the run on the
 * target's server (`CREATE DATABASE ... TEMPLATE` when nobody else is connected to the target, else pg_dump | pg_restore,
 * schema only with `noData`), one migration at a time, and reports for each its duration, the table locks its
 * statements take (from their kind and the relations they name: see {@link locksOfStatement}), the tables it rewrote
 * (their storage file changed) and the rows it inserted, updated and deleted (from the statistics). Then drops the copy.
 * The target is only read (by pg_dump, or as a template).
 *
 * @example
 * const report = await rehearseProject(target, { noData: true });
 * for (const migration of report.rehearsal?.migrations ?? []) console.log(migration.id, migration.durationMs);
 */
export async function rehearseProject(target: ProjectTarget, options: RehearseOptions = {}): Promise<ProjectReport> {
  const started = performance.now();
  const copy = `polymigrate_rehearse_${randomBytes(5).toString("hex")}`;
  let copyUrl = databaseUrl(target.url.url, copy);
  const source = databaseOf(target.url.url);
  let scratch: ProjectTarget = { ...target, url: { ...target.url, url: copyUrl, display: redactUrl(copyUrl) } };
  const report: ProjectReport = startReport(target);
  const rehearsal: RehearsalReport = { copy, method: "template", withData: !options.noData, migrations: [] };
  report.rehearsal = rehearsal;
  // The admin session sits on the server's maintenance database: a session on the target would stop it being a template.
  let admin: DatabaseSession | undefined;
  if (!options.neon) {
    try {
      admin = await connect(databaseUrl(target.url.url, "postgres"), { source: target.url.source, applicationName: "polymigrate rehearse" });
    } catch {
      admin = await connect(databaseUrl(target.url.url, "template1"), { source: target.url.source, applicationName: "polymigrate rehearse" });
    }
  }
  let created = false;
  let neonBranchId: string | undefined;
  try {
    if (options.neon) {
      // Neon: the copy is a branch of the target (copy-on-write, schema and data), reached at its own endpoint.
      const createdAt = new Date();
      const branch = await createNeonBranch({ settings: options.neon, name: copy.replace(/_/g, "-"), targetUrl: target.url.url });
      neonBranchId = branch.id;
      copyUrl = neonBranchUrl(target.url.url, branch.host);
      scratch = { ...target, url: { ...target.url, url: copyUrl, display: redactUrl(copyUrl) } };
      Object.assign(rehearsal, {
        copy: branch.name,
        method: "neon-branch",
        withData: true,
        reason: `Neon is configured: the copy is Neon branch "${branch.name}" (${branch.id}) of the target${options.noData ? ", with its data (a branch always has it; --no-data does not apply)" : ""}, deleted after`,
        neonBranch: { id: branch.id, name: branch.name, ...(branch.parentId ? { parentId: branch.parentId } : {}), host: branch.host, createdAt: createdAt.toISOString() },
      } satisfies Partial<RehearsalReport>);
    }
    const others = admin ? await otherSessionCount(admin.client, source) : 0;
    let templated = Boolean(options.neon);
    if (!admin) {
      // Neon: the branch is the copy.
    } else if (!options.noData && others === 0) {
      try {
        await admin.client.query(`CREATE DATABASE ${quoteIdent(copy)} TEMPLATE ${quoteIdent(source)}`);
        templated = true;
        created = true;
        rehearsal.reason = "no other session was connected to the target: copied as a template";
      } catch (cause) {
        // Someone connected in between ("source database is being accessed by other users"): fall back to a dump.
        rehearsal.reason = `the template copy failed (${redact((cause as Error).message)}): copied with pg_dump | pg_restore`;
      }
    } else {
      rehearsal.reason = options.noData
        ? "--no-data: the schema only, copied with pg_dump --schema-only | pg_restore"
        : `${others} other session(s) connected to the target, so it cannot serve as a template: copied with pg_dump | pg_restore`;
    }
    if (!templated && admin) {
      rehearsal.method = "dump";
      try {
        await admin.client.query(`CREATE DATABASE ${quoteIdent(copy)}`);
      } catch (cause) {
        throw new MigrateError(
          "CONNECTION_FAILED",
          `Could not create the throwaway database "${copy}" on the server of "${target.url.source}": ${redact((cause as Error).message)}. "migrate rehearse" needs a role with CREATEDB on that server.`,
          { cause },
        );
      }
      created = true;
      if (options.noData) {
        // Schema only, but the history table keeps its rows: without them every migration would look pending.
        const { schema, table } = target.adapter.history.location;
        await dumpAndRestore(target.url.url, copy, ["--schema-only"]);
        await dumpAndRestore(target.url.url, copy, ["--data-only", `--table=${quoteIdent(schema)}.${quoteIdent(table)}`]).catch((error: unknown) => {
          // No history table yet: nothing to copy, every migration is pending on the target too.
          if (!/no matching tables/i.test((error as Error).message)) throw error;
        });
      } else {
        await dumpAndRestore(target.url.url, copy, []);
      }
    }
    await loadSqlParser();
    const history = `${target.adapter.history.location.schema}.${target.adapter.history.location.table}`;
    // The run's own bookkeeping (history tables, Polymigrate's and Drizzle's schemas) is not what the user asks about.
    const isBookkeeping = (name: string) => name === history || HISTORY_TABLES.includes(name) || BOOKKEEPING_SCHEMAS.some((schema) => name.startsWith(`${schema}.`));
    const observer = await connect(copyUrl, { applicationName: "polymigrate rehearse" });
    try {
      const { plan } = await readProjectPlan(target.adapter, observer);
      const pending = target.adapter.selectPending ? target.adapter.selectPending(plan, options.to) : selectPending(plan, options.to);
      for (const migration of pending) {
        const { locks, source: lockSource } = await locksOfMigration(target, migration, copyUrl);
        const before = await readRelations(observer.client);
        const emit: EventSink = (event) => options.emit?.(event);
        const sampler = sampleRelationLocks(observer.client);
        const run = await upProject(scratch, { ...options, emit, to: migration.id }).finally(() => sampler.stop());
        const observed = (await sampler.done).filter((seen) => !isBookkeeping(seen.relation));
        for (const lock of locks) {
          const relname = lock.relation.split(".").at(-1);
          if (observed.some((seen) => seen.relation.split(".").at(-1) === relname && seen.mode === lock.mode)) lock.isObserved = true;
        }
        await waitForOtherSessions(observer.client);
        const after = await readRelations(observer.client);
        const ran = run.migrations.find((entry) => entry.id === migration.id);
        const rehearsed: RehearsedMigration = {
          id: migration.id,
          name: migration.name,
          outcome: ran?.outcome ?? (run.error ? "failed" : "pending"),
          ...(ran?.durationMs !== undefined ? { durationMs: ran.durationMs } : {}),
          locks,
          lockSource,
          observedLocks: observed,
          tablesRewritten: [],
          rowsChanged: [],
          ...(ran?.error ? { error: ran.error.message } : run.error ? { error: run.error.message } : {}),
        };
        for (const [oid, state] of after) {
          if (isBookkeeping(state.name)) continue;
          const previous = before.get(oid);
          if (previous && previous.relfilenode !== state.relfilenode) rehearsed.tablesRewritten.push(state.name);
          const inserted = state.inserted - (previous?.inserted ?? 0);
          const updated = state.updated - (previous?.updated ?? 0);
          const deleted = state.deleted - (previous?.deleted ?? 0);
          if (inserted > 0 || updated > 0 || deleted > 0) rehearsed.rowsChanged.push({ table: state.name, inserted, updated, deleted });
        }
        rehearsal.migrations.push(rehearsed);
        report.migrations.push(...run.migrations);
        if (run.outcome !== "success") {
          report.outcome = run.outcome;
          if (run.error) report.error = run.error;
          break;
        }
      }
    } finally {
      await observer.close();
    }
  } catch (error) {
    report.outcome = "failed";
    report.error = { code: (error as MigrateError).code ?? "MIGRATION_FAILED", message: redact((error as Error).message) };
  } finally {
    if (created && admin) await admin.client.query(`DROP DATABASE IF EXISTS ${quoteIdent(copy)} WITH (FORCE)`).catch(() => {});
    await admin?.close();
    if (neonBranchId && options.neon) {
      await deleteNeonBranch({ settings: options.neon, branchId: neonBranchId }).catch((error: unknown) => {
        const message = `Could not delete the rehearsal's Neon branch "${rehearsal.copy}" (${neonBranchId}): ${redact((error as Error).message)} Delete it in Neon's console.`;
        options.emit?.({ type: "notice", project: target.name, level: "warning", message });
        rehearsal.reason = `${rehearsal.reason ?? ""}; ${message}`;
      });
    }
    report.durationMs = Math.round(performance.now() - started);
  }
  return report;
}
