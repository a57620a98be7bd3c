import { connect, type DatabaseSession } from "../db/connect.js";
import { findInvalidIndexes, type InvalidIndex } from "../execute/invalid-indexes.js";
import { describeLockHolder, findLockHolder, type LockHolder } from "../lock/migration-lock.js";
import { MigrateError, isMigrateError } from "../model/errors.js";
import { probePooler } from "../policy/pooler-probe.js";
import { redact } from "../policy/redact.js";
import { readProjectPlan, type ProjectTarget } from "../run/project-run.js";
import { loadSqlParser } from "../sql/statements.js";
import { findLandedStatements, type LandedVerdict } from "./landed-objects.js";

/** One check `doctor` made, with what to do when it is not ok. */
export interface DoctorCheck {
  check: string;
  result: "ok" | "warning" | "problem";
  message: string;
  /** The exact command (or step) that fixes it, when the result is not ok. */
  fix?: string;
  /** What the diagnosis rests on: catalog facts, sessions, rows. */
  evidence?: string[];
}

/** A session of this database, as `pg_stat_activity` tells. */
export interface DoctorSession {
  pid: number;
  applicationName: string;
  state: string | null;
  query: string | null;
  /** Seconds since its transaction (or else its query) started. */
  ageSeconds: number | null;
}

/** A session waiting for a lock, and who it waits for. */
export interface WaitingSession extends DoctorSession {
  /** `pg_blocking_pids()`: the sessions it waits for. */
  blockedBy: number[];
  /** Whether it is a migration run (a Polymigrate session, or the holder of the migration lock). */
  isMigration: boolean;
  /** The pending migration whose statement it runs, when its query is one of theirs. */
  migrationId?: string;
}

/** A migration recorded as failed, and what the live schema says about its statements. */
export interface FailedMigrationDiagnosis {
  id: string;
  landed: LandedVerdict;
  /** What to record: `applied` (every statement landed), `rolled-back` (none did), or a manual step first. */
  resolution: "applied" | "rolled-back" | "manual";
}

/** What `doctor` found on one project's database. */
export interface DoctorProjectReport {
  project: string;
  stack: string;
  checks: DoctorCheck[];
  waiting: WaitingSession[];
  blocking: DoctorSession[];
  lockHolder?: LockHolder;
  invalidIndexes: InvalidIndex[];
  failed: FailedMigrationDiagnosis[];
  /** Pending migrations whose objects already partly exist (a run that stopped outside a transaction). */
  halfApplied: FailedMigrationDiagnosis[];
}

function errorMessage(error: unknown): string {
  return redact(isMigrateError(error) || error instanceof Error ? error.message : String(error));
}

function formatVersion(versionNum: number): string {
  return `${Math.floor(versionNum / 10000)}.${versionNum % 10000}`;
}

function oneLine(query: string | null): string {
  return (query ?? "").replace(/\s+/g, " ").trim().slice(0, 200);
}

/** Reads the sessions of the connected database that wait for a lock, and the sessions they wait for. */
export async function findBlockedSessions(session: DatabaseSession): Promise<{ waiting: Omit<WaitingSession, "isMigration">[]; blocking: DoctorSession[] }> {
  const waiting = await session.client.query<{ pid: number; application_name: string; state: string | null; query: string | null; age: number | null; blocked_by: number[] }>(
    `SELECT pid, application_name, state, query, extract(epoch FROM now() - coalesce(xact_start, query_start))::int AS age,
            pg_blocking_pids(pid) AS blocked_by
       FROM pg_stat_activity
      WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0
      ORDER BY pid`,
  );
  const blockerPids = [...new Set(waiting.rows.flatMap((row) => row.blocked_by))];
  const blocking = blockerPids.length
    ? await session.client.query<{ pid: number; application_name: string; state: string | null; query: string | null; age: number | null }>(
        `SELECT pid, application_name, state, query, extract(epoch FROM now() - coalesce(xact_start, query_start))::int AS age
           FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid`,
        [blockerPids],
      )
    : { rows: [] };
  const toSession = (row: { pid: number; application_name: string; state: string | null; query: string | null; age: number | null }): DoctorSession => ({
    pid: row.pid,
    applicationName: row.application_name,
    state: row.state,
    query: row.query,
    ageSeconds: row.age,
  });
  return {
    waiting: waiting.rows.map((row) => ({ ...toSession(row), blockedBy: row.blocked_by })),
    blocking: blocking.rows.map(toSession),
  };
}

function describeSession(session: DoctorSession): string {
  const age = session.ageSeconds !== null ? `, for ${session.ageSeconds}s` : "";
  return `pid ${session.pid} ("${session.applicationName || "unnamed"}", ${session.state ?? "unknown state"}${age}): ${oneLine(session.query) || "no query"}`;
}

function resolutionOf(verdict: LandedVerdict["verdict"]): FailedMigrationDiagnosis["resolution"] {
  return verdict === "all" ? "applied" : verdict === "none" ? "rolled-back" : "manual";
}

function describeEvidence(landed: LandedVerdict): string[] {
  const lines = landed.evidence.map((item) => `line ${item.line}: ${item.effect}: ${item.hasLanded ? "landed" : "not in the schema"}`);
  if (landed.unchecked > 0) lines.push(`${landed.unchecked} statement(s) whose effect the catalog cannot show (data changes, functions, ...)`);
  return lines;
}

/**
 * `doctor` on one project's database: the connection and any pooler in the path, the migration lock holder, the
 * sessions waiting for locks and the sessions blocking them (`pg_blocking_pids()`), INVALID indexes, the history's
 * integrity, each migration recorded as failed (with whether its statements landed in the live schema), and pending
 * migrations whose objects already partly exist. Each problem comes with the exact command that fixes it and its
 * evidence. Reads only.
 */
export async function diagnoseProject(target: ProjectTarget): Promise<DoctorProjectReport> {
  const { adapter } = target;
  const report: DoctorProjectReport = { project: target.name, stack: adapter.stack, checks: [], waiting: [], blocking: [], invalidIndexes: [], failed: [], halfApplied: [] };
  const add = (check: DoctorCheck) => report.checks.push(check);
  let session: DatabaseSession | undefined;
  try {
    session = await connect(target.url.url, { source: target.url.source, applicationName: "polymigrate doctor" });
    add({ check: "connection", result: "ok", message: `PostgreSQL ${formatVersion(session.serverVersionNum)}` });
    const probe = await probePooler(target.url.url, { client: session.client, source: target.url.source });
    const evidence = probe.evidence.join("; ");
    if (probe.verdict === "transaction-pooler") {
      add({ check: "pooler", result: "problem", message: `a transaction-mode pooler sits between migrate and the server (${evidence})`, fix: `Set "${target.url.source}" to the server's direct host and port, not the pooler's.` });
    } else if (probe.verdict === "session-pooler") {
      add({ check: "pooler", result: "warning", message: `a session-mode pooler sits between migrate and the server (${evidence}); migrations work through it`, fix: `Prefer the server's direct host and port in "${target.url.source}".` });
    } else add({ check: "pooler", result: "ok", message: "direct connection (no pooler in the path)" });

    const holder = await findLockHolder(session);
    if (holder) report.lockHolder = holder;
    add(
      holder
        ? { check: "lock", result: "warning", message: `the migration lock is held by ${describeLockHolder(holder)}`, fix: `Wait for that run to finish; if it is stuck, run "migrate doctor --terminate ${holder.pid}".` }
        : { check: "lock", result: "ok", message: "the migration lock is free" },
    );

    await loadSqlParser();
    const { plan, migrations } = await readProjectPlan(adapter, session);
    const { waiting, blocking } = await findBlockedSessions(session);
    report.blocking = blocking;
    report.waiting = waiting.map((entry) => {
      const isMigration = entry.applicationName.startsWith("polymigrate") || entry.pid === holder?.pid;
      const text = oneLine(entry.query);
      const migration = text ? plan.pending.find((candidate) => candidate.sql && candidate.sql.replace(/\s+/g, " ").includes(text.replace(/;$/, ""))) : undefined;
      return { ...entry, isMigration, ...(migration ? { migrationId: migration.id } : {}) };
    });
    if (report.waiting.length === 0) add({ check: "blocked sessions", result: "ok", message: "no session is waiting for a lock" });
    for (const entry of report.waiting) {
      const what = entry.isMigration ? `the migration${entry.migrationId ? ` "${entry.migrationId}"` : ""} (${describeSession(entry)})` : `session ${describeSession(entry)}`;
      for (const pid of entry.blockedBy) {
        const blocker = blocking.find((candidate) => candidate.pid === pid);
        add({
          check: "blocked sessions",
          result: entry.isMigration ? "problem" : "warning",
          message: `${what} waits for a lock held by pid ${pid}`,
          evidence: [`waiting: ${describeSession(entry)}`, blocker ? `blocking: ${describeSession(blocker)}` : `blocking: pid ${pid}`],
          fix:
            blocker?.state === "idle in transaction"
              ? `pid ${pid} holds its lock in an open transaction and does nothing: end that transaction in its client, or run "migrate doctor --terminate ${pid}".`
              : `Wait for pid ${pid} to finish, or run "migrate doctor --terminate ${pid}".`,
        });
      }
    }

    report.invalidIndexes = await findInvalidIndexes(session.client);
    if (report.invalidIndexes.length === 0) add({ check: "invalid indexes", result: "ok", message: "no INVALID index" });
    for (const index of report.invalidIndexes) {
      add({
        check: "invalid indexes",
        result: "problem",
        message: `index "${index.schema}.${index.name}" on "${index.table}" is INVALID (a CREATE INDEX CONCURRENTLY that failed or was killed)`,
        evidence: [`pg_index.indisvalid is false for "${index.schema}.${index.name}"`],
        fix: `Run DROP INDEX CONCURRENTLY "${index.schema}"."${index.name}"; then "migrate up" builds it again (up also drops the leftovers of its own pending migrations first).`,
      });
    }

    const table = `${adapter.history.location.schema}.${adapter.history.location.table}`;
    if (!plan.hasHistoryTable) add({ check: "history", result: "ok", message: `no "${table}" yet: nothing applied; "migrate up" creates it` });
    else {
      const applied = plan.entries.filter((entry) => entry.state === "applied").length;
      add({ check: "history", result: "ok", message: `"${table}": ${applied} applied, ${plan.pending.length} pending` });
    }
    for (const problem of plan.problems) {
      if (problem.kind === "failed" || problem.kind === "unfinished") continue;
      add({ check: `integrity: ${problem.kind}`, result: "problem", message: problem.message });
    }

    const byId = new Map(migrations.map((migration) => [migration.id, migration]));
    for (const entry of plan.entries.filter((candidate) => candidate.state === "failed" || candidate.state === "unfinished")) {
      const migration = byId.get(entry.id);
      // An unfinished migration ran outside a transaction and its run died: how far it got, as the run recorded it.
      const record = entry.unfinished;
      const check = record ? "unfinished migration" : "failed migration";
      const state = record
        ? `was started outside a transaction at ${record.startedAt} and did not finish (${record.statementsApplied === null ? "its statement count is unknown" : `${record.statementsApplied}${record.statementsTotal === null ? "" : ` of ${record.statementsTotal}`} statement(s) recorded as completed`})`
        : "is recorded as failed";
      const recorded = record?.statementsApplied == null ? [] : [`the run recorded ${record.statementsApplied} completed statement(s) before it stopped`];
      if (!migration?.sql) {
        add({ check, result: "problem", message: `"${entry.id}" ${state} in "${table}"`, fix: adapter.describeFailedFix?.(entry.id) ?? `Finish or undo it by hand, then run "migrate resolve --applied ${entry.id}" or "migrate resolve --rolled-back ${entry.id}".`, ...(recorded.length ? { evidence: recorded } : {}) });
        continue;
      }
      const landed = await findLandedStatements(session.client, migration.sql);
      const diagnosis: FailedMigrationDiagnosis = { id: entry.id, landed, resolution: resolutionOf(landed.verdict) };
      report.failed.push(diagnosis);
      add({ check, result: "problem", ...describeFailed(entry.id, landed, state), evidence: [...recorded, ...describeEvidence(landed)] });
    }

    for (const migration of plan.pending) {
      if (!migration.sql) continue;
      const landed = await findLandedStatements(session.client, migration.sql);
      if (!landed.evidence.some((item) => item.isCreation && item.hasLanded)) continue;
      report.halfApplied.push({ id: migration.id, landed, resolution: resolutionOf(landed.verdict) });
      add({ check: "half-applied migration", result: "problem", ...describeFailed(migration.id, landed, "is pending, but its objects already exist in part"), evidence: describeEvidence(landed) });
    }
  } catch (error) {
    add({ check: session ? "database" : "connection", result: "problem", message: errorMessage(error) });
  } finally {
    await session?.close();
  }
  return report;
}

function describeFailed(id: string, landed: LandedVerdict, state: string): { message: string; fix: string } {
  switch (landed.verdict) {
    case "all":
      return { message: `"${id}" ${state}; every statement's effect is in the live schema: it landed`, fix: `migrate resolve --applied ${id}` };
    case "none":
      return { message: `"${id}" ${state}; none of its statements' effects is in the live schema: nothing landed`, fix: `migrate resolve --rolled-back ${id}` };
    case "partial": {
      const landedList = landed.evidence.filter((item) => item.hasLanded).map((item) => `line ${item.line} (${item.effect})`);
      const missing = landed.evidence.filter((item) => !item.hasLanded).map((item) => `line ${item.line} (${item.effect})`);
      return {
        message: `"${id}" ${state}; it landed in part: ${landedList.join(", ")} landed; ${missing.join(", ")} did not`,
        fix: `Either run the statements that did not land by hand, then "migrate resolve --applied ${id}"; or undo the ones that landed, then "migrate resolve --rolled-back ${id}".`,
      };
    }
    default:
      return { message: `"${id}" ${state}; the catalog cannot tell whether its statements landed`, fix: `Check its statements by hand, then "migrate resolve --applied ${id}" or "migrate resolve --rolled-back ${id}".` };
  }
}

/** What {@link terminateBlocker} did. */
export interface TerminateResult {
  pid: number;
  terminated: boolean;
  /** Why this backend could be ended: it blocks a migration, or holds the migration lock. */
  reason: string;
}

/**
 * Ends one backend by its pid (`pg_terminate_backend`), only when it blocks a waiting migration session or holds the
 * migration lock on this database; any other pid is refused (`USAGE`). Never a pattern.
 */
export async function terminateBlocker(
  target: ProjectTarget,
  pid: number,
  options: { confirm?: (question: string) => Promise<boolean> } = {},
): Promise<TerminateResult> {
  const session = await connect(target.url.url, { source: target.url.source, applicationName: "polymigrate doctor" });
  try {
    const holder = await findLockHolder(session);
    const { waiting } = await findBlockedSessions(session);
    const blocksMigration = waiting.some((entry) => entry.blockedBy.includes(pid) && (entry.applicationName.startsWith("polymigrate") || entry.pid === holder?.pid));
    const reason = holder?.pid === pid ? "it holds the migration lock" : blocksMigration ? "it blocks a migration waiting for a lock" : undefined;
    if (!reason) {
      throw new MigrateError(
        "USAGE",
        `pid ${pid} neither blocks a migration nor holds the migration lock on this database, so "migrate doctor --terminate" will not end it. Run "migrate doctor" to see which sessions block a migration.`,
      );
    }
    if (options.confirm) {
      const [row] = (await findBlockedSessions(session)).blocking.filter((candidate) => candidate.pid === pid);
      const question = `End backend ${row ? describeSession(row) : `pid ${pid}`}? ${reason[0]!.toUpperCase()}${reason.slice(1)}.`;
      if (!(await options.confirm(question))) return { pid, terminated: false, reason: "not confirmed" };
    }
    const result = await session.client.query<{ terminated: boolean }>("SELECT pg_terminate_backend($1) AS terminated", [pid]);
    return { pid, terminated: result.rows[0]?.terminated === true, reason };
  } finally {
    await session.close();
  }
}
