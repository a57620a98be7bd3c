import { CLIENT_CHECK_INTERVAL_MS, READ_LOCK_TIMEOUT_MS, connect, quoteIdent, type DatabaseSession } from "../db/connect.js";
import { inTransaction } from "../db/queryable.js";
import { applyMigrations, createNativeExecutor, rollbackMigrations } from "../execute/apply-plan.js";
import { runSteps, type LedgerProgress, type StepLoopOptions, type StepLoopResult } from "../execute/step-loop.js";
import { clearFinishedRecords, clearUnfinished, readUnfinished } from "../execute/unfinished-store.js";
import { acquireMigrationLock, describeLockHolder, waitForEarlierRuns, type MigrationLock } from "../lock/migration-lock.js";
import { createRunId, sessionName } from "./run-id.js";
import type { NativeRunContext, StackAdapter } from "../model/adapter.js";
import { MigrateError, REFUSAL_CODES, isMigrateError, type MigrateErrorCode } from "../model/errors.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { IntegrityProblemKind, Plan } from "../model/plan.js";
import type { InterruptedRunReport, ProjectReport } from "../model/report.js";
import { applyUnfinished, planRun } from "../plan/plan-run.js";
import type { ResolvedUrl } from "../policy/direct-url-policy.js";
import { decidePoolerPolicy, probePooler } from "../policy/pooler-probe.js";
import { redact, redactValue } from "../policy/redact.js";
import { DEFAULT_SAFETY, isLockTimeout, type SafetySettings } from "../execute/session-settings.js";
import { cleanInvalidIndexesBefore, findInvalidIndexes } from "../execute/invalid-indexes.js";
import { recordRestorePoint, requireProductionConfirmation, type ProductionMark } from "../policy/production-guard.js";
import { checkPendingSafety, type UpLintSettings } from "../lint/lint-pending.js";
import { join } from "node:path";
import { isIrreversibleDown } from "../rollback/generate-down.js";
import { findCoveringSnapshot, readSnapshotManifest, describeSnapshotDatabase } from "../snapshot/snapshot-manifest.js";
import { takeSnapshot } from "../snapshot/take-snapshot.js";
import { restoreSnapshot } from "../snapshot/restore-snapshot.js";
import { detectDrift, findInterruptedRun, recordRunInLedger, writeLedgerRow } from "../ledger/ledger-run.js";
import { appendLedgerMigration, describeActor, hasLedger, readLedgerRuns, startLedgerRun, type InterruptedRun, type LedgerCommand } from "../ledger/ledger-store.js";
import { branchFirstName, createNeonBranch, type NeonSettings } from "../neon/neon-api.js";

/** One project, ready to run: its adapter and the URL the direct-URL policy accepted. */
export interface ProjectTarget {
  name: string;
  adapter: StackAdapter;
  url: ResolvedUrl;
  /** The loud override `--allow-pooled-url`: a transaction-mode pooler found at run time only warns. */
  allowPooledUrl?: boolean;
  /** Set when the project is production (its configuration says so, or MIGRATE_ENV=production). */
  production?: ProductionMark;
}

/** Options shared by the project commands. */
export interface ProjectCommandOptions {
  emit?: EventSink;
  /** How long to wait for another run's migration lock; default 60 s. */
  lockWaitMs?: number;
  /** Integrity problems that do not block `up` (`failed` always does). */
  allow?: IntegrityProblemKind[];
  /** `up` only: apply pending migrations up to and including this id. */
  to?: string;
  /** lock_timeout, statement_timeout and retries of each migration's session (`up`, `down`). */
  safety?: SafetySettings;
  /** The database name, repeated to allow `down` on a production project. */
  confirm?: string;
  /** `up` only: lint the pending migrations first and refuse errors, unless `allowUnsafe`. Absent: no lint. */
  lint?: UpLintSettings;
  /** Where snapshots live: `<configuration folder or cwd>/.polymigrate/snapshots` (default: under the process's cwd). */
  snapshotsDir?: string;
  /** `up --snapshot`: save what the run may change first; `includeData` is `--snapshot-data`. */
  snapshot?: { includeData: boolean };
  /** `up --branch-first`: make a Neon branch of the target (its state now) before applying anything. */
  branchFirst?: NeonSettings;
  /**
   * Asks the run to stop (SIGINT, SIGTERM): the migration in a transaction is cancelled and rolled back, one outside a
   * transaction runs to its end, nothing after it starts, and the report says so (error code `INTERRUPTED`).
   */
  signal?: AbortSignal;
  /** The run's id (in every session's `application_name`); default: a new one. */
  runId?: string;
}

/** What `resolve` records. */
export interface ResolveSelection {
  id: string;
  as: "applied" | "rolled-back";
}

/** What `down` undoes: one step by default. */
export interface DownSelection {
  steps?: number;
  /** Undo every migration applied after this one; `base` undoes them all. */
  to?: string;
}

/** A plan with the migrations it compared, for the commands that need both. */
export interface ProjectPlan {
  plan: Plan;
  migrations: Migration[];
  /** Started records of migrations the history shows as finished: `up` clears them. */
  staleUnfinished?: string[];
}

const noop: EventSink = () => {};

/** A project's report before any work: its place, its database and the URL policy's decisions. */
export function startReport(target: ProjectTarget): ProjectReport {
  return {
    project: target.name,
    stack: target.adapter.stack,
    dir: target.adapter.dir,
    database: target.url.display,
    urlSource: target.url.source,
    outcome: "success",
    policies: [...target.url.decisions],
    migrations: [],
    problems: [],
    durationMs: 0,
  };
}

function historyTableName(adapter: StackAdapter): string {
  return `${adapter.history.location.schema}.${adapter.history.location.table}`;
}

/** Reads disk and history and compares them; read-only (a missing history table means nothing is applied). */
export async function readProjectPlan(adapter: StackAdapter, session: DatabaseSession): Promise<ProjectPlan> {
  const migrations = await adapter.readMigrations();
  const hasHistoryTable = await adapter.history.exists(session.client);
  const history = hasHistoryTable ? await adapter.history.read(session.client) : [];
  const plan = planRun(migrations, history, {
    historyTable: historyTableName(adapter),
    dir: adapter.dir,
    ...(adapter.describeFailedFix ? { failedHint: (id: string) => adapter.describeFailedFix!(id) } : {}),
  });
  const computed = { ...plan, hasHistoryTable };
  const reviewed = adapter.reviewPlan ? await adapter.reviewPlan(computed, session.client) : computed;
  const { plan: withUnfinished, stale } = applyUnfinished(reviewed, await readUnfinished(session.client, historyTableName(adapter)));
  return { plan: withUnfinished, migrations, staleUnfinished: stale };
}

/** What a command's work gets besides its session: the run's id and its ledger row. */
interface RunState {
  runId: string;
  ledger: RunLedger;
}

/** The ledger row of a run that changes migrations: written when the first one starts, completed at the end. */
interface RunLedger {
  progress: LedgerProgress;
  id(): number | undefined;
}

function createRunLedger(session: DatabaseSession, target: ProjectTarget, command: LedgerCommand | undefined, runId: string, emit: EventSink): RunLedger {
  let id: number | undefined;
  let position = 0;
  return {
    id: () => id,
    progress: {
      async open() {
        if (!command || id !== undefined) return;
        try {
          id = await startLedgerRun(session.client, { command, project: target.name, stack: target.adapter.stack, actor: describeActor(), runId });
        } catch (error) {
          emit({ type: "notice", project: target.name, level: "warning", message: `Could not record this run's start in the ledger (polymigrate.ledger): ${redact(error instanceof Error ? error.message : String(error))}. The run goes on.` });
        }
      },
      async append(db, migration) {
        if (id !== undefined) await appendLedgerMigration(db, id, position, migration);
        position += 1;
      },
    },
  };
}

// The commands that change the database: their sessions ask the server to watch for a vanished client.
const CHANGING_COMMANDS = new Set(["up", "down", "resolve", "restore-snapshot", "baseline", "reset"]);

// Runs `work` on a fresh session and turns errors into the report: a MigrateError keeps its code; anything else is a
// failure of the run. Everything that leaves goes through the redaction path.
async function runProject(
  target: ProjectTarget,
  options: ProjectCommandOptions,
  work: (session: DatabaseSession, report: ProjectReport, emit: EventSink, run: RunState) => Promise<void>,
  ledgerCommand?: LedgerCommand,
  command: string = ledgerCommand ?? "read",
): Promise<ProjectReport> {
  const emit = options.emit ?? noop;
  const report = startReport(target);
  const started = performance.now();
  const runId = options.runId ?? createRunId();
  const applicationName = sessionName(command, runId);
  emit({ type: "project-start", project: target.name, stack: target.adapter.stack, database: target.url.display });
  for (const decision of target.url.decisions) {
    if (decision.decision === "warned") emit({ type: "notice", project: target.name, level: "warning", message: decision.message });
  }
  let session: DatabaseSession | undefined;
  let ledger: RunLedger | undefined;
  try {
    session = await connect(target.url.url, {
      source: target.url.source,
      lockTimeoutMs: READ_LOCK_TIMEOUT_MS,
      applicationName,
      isWatched: CHANGING_COMMANDS.has(command),
    });
    ledger = createRunLedger(session, target, ledgerCommand, runId, emit);
    await work(session, report, emit, { runId, ledger });
  } catch (error) {
    const code = isMigrateError(error) ? error.code : "MIGRATION_FAILED";
    report.outcome = isMigrateError(error) && isRefusal(code) ? "refused" : "failed";
    report.error = {
      code,
      message: redact(error instanceof Error ? error.message : String(error)),
      ...(isMigrateError(error) ? { details: redactValue(error.details) } : {}),
    };
  }
  if (report.outcome === "success" && report.migrations.some((migration) => migration.outcome === "failed")) {
    report.outcome = "failed";
  }
  report.durationMs = Math.round(performance.now() - started);
  // The ledger: a run that started changing things completes the row it wrote then; any other run that connected and
  // was not refused is recorded after it (failed ones too), unless it had nothing to do. Never fails the run.
  const startedId = ledger?.id();
  const isWorthRecording = report.outcome !== "refused" && (ledgerCommand === "restore-snapshot" || report.outcome === "failed" || report.migrations.length > 0);
  if (ledgerCommand && session && (startedId !== undefined || isWorthRecording)) {
    report.ledger = await recordRunInLedger(target, report, ledgerCommand, { ...(startedId === undefined ? {} : { startedId }), applicationName, session });
    if (report.ledger.warning) emit({ type: "notice", project: target.name, level: "warning", message: report.ledger.warning });
  }
  await session?.close();
  emit({ type: "project-end", project: target.name, outcome: report.outcome });
  return redactValue(report);
}

function isRefusal(code: string): boolean {
  return REFUSAL_CODES.has(code as MigrateErrorCode);
}

// The pooler probe, for the commands that change the schema: after connecting, before the lock. A transaction-mode
// pooler is refused (URL_POOLED) even when the URL looks direct; a session-mode one is allowed with a warning.
async function checkPooler(target: ProjectTarget, session: DatabaseSession, report: ProjectReport, emit: EventSink): Promise<void> {
  const probe = await probePooler(target.url.url, { client: session.client, source: target.url.source });
  try {
    const decision = decidePoolerPolicy(probe, {
      url: target.url.url,
      source: target.url.source,
      ...(target.allowPooledUrl ? { allowPooledUrl: true } : {}),
    });
    report.policies.push(decision);
    if (decision.decision === "warned") emit({ type: "notice", project: target.name, level: "warning", message: decision.message });
  } catch (error) {
    if (isMigrateError(error)) report.policies.push({ policy: "pooler-probe", decision: "refused", rule: probe.verdict, message: error.message });
    throw error;
  }
}

/**
 * Takes the migration lock on the command's own session (so nothing commits once it is gone), then waits for the
 * sessions of earlier runs that are still at work (a killed run's statement goes on until the server notices), and
 * runs `work` under the lock.
 */
async function withLock<T>(
  target: ProjectTarget,
  options: ProjectCommandOptions,
  emit: EventSink,
  report: ProjectReport,
  session: DatabaseSession,
  run: RunState,
  work: (lock: MigrationLock) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const waitMs = options.lockWaitMs ?? 60_000;
  const lock = await acquireMigrationLock(session, {
    waitMs,
    onWait: (holder) =>
      emit({ type: "lock-waiting", project: target.name, ...(holder ? { holder: describeLockHolder(holder) } : {}) }),
  });
  try {
    await waitForEarlierRuns(session, run.runId, {
      waitMs: Math.max(0, waitMs - (Date.now() - started)),
      onWait: (sessions) =>
        emit({
          type: "notice",
          project: target.name,
          level: "warning",
          message: `Waiting for ${sessions.length} session(s) of an earlier run still at work on the database (${sessions.map((entry) => `pid ${entry.pid}, "${entry.applicationName}"`).join("; ")}): it may have been killed while its statement runs on.`,
        }),
    });
    const waitedMs = Date.now() - started;
    emit({ type: "lock-acquired", project: target.name, waitedMs });
    if (lock.hasWaited || waitedMs > 1000) report.lockWaitedMs = waitedMs;
    return await work(lock);
  } finally {
    await lock.release();
  }
}

/** Turns how a step loop stopped early into the run's error (the migrations' own errors are in their reports). */
function reportLoopStop(report: ProjectReport, result: StepLoopResult, options: ProjectCommandOptions): void {
  if (result.isLockLost) {
    const failed = result.reports.find((migration) => migration.outcome === "failed");
    const notRun = result.reports.filter((migration) => migration.outcome === "skipped").length;
    throw new MigrateError(
      "LOCK_LOST",
      `This run lost the migration lock: its session ended (terminated by an administrator or a server timeout, or a dropped connection)${failed ? `, so "${failed.id}" did not commit` : ""}, and ${notRun} migration(s) after it were not run. Nothing ran without the lock. Run "migrate status" to see the state, then "migrate up" again.`,
      { details: { failed: failed?.id, notRun } },
    );
  }
  if (result.isInterrupted) {
    const reason = options.signal?.reason instanceof Error ? options.signal.reason.message : String(options.signal?.reason ?? "a stop request");
    const notRun = result.reports.filter((migration) => migration.outcome === "skipped").length;
    report.error = {
      code: "INTERRUPTED",
      message: `Stopped by ${reason}: the migration in progress was rolled back (or, outside a transaction, finished), ${notRun} migration(s) were not run. Run "migrate up" to go on.`,
      details: { notRun },
    };
    report.outcome = "failed";
  }
}

/**
 * `status`: the state of every migration, and the integrity problems, without changing anything.
 *
 * @example
 * const report = await inspectProject({ name: "app", adapter, url: resolveMigrationUrl() });
 */
export function inspectProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { plan } = await readProjectPlan(target.adapter, session);
    report.problems = plan.problems;
    report.status = plan.entries.map((entry) => ({
      id: entry.id,
      name: entry.name,
      state: entry.state,
      ...(entry.history?.appliedAt ? { appliedAt: entry.history.appliedAt.toISOString() } : {}),
      ...(entry.isOutOfOrder ? { isOutOfOrder: true } : {}),
      ...(entry.unfinished
        ? {
            unfinished: {
              startedAt: entry.unfinished.startedAt,
              runId: entry.unfinished.runId,
              direction: entry.unfinished.direction,
              ...(entry.unfinished.statementsApplied === null ? {} : { statementsApplied: entry.unfinished.statementsApplied }),
              ...(entry.unfinished.statementsTotal === null ? {} : { statementsTotal: entry.unfinished.statementsTotal }),
            },
          }
        : {}),
    }));
    // A run that did not complete is named, and drift is not judged against a run that could not record its schema.
    const interrupted = await findInterruptedRun(session.client).catch(() => undefined);
    if (interrupted) {
      report.interruptedRun = describeInterruptedRun(interrupted);
      emit({ type: "notice", project: target.name, level: "warning", message: interruptedRunMessage(report.interruptedRun) });
      if (!interrupted.hasSchema) return;
    }
    // Drift: the live schema against the one the database's last ledger row recorded (per database, whichever
    // project wrote it). A failed check is a warning, never a failed status.
    try {
      const drift = await detectDrift(session.client);
      if (drift) {
        report.drift = drift;
        emit({
          type: "notice",
          project: target.name,
          level: "warning",
          message: `The schema changed outside migrate since the last recorded run (${drift.command} of "${drift.project}" at ${drift.since}): ${drift.differences.length} change(s), ${drift.differences.map((difference) => `${difference.kind} "${difference.name}" ${difference.change}`).join(", ")}. Turn it into a migration, or accept it with "migrate baseline".`,
        });
      }
    } catch (error) {
      emit({ type: "notice", project: target.name, level: "warning", message: `Could not check for drift: ${redact(error instanceof Error ? error.message : String(error))}.` });
    }
  });
}

function describeInterruptedRun(run: InterruptedRun): InterruptedRunReport {
  const by = [run.osUser, run.host].filter(Boolean).join("@");
  return {
    ledgerId: run.id,
    ...(run.runId ? { runId: run.runId } : {}),
    command: run.command,
    project: run.project,
    startedAt: run.startedAt,
    state: run.isRunning ? "running" : "interrupted",
    ...(by ? { by } : {}),
    applied: run.migrations.filter((migration) => migration.outcome === "applied" || migration.outcome === "rolled-back").map((migration) => migration.id),
    ...(run.error ? { reason: run.error } : {}),
  };
}

function interruptedRunMessage(run: InterruptedRunReport): string {
  const who = run.by ? ` by ${run.by}` : "";
  const what = `${run.applied.length} migration(s) ${run.command === "down" ? "undone" : "applied"}${run.applied.length > 0 ? ` (${run.applied.map((id) => `"${id}"`).join(", ")})` : ""}`;
  if (run.state === "running") return `A "${run.command}" run of "${run.project}" is in progress (started ${run.startedAt}${who}, run ${run.runId ?? "?"}): ${what} so far.`;
  return `The last run ("${run.command}" of "${run.project}", started ${run.startedAt}${who}, run ${run.runId ?? "?"}) was interrupted: ${run.reason ?? "it never completed (killed, or its connection was lost)"}; ${what} before it stopped, each with its history row. Schema changes since then are its own, not drift; run "migrate up" to go on.`;
}

/**
 * `baseline`: records the live schema in the ledger as the expected one (a row with command `baseline`), so that
 * `status` stops reporting the hand changes made before it.
 */
export function baselineProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async () => {
      const drift = await detectDrift(session.client);
      if (drift) report.drift = drift;
      report.ledger = await writeLedgerRow(session.client, target, report, "baseline");
      emit({
        type: "notice",
        project: target.name,
        level: "info",
        message: `Recorded the current schema as the expected one (ledger row ${report.ledger.id}, fingerprint ${report.ledger.fingerprint!.slice(0, 12)})${drift ? `, accepting ${drift.differences.length} change(s) made outside migrate` : ""}.`,
      });
    });
  }, undefined, "baseline");
}

/** `history --ledger`: every run the database's ledger recorded, across all its projects and stacks. */
export function readProjectLedger(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report) => {
    report.ledgerRuns = (await hasLedger(session.client)) ? await readLedgerRuns(session.client) : [];
  });
}

/** `plan`: the pending migrations with the SQL `up` would run, without changing anything. */
export function planProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { plan } = await readProjectPlan(target.adapter, session);
    report.problems = plan.problems;
    const native = target.adapter.native;
    // Stacks whose migrations are code render their SQL on demand (a child process), for `plan` only.
    const rendered =
      native?.renderSql && plan.pending.length > 0
        ? await native.renderSql(plan.pending, { url: target.url.url, env: {}, emit, project: target.name })
        : {};
    report.migrations = plan.pending.map((migration) => {
      const sql = migration.sql ?? rendered[migration.id];
      return {
        id: migration.id,
        name: migration.name,
        outcome: "pending",
        ...(sql === undefined ? {} : { sql, file: migration.file }),
      };
    });
  });
}

/** `history`: the rows of the stack's history table, oldest first. */
export function readProjectHistory(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report) => {
    const hasTable = await target.adapter.history.exists(session.client);
    const rows = hasTable ? await target.adapter.history.read(session.client) : [];
    report.history = rows.map((row) => ({
      id: row.id,
      status: row.status,
      ...(row.appliedAt ? { appliedAt: row.appliedAt.toISOString() } : {}),
      ...(row.durationMs === undefined ? {} : { durationMs: row.durationMs }),
    }));
  });
}

function refuseProblems(plan: Plan, allow: IntegrityProblemKind[]): void {
  const blocking = plan.problems.filter(
    (problem) => problem.kind === "failed" || problem.kind === "unfinished" || (problem.level !== "warning" && !allow.includes(problem.kind)),
  );
  if (blocking.length === 0) return;
  throw new MigrateError("INTEGRITY", blocking.map((problem) => problem.message).join("\n"), {
    details: { problems: blocking.map(({ kind, id }) => ({ kind, id })) },
  });
}

/**
 * `up`: takes the migration lock, checks the history's integrity, and applies every pending migration, each in its
 * own transaction unless a statement forbids it. A failed migration is in the report, not thrown.
 */
export function upProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { adapter } = target;
    // Read the files before taking the lock: a folder that cannot be read is refused without touching the database.
    await adapter.readMigrations();
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async (lock) => {
      await adapter.history.ensure(session.client);
      const { plan, staleUnfinished } = await readProjectPlan(adapter, session);
      if (staleUnfinished?.length) await clearFinishedRecords(session.client, historyTableName(adapter), staleUnfinished);
      report.problems = plan.problems;
      for (const problem of plan.problems) if (problem.kind === "empty") emit({ type: "notice", project: target.name, level: "warning", message: problem.message });
      refuseProblems(plan, options.allow ?? []);
      const pending = adapter.selectPending ? adapter.selectPending(plan, options.to) : selectPending(plan, options.to);
      if (pending.length === 0) {
        emit({ type: "notice", project: target.name, level: "info", message: "Nothing to apply: the database is up to date." });
        // After a run that died before recording the schema it left, this run records it, so drift has a base again.
        const interrupted = await findInterruptedRun(session.client).catch(() => undefined);
        if (interrupted && !interrupted.hasSchema) {
          await run.ledger.progress.open();
        }
        return;
      }
      if (options.lint) {
        const linted = await checkPendingSafety(adapter, session, plan, pending, {
          settings: options.lint,
          project: target.name,
          url: target.url.url,
          emit,
          onFindings: (findings, summary) => {
            report.findings = findings;
            report.lint = summary;
          },
        });
        report.findings = linted.findings;
        report.lint = linted.summary;
      }
      if (options.snapshot) {
        const snapshotsDir = options.snapshotsDir ?? defaultSnapshotsDir();
        const taken = await takeSnapshot(session, {
          url: target.url.url,
          project: target.name,
          stack: adapter.stack,
          snapshotsDir,
          historyTable: adapter.history.location,
          applied: appliedIds(plan),
          pending,
          includeData: options.snapshot.includeData,
        });
        report.snapshot = {
          id: taken.id,
          mode: taken.mode,
          folder: taken.folder,
          reason: taken.reason,
          tables: taken.tables,
          howTo: `To undo this run, run "migrate down --to-snapshot ${taken.id}".`,
        };
        emit({ type: "notice", project: target.name, level: "info", message: `Snapshot "${taken.id}" saved: ${taken.reason}.` });
      }
      if (target.production) {
        report.restorePoint = await recordRestorePoint(session);
        emit({ type: "notice", project: target.name, level: "info", message: `Restore point: ${report.restorePoint.howTo}` });
      }
      if (options.branchFirst) {
        const createdAt = new Date();
        const branch = await createNeonBranch({ settings: options.branchFirst, name: branchFirstName(createdAt), targetUrl: target.url.url });
        const howTo = `restore by resetting to branch "${branch.name}" (${branch.id}) in Neon project "${options.branchFirst.projectId}": it holds the database as it was before this run.`;
        report.neonBranch = { id: branch.id, name: branch.name, ...(branch.parentId ? { parentId: branch.parentId } : {}), host: branch.host, createdAt: createdAt.toISOString(), howTo };
        report.restorePoint = report.restorePoint
          ? { ...report.restorePoint, howTo: `${report.restorePoint.howTo} Or ${howTo}` }
          : { time: createdAt.toISOString(), howTo: `Neon branch "${branch.name}": ${howTo}` };
        emit({ type: "notice", project: target.name, level: "info", message: `Neon branch "${branch.name}" (${branch.id}) made before migrating: ${howTo}` });
      }
      const loop = loopOptions(target, options, emit, run, lock);
      const result = adapter.native
        ? await runNativeUp(target, session, pending, loop)
        : await applyMigrations(adapter, session, pending, { ...loop, cancel: cancelOf(target, session) });
      report.migrations = result.reports;
      reportLoopStop(report, result, options);
    });
  }, "up");
}

/** The step loop's options for a run: its id, lock, ledger row, stop signal and settings. */
function loopOptions(target: ProjectTarget, options: ProjectCommandOptions, emit: EventSink, run: RunState, lock: MigrationLock): StepLoopOptions {
  return {
    project: target.name,
    emit,
    runId: run.runId,
    lock,
    ledger: run.ledger.progress,
    ...(options.safety ? { safety: options.safety } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** Cancels the statement in flight on `session`, from a short session of its own (for a stop request). */
function cancelOf(target: ProjectTarget, session: DatabaseSession): () => Promise<void> {
  return async () => {
    const canceller = await connect(target.url.url, { source: target.url.source, applicationName: "polymigrate cancel" });
    try {
      await canceller.client.query("SELECT pg_cancel_backend($1)", [session.pid]);
    } finally {
      await canceller.close();
    }
  };
}

/**
 * What a native stack's child gets: the URL; lock_timeout, statement_timeout and (PostgreSQL 14+)
 * client_connection_check_interval through libpq's PGOPTIONS; the run's session name through PGAPPNAME, so that a
 * later run finds the child's session when it outlives its run, and doctor recognises it.
 */
function nativeContext(target: ProjectTarget, safety: SafetySettings, emit: EventSink, session: DatabaseSession, runId: string, command: string): NativeRunContext {
  const check = session.serverVersionNum >= 140000 ? ` -c client_connection_check_interval=${CLIENT_CHECK_INTERVAL_MS}` : "";
  const settings = `-c lock_timeout=${Math.round(safety.lockTimeoutMs)} -c statement_timeout=${Math.round(safety.statementTimeoutMs)}${check}`;
  return { url: target.url.url, env: { PGOPTIONS: settings, PGAPPNAME: sessionName(command, runId) }, emit, project: target.name, runId };
}

/**
 * Runs a native stack's steps (Alembic) in the core's step loop: same lock, settings, retries, started records and
 * report as the SQL stacks. INVALID leftovers of the pending revisions' concurrent index builds are dropped first
 * (found through their offline SQL, asked for only when the database has INVALID indexes at all).
 */
async function runNativeUp(target: ProjectTarget, session: DatabaseSession, pending: Migration[], loop: StepLoopOptions): Promise<StepLoopResult> {
  const native = target.adapter.native!;
  const context = nativeContext(target, loop.safety ?? DEFAULT_SAFETY, loop.emit, session, loop.runId, "up");
  if (native.renderSql && (await findInvalidIndexes(session.client)).length > 0) {
    const rendered = await native.renderSql(pending, context);
    for (const migration of pending) {
      const sql = rendered[migration.id];
      if (sql) await cleanInvalidIndexesBefore(session.client, sql, { project: target.name, id: migration.id, emit: loop.emit });
    }
  }
  const executor = createNativeExecutor(native, session, context, loop.lock.holderPid);
  return runSteps(target.adapter, session, pending.map((migration) => ({ migration })), "up", executor, loop);
}

function defaultSnapshotsDir(): string {
  return join(process.cwd(), ".polymigrate", "snapshots");
}

function appliedIds(plan: Plan): string[] {
  return plan.entries.filter((entry) => entry.state === "applied" || entry.state === "changed" || entry.state === "missing").map((entry) => entry.id);
}

/** Whether `down` can undo a migration by SQL: it has a down, and the down does not say it is irreversible. */
export function describeRollbackBlocker(migration: Migration): string | undefined {
  if (!migration.down) return "no down migration";
  if (isIrreversibleDown(migration.down.sql)) return "irreversible (its down is marked -- polymigrate:irreversible)";
  return undefined;
}

/** The pending migrations `up` applies: all, or those up to and including `to`. */
export function selectPending(plan: Plan, to: string | undefined): Migration[] {
  if (to === undefined) return plan.pending;
  const index = plan.pending.findIndex((migration) => migration.id === to);
  if (index === -1) {
    const isApplied = plan.entries.some((entry) => entry.id === to && entry.state === "applied");
    throw new MigrateError(
      "USAGE",
      isApplied
        ? `"${to}" is already applied. Use "migrate down --to ${to}" to go back to it.`
        : `"${to}" is not a pending migration. Use the id of a pending migration (see "migrate status").`,
      { details: { to } },
    );
  }
  return plan.pending.slice(0, index + 1);
}

/**
 * `resolve`: records a migration as applied or rolled back without running it, after its effect was completed or
 * undone by hand (Prisma's `migrate resolve`, for every stack).
 */
export function resolveProject(
  target: ProjectTarget,
  selection: ResolveSelection,
  options: ProjectCommandOptions = {},
): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { adapter } = target;
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async () => {
      await adapter.history.ensure(session.client);
      const { plan } = await readProjectPlan(adapter, session);
      const entry = plan.entries.find((candidate) => candidate.id === selection.id);
      if (!entry?.migration) {
        throw new MigrateError(
          "USAGE",
          `"${selection.id}" is not a migration on disk in "${adapter.dir}". Use the id shown by "migrate status".`,
          { details: { id: selection.id } },
        );
      }
      if (entry.unfinished) {
        await resolveUnfinished(adapter, session, entry.migration, entry.unfinished, selection.as);
        report.migrations = [
          { id: entry.migration.id, name: entry.migration.name, outcome: selection.as === "applied" ? "applied" : "rolled-back", durationMs: 0 },
        ];
        emit({
          type: "notice",
          project: target.name,
          level: "info",
          message: `Recorded the unfinished "${entry.migration.id}" as ${selection.as}, without running anything, and cleared its started record.`,
        });
        return;
      }
      const isApplied = entry.state === "applied" || entry.state === "changed";
      if (selection.as === "applied" && isApplied) {
        throw new MigrateError("USAGE", `"${selection.id}" is already recorded as applied. Nothing to resolve.`);
      }
      if (selection.as === "rolled-back" && entry.state === "pending") {
        throw new MigrateError("USAGE", `"${selection.id}" is not recorded at all, so there is nothing to mark rolled back.`);
      }
      const migration = entry.migration;
      if (adapter.history.markResolved) await adapter.history.markResolved(session.client, migration, selection.as);
      else if (selection.as === "applied") {
        const now = new Date();
        await adapter.history.recordApplied(session.client, migration, { startedAt: now, finishedAt: now, durationMs: 0, statementsApplied: 0 });
      } else await adapter.history.recordRolledBack(session.client, migration);
      report.migrations = [
        { id: migration.id, name: migration.name, outcome: selection.as === "applied" ? "applied" : "rolled-back", durationMs: 0 },
      ];
      emit({ type: "notice", project: target.name, level: "info", message: `Recorded "${migration.id}" as ${selection.as}, without running it.` });
    });
  }, "resolve");
}

// Records what is true of a migration that started outside a transaction and did not finish, in the stack's history,
// and clears its started record, in one transaction.
async function resolveUnfinished(
  adapter: StackAdapter,
  session: DatabaseSession,
  migration: Migration,
  record: { direction: "up" | "down" },
  as: "applied" | "rolled-back",
): Promise<void> {
  const db = session.client;
  await inTransaction(db, async () => {
    // An unfinished up is not in the history (Prisma: a failed row); an unfinished down still is.
    const isInHistory = record.direction === "down";
    if (as === "applied" && !isInHistory) {
      if (adapter.history.markResolved) await adapter.history.markResolved(db, migration, "applied");
      else {
        const now = new Date();
        await adapter.history.recordApplied(db, migration, { startedAt: now, finishedAt: now, durationMs: 0, statementsApplied: 0 });
      }
    } else if (as === "rolled-back" && isInHistory) await adapter.history.recordRolledBack(db, migration);
    else if (as === "rolled-back" && adapter.history.recordStarted && adapter.history.markResolved) {
      // The stack's own started row (Prisma's) is marked rolled back, as its own resolve does.
      await adapter.history.markResolved(db, migration, "rolled-back").catch((error: unknown) => {
        if (!(isMigrateError(error) && error.code === "USAGE")) throw error;
      });
    }
    await clearUnfinished(db, historyTableName(adapter), migration.id);
  });
}

/**
 * `reset`, for development databases: drops every schema of the database but Polymigrate's own (the ledger stays;
 * the plain-SQL history goes), with everything in them, recreates `public`, then applies every migration again. The
 * whole database is reset, whichever projects share it; a production project needs `--confirm <database>`.
 */
export async function resetProject(target: ProjectTarget, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  const dropped: string[] = [];
  const reset = await runProject(target, options, async (session, report, emit, run) => {
    requireProductionConfirmation({ project: target.name, url: target.url.url, mark: target.production, command: "reset", confirm: options.confirm });
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async () => {
      const schemas = await session.client.query<{ name: string }>(
        `SELECT nspname AS name FROM pg_namespace
          WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'polymigrate')
            AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
          ORDER BY 1`,
      );
      await session.client.query("BEGIN");
      for (const { name } of schemas.rows) {
        await session.client.query(`DROP SCHEMA ${quoteIdent(name)} CASCADE`);
        dropped.push(name);
      }
      await session.client.query("CREATE SCHEMA IF NOT EXISTS public");
      const history = target.adapter.history.location;
      if (history.schema === "polymigrate") {
        await session.client.query(`DROP TABLE IF EXISTS ${quoteIdent(history.schema)}.${quoteIdent(history.table)}`);
      }
      await session.client.query("COMMIT");
      emit({
        type: "notice",
        project: target.name,
        level: "warning",
        message: `Reset: dropped ${dropped.length ? dropped.map((name) => `schema "${name}"`).join(", ") : "nothing"} with everything in it, and the history; applying every migration again.`,
      });
    });
  }, undefined, "reset");
  if (reset.outcome !== "success") return reset;
  return { ...(await upProject(target, options)), droppedSchemas: dropped };
}

/** Chooses the applied migrations `down` undoes, newest first. */
export function selectRollback(plan: Plan, selection: DownSelection): Migration[] {
  const applied = plan.entries.filter((entry) => entry.state === "applied" || entry.state === "changed" || entry.state === "missing");
  const ordered = [...applied].reverse();
  let count: number;
  if (selection.to !== undefined) {
    if (selection.to === "base") count = ordered.length;
    else {
      const index = ordered.findIndex((entry) => entry.id === selection.to);
      if (index === -1) {
        throw new MigrateError(
          "USAGE",
          `"${selection.to}" is not an applied migration. Use the id of an applied migration (see "migrate status"), or "base" to undo all.`,
          { details: { to: selection.to } },
        );
      }
      count = index;
    }
  } else count = selection.steps ?? 1;
  const range = ordered.slice(0, count);
  const missing = range.filter((entry) => !entry.migration);
  if (missing.length > 0) {
    throw new MigrateError(
      "ROLLBACK_UNAVAILABLE",
      `Cannot undo ${missing.map((entry) => `"${entry.id}"`).join(", ")}: recorded as applied but missing on disk, so there is nothing to run. Restore the files first.`,
      { details: { ids: missing.map((entry) => entry.id) } },
    );
  }
  return range.map((entry) => entry.migration as Migration);
}

/**
 * `down`: undoes the newest applied migration (or `steps`, or everything after `to`) with the stack's rollback, after
 * listing what it will undo; refuses the whole range when one migration in it cannot be undone.
 */
export function downProject(
  target: ProjectTarget,
  selection: DownSelection,
  options: ProjectCommandOptions = {},
): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { adapter } = target;
    requireProductionConfirmation({
      project: target.name,
      url: target.url.url,
      mark: target.production,
      command: "down",
      confirm: options.confirm,
    });
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async (lock) => {
      const { plan } = await readProjectPlan(adapter, session);
      report.problems = plan.problems;
      const range = selectRollback(plan, selection);
      if (range.length === 0) {
        emit({ type: "notice", project: target.name, level: "info", message: "Nothing to undo: no migration is applied." });
        return;
      }
      if (!adapter.native) {
        const blocked = range.flatMap((migration) => {
          const blocker = describeRollbackBlocker(migration);
          return blocker ? [{ id: migration.id, blocker }] : [];
        });
        if (blocked.length > 0) {
          const ids = blocked.map((entry) => entry.id);
          const covering = findCoveringSnapshot(options.snapshotsDir ?? defaultSnapshotsDir(), {
            project: target.name,
            url: target.url.url,
            ids,
            appliedNow: appliedIds(plan),
          });
          const list = range.length > blocked.length ? ` In range: ${range.map((migration) => `"${migration.id}" (${describeRollbackBlocker(migration) ?? "down file"})`).join(", ")}.` : "";
          const withoutDown = blocked.filter((entry) => entry.blocker === "no down migration");
          const way = covering
            ? `Snapshot "${covering.id}" (taken before them) covers them: run "migrate down --to-snapshot ${covering.id}" to restore the database to it, which undoes ${appliedIds(plan).filter((id) => !covering.applied.includes(id)).map((id) => `"${id}"`).join(", ")}.`
            : withoutDown.length === blocked.length
              ? `Write ${adapter.stack === "sql" ? "a <id>.down.sql file beside it" : "a down file"}, then run "migrate down" again.`
              : 'No snapshot covers them: restore the data by hand (point-in-time recovery), or next time apply with "migrate up --snapshot --snapshot-data" and undo with "migrate down --to-snapshot <id>".';
          throw new MigrateError(
            "ROLLBACK_UNAVAILABLE",
            `Cannot undo ${blocked.map((entry) => `"${entry.id}"`).join(", ")}: ${new Set(blocked.map((entry) => entry.blocker)).size === 1 ? blocked[0]!.blocker : blocked.map((entry) => `"${entry.id}" ${entry.blocker}`).join("; ")}.${list} ${way} Nothing was undone.`,
            { details: { ids, ...(covering ? { snapshot: covering.id } : {}) } },
          );
        }
      }
      emit({
        type: "notice",
        project: target.name,
        level: "info",
        message: `Undoing ${range.map((migration) => `"${migration.id}"`).join(", ")} (${adapter.capabilities.rollback}).`,
      });
      const loop = loopOptions(target, options, emit, run, lock);
      const result = adapter.native
        ? await runSteps(
            adapter,
            session,
            range.map((migration) => ({ migration })),
            "down",
            createNativeExecutor(adapter.native, session, nativeContext(target, loop.safety ?? DEFAULT_SAFETY, emit, session, run.runId, "down"), lock.holderPid),
            loop,
          )
        : await rollbackMigrations(adapter, session, range, { ...loop, cancel: cancelOf(target, session) });
      report.migrations = result.reports;
      reportLoopStop(report, result, options);
    });
  }, "down");
}

/**
 * `down --to-snapshot <id>`: restores a snapshot taken by `up --snapshot`, under the migration lock and in one
 * transaction: what the runs since created is dropped, the saved tables come back with their data, and the history
 * rows of the migrations applied since are rolled back as the stack would. Refuses a snapshot of another project or
 * database.
 */
export function restoreProjectSnapshot(target: ProjectTarget, id: string, options: ProjectCommandOptions = {}): Promise<ProjectReport> {
  return runProject(target, options, async (session, report, emit, run) => {
    const { adapter } = target;
    requireProductionConfirmation({ project: target.name, url: target.url.url, mark: target.production, command: "down", confirm: options.confirm });
    const { manifest, folder } = readSnapshotManifest(options.snapshotsDir ?? defaultSnapshotsDir(), id);
    const database = describeSnapshotDatabase(target.url.url);
    if (manifest.project !== target.name || manifest.database.name !== database.name) {
      throw new MigrateError(
        "USAGE",
        `Snapshot "${id}" is of project "${manifest.project}" on database "${manifest.database.name}", not of project "${target.name}" on database "${database.name}". Use a snapshot of this database (or --project ${manifest.project} with its URL). Nothing was changed.`,
        { details: { id, snapshotProject: manifest.project, snapshotDatabase: manifest.database.name, database: database.name } },
      );
    }
    await checkPooler(target, session, report, emit);
    await withLock(target, options, emit, report, session, run, async () => {
      const { plan } = await readProjectPlan(adapter, session);
      report.problems = plan.problems;
      const appliedNow = appliedIds(plan);
      const gone = manifest.applied.filter((applied) => !appliedNow.includes(applied));
      if (gone.length > 0) {
        throw new MigrateError(
          "USAGE",
          `Snapshot "${id}" was taken with ${gone.map((entry) => `"${entry}"`).join(", ")} applied, which are not applied now: restoring it would not go back in time. Use a newer snapshot. Nothing was changed.`,
          { details: { id, notApplied: gone } },
        );
      }
      const rollBack = plan.entries
        .filter((entry) => appliedNow.includes(entry.id) && !manifest.applied.includes(entry.id))
        .reverse()
        .map((entry): Migration => entry.migration ?? { id: entry.id, name: entry.id, order: -1, checksum: "", file: "" });
      emit({
        type: "notice",
        project: target.name,
        level: "info",
        message: `Restoring snapshot "${id}" (${manifest.mode}, taken ${manifest.createdAt})${rollBack.length > 0 ? `: undoes ${rollBack.map((migration) => `"${migration.id}"`).join(", ")}` : ""}.`,
      });
      const restored = await restoreSnapshot(session, { manifest, folder, history: adapter.history, rollBack });
      report.snapshot = {
        id,
        mode: manifest.mode,
        folder,
        reason: manifest.reason,
        tables: manifest.tables.filter((table) => restored.tables.includes(table.name)),
      };
      report.migrations = rollBack.map((migration) => ({ id: migration.id, name: migration.name, outcome: "rolled-back" as const, durationMs: 0 }));
    });
  }, "restore-snapshot");
}
