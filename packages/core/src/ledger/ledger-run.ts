import { READ_LOCK_TIMEOUT_MS, connect, type DatabaseSession } from "../db/connect.js";
import type { Queryable } from "../db/queryable.js";
import type { StackAdapter } from "../model/adapter.js";
import type { DriftReport, LedgerWrite, ProjectReport } from "../model/report.js";
import type { ResolvedUrl } from "../policy/direct-url-policy.js";
import { redact } from "../policy/redact.js";
import { describeCatalogDifference, diffCatalogSnapshots } from "../catalog/catalog-snapshot.js";
import { appendLedger, completeLedgerRun, describeActor, hasLedger, readInterruptedRun, readLastLedgerSchema, type InterruptedRun, type LedgerCommand } from "./ledger-store.js";
import { readSchemaFingerprint } from "./schema-fingerprint.js";

/** What the ledger needs of a project (a `ProjectTarget` fits). */
export interface LedgerTarget {
  name: string;
  adapter: StackAdapter;
  url: ResolvedUrl;
}

/**
 * Writes a run's ledger row on `db`: who, which command, its migrations with their checksums (read from disk),
 * durations and outcomes, the outcome, the restore point, and the schema after the run with its fingerprint.
 */
export async function writeLedgerRow(
  db: Queryable,
  target: LedgerTarget,
  report: ProjectReport,
  command: LedgerCommand,
  startedId?: number,
): Promise<LedgerWrite> {
  const schema = await readSchemaFingerprint(db);
  let checksums = new Map<string, string>();
  if (report.migrations.length > 0) {
    try {
      checksums = new Map((await target.adapter.readMigrations()).map((migration) => [migration.id, migration.checksum]));
    } catch {
      // The folder went away since the run: record the migrations without checksums.
    }
  }
  const outcome = report.outcome === "success" && report.migrations.some((migration) => migration.outcome === "failed") ? "failed" : report.outcome;
  const failure = report.error?.message ?? report.migrations.find((migration) => migration.error)?.error?.message;
  const completed = {
    outcome: report.error?.code === "INTERRUPTED" ? "interrupted" : outcome,
    migrations: report.migrations.map((migration) => ({
      id: migration.id,
      name: migration.name,
      outcome: migration.outcome,
      ...(checksums.get(migration.id) ? { checksum: checksums.get(migration.id)! } : {}),
      ...(migration.durationMs === undefined ? {} : { durationMs: migration.durationMs }),
    })),
    ...(report.durationMs ? { durationMs: report.durationMs } : {}),
    ...(failure ? { error: failure } : {}),
    ...(report.restorePoint ? { restorePoint: { time: report.restorePoint.time, ...(report.restorePoint.lsn ? { lsn: report.restorePoint.lsn } : {}) } } : {}),
    schema,
  };
  if (startedId !== undefined) {
    await completeLedgerRun(db, startedId, completed);
    return { recorded: true, id: startedId, fingerprint: schema.fingerprint };
  }
  const id = await appendLedger(db, { command, project: target.name, stack: target.adapter.stack, actor: describeActor(), ...completed });
  return { recorded: true, id, fingerprint: schema.fingerprint };
}

/**
 * After a run that may have changed the schema: records it in the ledger (completing the row it opened when it started,
 * if it did), on the run's own session while that is alive, else on a fresh one. Never throws: a ledger that cannot be written is a warning in the report, not a failed run.
 */
export async function recordRunInLedger(
  target: LedgerTarget,
  report: ProjectReport,
  command: LedgerCommand,
  options: { startedId?: number; applicationName?: string; session?: DatabaseSession } = {},
): Promise<LedgerWrite> {
  // The run's own session when it is still alive (not in a transaction: the run is over); else a fresh one.
  const live = options.session?.isAlive() ? options.session : undefined;
  let session: DatabaseSession | undefined;
  try {
    session =
      live ??
      (await connect(target.url.url, {
        source: target.url.source,
        lockTimeoutMs: READ_LOCK_TIMEOUT_MS,
        ...(options.applicationName ? { applicationName: options.applicationName } : {}),
      }));
    return await writeLedgerRow(session.client, target, report, command, options.startedId);
  } catch (error) {
    const reason = redact(error instanceof Error ? error.message : String(error));
    return {
      recorded: false,
      warning: `Could not record this run in the ledger (polymigrate.ledger): ${reason}. The run itself is unaffected; "migrate status" may report drift until the next recorded run or "migrate baseline".`,
    };
  } finally {
    if (session !== live) await session?.close().catch(() => {});
  }
}

/**
 * Compares the live schema with the one the database's newest ledger row recorded (whichever project wrote it).
 * Read-only: one lookup for the ledger, one query for its newest row, one catalog read. Undefined when there is no
 * ledger yet or nothing changed.
 */
export async function detectDrift(db: Queryable): Promise<DriftReport | undefined> {
  if (!(await hasLedger(db))) return undefined;
  const last = await readLastLedgerSchema(db);
  if (!last) return undefined;
  const live = await readSchemaFingerprint(db);
  if (live.fingerprint === last.fingerprint) return undefined;
  const differences = diffCatalogSnapshots(last.catalog, live.snapshot);
  if (differences.length === 0) return undefined;
  return {
    since: last.recordedAt,
    command: last.command,
    project: last.project,
    expectedFingerprint: last.fingerprint,
    actualFingerprint: live.fingerprint,
    differences: differences.map((difference) => ({ ...difference, message: describeCatalogDifference(difference) })),
  };
}

/** What `status` says of the database's last run when it did not complete: undefined when it did. */
export async function findInterruptedRun(db: Queryable): Promise<InterruptedRun | undefined> {
  if (!(await hasLedger(db))) return undefined;
  return readInterruptedRun(db);
}
