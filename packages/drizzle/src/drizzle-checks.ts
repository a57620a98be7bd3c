import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HistoryTableName, IntegrityProblem, Migration, Plan, Queryable } from "@polymigrate/core";
import { qualifiedTable } from "./drizzle-history.js";
import { drizzleMetaOf, journalFileOf, readJournal } from "./drizzle-layout.js";

/** The snapshot version drizzle-kit 0.31 writes for PostgreSQL; older ones need `drizzle-kit up`. */
export const LATEST_SNAPSHOT_VERSION = "7";
/** The `prevId` of the first snapshot. */
export const ORIGIN_SNAPSHOT_ID = "00000000-0000-0000-0000-000000000000";

/** The snapshot file drizzle-kit writes for a journal tag: the tag's prefix, then `_snapshot.json`. */
export function snapshotFileOf(out: string, tag: string): string {
  return join(out, "meta", `${tag.split("_")[0]}_snapshot.json`);
}

function warning(id: string, message: string, file?: string): IntegrityProblem {
  return { kind: "stack-check", level: "warning", id, message, ...(file ? { file } : {}) };
}

/**
 * The checks `drizzle-kit check` runs, done by reading the files (no child process): snapshots that are malformed or
 * of an older version, two snapshots pointing at the same parent (a collision, usually two branches generating
 * migrations), journal timestamps that do not strictly increase; plus the chain of `prevId`s along the journal.
 * Each is a warning: drizzle-kit migrate does not stop on them either.
 */
export function checkSnapshots(out: string): IntegrityProblem[] {
  const problems: IntegrityProblem[] = [];
  const meta = join(out, "meta");
  if (!existsSync(meta)) return problems;
  const journal = readJournal(out);
  const snapshots = new Map<string, { id?: string; prevId?: string }>();
  const byParent = new Map<string, string[]>();
  for (const name of readdirSync(meta).filter((file) => !file.startsWith("_")).sort()) {
    const file = join(meta, name);
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch {
      problems.push(warning(name, `Snapshot "${file}" is not valid JSON (drizzle-kit check: "data is malformed"). Restore it from version control.`, file));
      continue;
    }
    const { id, prevId, version } = raw;
    if (typeof id !== "string" || typeof prevId !== "string" || typeof raw.tables !== "object") {
      problems.push(warning(name, `Snapshot "${file}" lacks "id", "prevId" or "tables" (drizzle-kit check: "data is malformed"). Restore it from version control.`, file));
      continue;
    }
    if (String(version) !== LATEST_SNAPSHOT_VERSION) {
      problems.push(warning(name, `Snapshot "${file}" is of version ${JSON.stringify(version)}, not ${LATEST_SNAPSHOT_VERSION}. Run "drizzle-kit up" to upgrade it.`, file));
      continue;
    }
    snapshots.set(file, { id, prevId });
    byParent.set(prevId, [...(byParent.get(prevId) ?? []), name]);
  }
  for (const [parent, children] of byParent) {
    if (children.length < 2) continue;
    problems.push(
      warning(
        children.join(","),
        `Snapshots ${children.map((child) => `"${child}"`).join(", ")} all point to the parent snapshot ${parent}, which is a collision (drizzle-kit check fails on it; usually two branches each generated a migration). Keep one, regenerate the other on top of it with "migrate create".`,
      ),
    );
  }
  let latest: (typeof journal.entries)[number] | undefined;
  let previousId = ORIGIN_SNAPSHOT_ID;
  for (const entry of journal.entries) {
    if (latest && entry.when <= latest.when) {
      problems.push(
        warning(
          entry.tag,
          `Journal entry "${entry.tag}" (when ${entry.when}) follows "${latest.tag}" (when ${latest.when}) in "${journalFileOf(out)}" but is not newer: once "${latest.tag}" is applied, drizzle-kit migrate skips "${entry.tag}" without a word. Regenerate "${entry.tag}" (or give it a "when" greater than ${latest.when}) before it reaches a shared database.`,
        ),
      );
    } else latest = entry;
    const file = snapshotFileOf(out, entry.tag);
    const snapshot = snapshots.get(file);
    if (!existsSync(file)) {
      problems.push(warning(entry.tag, `Journal entry "${entry.tag}" has no snapshot "${file}": drizzle-kit generate will diff against an older state. Restore it from version control.`));
      continue;
    }
    if (!snapshot) continue;
    if (snapshot.prevId !== previousId) {
      problems.push(
        warning(
          entry.tag,
          `Snapshot "${file}" of "${entry.tag}" has prevId ${snapshot.prevId}, but the snapshot before it in the journal has id ${previousId}: the chain of snapshots is broken. Restore the files from version control, or regenerate "${entry.tag}".`,
          file,
        ),
      );
    }
    previousId = snapshot.id ?? previousId;
  }
  return problems;
}

/** The `created_at` drizzle compares against: its own query, `order by created_at desc limit 1` (NULL sorts first). */
export async function readLastCreatedAt(db: Queryable, location: HistoryTableName): Promise<number | undefined> {
  const found = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [qualifiedTable(location)]);
  if (found.rows[0]?.found == null) return undefined;
  const result = await db.query<{ created_at: string | null }>(
    `select created_at from ${qualifiedTable(location)} order by created_at desc limit 1`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  // drizzle-orm: `Number(lastDbMigration.created_at) < migration.folderMillis`; Number(null) is 0.
  return Number(row.created_at);
}

/**
 * Applies drizzle's pending rule to a plan: drizzle-kit migrate applies a journal entry only when its `when` is
 * greater than the newest `created_at` in the table, so a pending entry older than that is skipped silently by
 * drizzle-kit. Such entries are marked out of order, with a message that says so; other out-of-order entries are
 * reworded in Drizzle's terms. Then the snapshot checks are added as warnings.
 */
export function reviewDrizzlePlan(plan: Plan, lastCreatedAt: number | undefined, out: string, historyTable: string): Plan {
  const problems = plan.problems.filter((problem) => problem.kind !== "out-of-order");
  const lastApplied = [...plan.entries].reverse().find((entry) => entry.state === "applied" || entry.state === "changed");
  const entries = plan.entries.map((entry) => {
    if (entry.state !== "pending" || !entry.migration) return entry;
    const migration: Migration = entry.migration;
    const { when } = drizzleMetaOf(migration);
    const isSkippedByDrizzle = lastCreatedAt !== undefined && !(lastCreatedAt < when);
    if (isSkippedByDrizzle) {
      problems.push({
        kind: "out-of-order",
        id: migration.id,
        file: migration.file,
        message: `Migration "${migration.id}" is pending, but its journal "when" (${when}) is not newer than the last applied row of "${historyTable}" (created_at ${lastCreatedAt}): drizzle-kit migrate would skip it without a word. Regenerate it after the applied ones (drop it with "drizzle-kit drop" and run "migrate create" again), or pass --allow out-of-order to apply it with migrate.`,
      });
      return { ...entry, isOutOfOrder: true };
    }
    if (entry.isOutOfOrder) {
      problems.push({
        kind: "out-of-order",
        id: migration.id,
        file: migration.file,
        message: `Migration "${migration.id}" is pending but comes before "${lastApplied?.id}" in the journal, which is already applied. drizzle-kit migrate would still apply it (its "when" is newer than every applied row); check that it does not depend on being first, then pass --allow out-of-order to apply it.`,
      });
    }
    return entry;
  });
  return { ...plan, entries, problems: [...problems, ...checkSnapshots(out)] };
}
