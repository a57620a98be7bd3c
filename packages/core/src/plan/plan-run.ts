import type { HistoryEntry, Migration } from "../model/migration.js";
import type { IntegrityProblem, Plan, PlanEntry } from "../model/plan.js";
import { matchesChecksum } from "../sql/checksum.js";
import type { UnfinishedMigration } from "../execute/unfinished-store.js";
import { isEmptySql } from "../stacks/contained-path.js";

/** Where the plan's messages point the user. */
export interface PlanContext {
  /** The history table, as `schema.table`, for messages. */
  historyTable: string;
  /** The migrations folder, for messages. */
  dir: string;
  /** A stack-specific sentence on how to clear a failed migration. */
  failedHint?: (id: string) => string;
}

function isSameContent(migration: Migration, stored: string | undefined): boolean {
  if (stored === undefined || stored === migration.checksum) return true;
  return migration.sql !== undefined && matchesChecksum(migration.sql, stored);
}

/**
 * Compares the migrations on disk with the history table: applied, pending, missing on disk, changed since applied,
 * failed, and pending migrations ordered before the last applied one; a pending migration with no statement (empty, or
 * comments only) is a warning. Pure: reads nothing, writes nothing.
 */
export function planRun(migrations: Migration[], history: HistoryEntry[], context: PlanContext): Plan {
  const byId = new Map(history.map((entry) => [entry.id, entry]));
  const onDisk = new Set(migrations.map((migration) => migration.id));
  const entries: PlanEntry[] = [];
  const problems: IntegrityProblem[] = [];
  const pending: Migration[] = [];
  let lastAppliedOrder = -1;
  for (const migration of migrations) {
    if (byId.has(migration.id)) lastAppliedOrder = Math.max(lastAppliedOrder, migration.order);
  }
  const lastApplied = migrations.find((migration) => migration.order === lastAppliedOrder);

  for (const migration of migrations) {
    const row = byId.get(migration.id);
    if (!row) {
      const isOutOfOrder = migration.order < lastAppliedOrder;
      entries.push({ id: migration.id, name: migration.name, state: "pending", migration, ...(isOutOfOrder ? { isOutOfOrder } : {}) });
      pending.push(migration);
      if (migration.sql !== undefined && isEmptySql(migration.sql)) {
        // Still applied and recorded, as the stack's own CLI would: the warning asks whether that is meant.
        problems.push({
          kind: "empty",
          level: "warning",
          id: migration.id,
          file: migration.file,
          message: `Migration "${migration.id}" has no statement (the file "${migration.file}" is empty or only comments): "up" will record it as applied without changing anything. Write its statements, or delete it if it was created by mistake.`,
        });
      }
      if (isOutOfOrder) {
        problems.push({
          kind: "out-of-order",
          id: migration.id,
          file: migration.file,
          message: `Migration "${migration.id}" is pending but ordered before "${lastApplied?.id}", which is already applied. Give it a name that sorts after "${lastApplied?.id}", or pass --allow out-of-order to apply it anyway.`,
        });
      }
      continue;
    }
    if (row.status === "failed") {
      entries.push({ id: migration.id, name: migration.name, state: "failed", migration, history: row });
      problems.push({
        kind: "failed",
        id: migration.id,
        file: migration.file,
        message:
          `Migration "${migration.id}" is recorded as failed in "${context.historyTable}": it started and did not finish. ` +
          (context.failedHint?.(migration.id) ??
            `Check what it changed, finish or undo that by hand, then remove its row from "${context.historyTable}".`),
      });
      continue;
    }
    if (!isSameContent(migration, row.checksum)) {
      entries.push({ id: migration.id, name: migration.name, state: "changed", migration, history: row });
      problems.push({
        kind: "changed",
        id: migration.id,
        file: migration.file,
        message: `Migration "${migration.id}" was changed after it was applied: "${migration.file}" no longer matches the checksum recorded in "${context.historyTable}". Restore the file as it was applied (for example with git), and put the new change in a new migration; or pass --allow changed if the database already matches.`,
      });
      continue;
    }
    entries.push({ id: migration.id, name: migration.name, state: "applied", migration, history: row });
  }

  for (const row of history) {
    if (onDisk.has(row.id)) continue;
    entries.push({ id: row.id, name: row.id, state: row.status === "failed" ? "failed" : "missing", history: row });
    problems.push({
      kind: row.status === "failed" ? "failed" : "missing",
      id: row.id,
      message: `Migration "${row.id}" is recorded in "${context.historyTable}" but missing from "${context.dir}". Restore its file, or pass --allow missing if it was removed on purpose.`,
    });
  }
  return { entries, pending, problems, hasHistoryTable: true };
}

/** A plan with the started records of a history table applied, and the records that are stale. */
export interface UnfinishedReview {
  plan: Plan;
  /** Records whose migration the history shows as finished (the run died after its history row): safe to clear. */
  stale: string[];
}

function describeProgress(record: UnfinishedMigration): string {
  if (record.statementsApplied === null) return "how many of its statements ran is not known (the stack ran it)";
  const total = record.statementsTotal === null ? "" : ` of ${record.statementsTotal}`;
  return `${record.statementsApplied}${total} of its statements completed`;
}

/**
 * Applies the started records of migrations that ran outside a transaction: one whose history row says it finished
 * is stale; any other is `unfinished`, a problem that blocks `up` until someone says what happened (`resolve`). Pure.
 */
export function applyUnfinished(plan: Plan, records: UnfinishedMigration[]): UnfinishedReview {
  if (records.length === 0) return { plan, stale: [] };
  const stale: string[] = [];
  const unfinished = new Map<string, UnfinishedMigration>();
  for (const record of records) {
    // Its run is still at work on it: in progress, neither stale nor unfinished.
    if (record.isRunning) continue;
    const entry = plan.entries.find((candidate) => candidate.id === record.id);
    const isRecordedApplied = entry?.state === "applied" || entry?.state === "changed";
    const isFinished = record.direction === "up" ? isRecordedApplied && entry?.history?.status !== "failed" : entry?.state === "pending";
    if (isFinished) stale.push(record.id);
    else unfinished.set(record.id, record);
  }
  if (unfinished.size === 0) return { plan, stale };
  const entries = plan.entries.map((entry): PlanEntry => {
    const record = unfinished.get(entry.id);
    return record ? { ...entry, state: "unfinished", unfinished: record } : entry;
  });
  const problems = plan.problems.filter((problem) => !(unfinished.has(problem.id) && (problem.kind === "failed" || problem.kind === "out-of-order")));
  for (const record of unfinished.values()) {
    const entry = entries.find((candidate) => candidate.id === record.id);
    const verb = record.direction === "up" ? "applying" : "undoing";
    problems.push({
      kind: "unfinished",
      id: record.id,
      ...(entry?.migration ? { file: entry.migration.file } : record.file ? { file: record.file } : {}),
      message:
        `Migration "${record.id}" was started outside a transaction at ${record.startedAt} (run ${record.runId}, ${verb} it) and did not finish: ${describeProgress(record)} before the run stopped, so it is partly ${record.direction === "up" ? "applied" : "undone"}. ` +
        `Run "migrate doctor" to see which of its statements landed, complete or undo them by hand, then record what is true with "migrate resolve --applied ${record.id}" or "migrate resolve --rolled-back ${record.id}".`,
    });
  }
  return { plan: { ...plan, entries, problems, pending: plan.pending.filter((migration) => !unfinished.has(migration.id)) }, stale };
}
