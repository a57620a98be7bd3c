import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CatalogSnapshot } from "../catalog/catalog-snapshot.js";
import type { StackName } from "../model/adapter.js";
import { MigrateError } from "../model/errors.js";

/**
 * What a snapshot saved: `schema` the schema only (the run destroys no data), `tables` the schema and the data of the
 * tables the run touches, `all` the schema and the data of every table (when the SQL cannot say what it touches).
 */
export type SnapshotMode = "schema" | "tables" | "all";

/** The `manifest.json` of a snapshot. It holds no password: the database is named by its URL without one. */
export interface SnapshotManifest {
  version: 1;
  id: string;
  project: string;
  stack: StackName;
  database: { name: string; host: string; port: string; url: string };
  createdAt: string;
  mode: SnapshotMode;
  /** Why this mode, for people. */
  reason: string;
  /** The migrations applied when the snapshot was taken, oldest first. */
  applied: string[];
  /** The migrations the run was about to apply, in order. */
  pending: string[];
  /** The tables whose data was saved (`schema.table`) and their row counts at snapshot time. */
  tables: Array<{ name: string; rows: number }>;
  /** The files beside the manifest: pg_dump archives in custom format. */
  files: { schema: string; data?: string };
  /** The catalog at snapshot time, to tell what a run created and to check the restore. */
  catalog: CatalogSnapshot;
}

/** The manifest's file name. */
export const MANIFEST_FILE = "manifest.json";

/** A database's identity from its URL, without any password. */
export function describeSnapshotDatabase(url: string): SnapshotManifest["database"] {
  const parsed = new URL(url);
  parsed.password = "";
  for (const key of [...parsed.searchParams.keys()]) if (/pass/i.test(key)) parsed.searchParams.delete(key);
  return {
    name: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres",
    host: parsed.searchParams.get("host") ?? parsed.hostname,
    port: parsed.port || "5432",
    url: parsed.toString(),
  };
}

/** A new, sortable snapshot id: the UTC time to the millisecond, then the project. */
export function newSnapshotId(project: string, now = new Date()): string {
  const time = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${time}-${project.replace(/[^A-Za-z0-9_.-]+/g, "_")}`;
}

/** Creates the folder of a new snapshot under `snapshotsDir` and returns its id and path (never reusing one). */
export function createSnapshotFolder(snapshotsDir: string, project: string): { id: string; folder: string } {
  mkdirSync(snapshotsDir, { recursive: true });
  const base = newSnapshotId(project);
  for (let attempt = 0; ; attempt++) {
    const id = attempt === 0 ? base : `${base}-${attempt}`;
    const folder = join(snapshotsDir, id);
    try {
      mkdirSync(folder);
      return { id, folder };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Writes a snapshot's manifest. */
export function writeSnapshotManifest(folder: string, manifest: SnapshotManifest): void {
  writeFileSync(join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads the manifest of snapshot `id`; a missing or unreadable one is a `USAGE` refusal. */
export function readSnapshotManifest(snapshotsDir: string, id: string): { manifest: SnapshotManifest; folder: string } {
  const folder = join(snapshotsDir, id);
  const file = join(folder, MANIFEST_FILE);
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || !existsSync(file)) {
    const known = listSnapshots(snapshotsDir).map((snapshot) => snapshot.id);
    throw new MigrateError(
      "USAGE",
      `There is no snapshot "${id}" in "${snapshotsDir}". ${known.length > 0 ? `Use one of: ${known.map((name) => `"${name}"`).join(", ")}.` : 'Take one with "migrate up --snapshot".'}`,
      { details: { id, snapshotsDir } },
    );
  }
  try {
    return { manifest: JSON.parse(readFileSync(file, "utf8")) as SnapshotManifest, folder };
  } catch (cause) {
    throw new MigrateError("USAGE", `The manifest "${file}" is not valid JSON. Restore it from a copy, or use another snapshot.`, { cause });
  }
}

/** Every readable snapshot under `snapshotsDir`, oldest first. */
export function listSnapshots(snapshotsDir: string): SnapshotManifest[] {
  if (!existsSync(snapshotsDir)) return [];
  const manifests: SnapshotManifest[] = [];
  for (const name of readdirSync(snapshotsDir).sort()) {
    try {
      manifests.push(JSON.parse(readFileSync(join(snapshotsDir, name, MANIFEST_FILE), "utf8")) as SnapshotManifest);
    } catch {
      // a folder without a readable manifest is not a snapshot (an interrupted one): it is skipped, not fatal
    }
  }
  return manifests;
}

/**
 * The newest snapshot of this project and database that undoes `ids`: taken before they were applied, and whose
 * applied migrations are all still applied (so restoring it goes back, never sideways).
 */
export function findCoveringSnapshot(
  snapshotsDir: string,
  options: { project: string; url: string; ids: string[]; appliedNow: string[] },
): SnapshotManifest | undefined {
  const database = describeSnapshotDatabase(options.url);
  const applied = new Set(options.appliedNow);
  return listSnapshots(snapshotsDir)
    .filter(
      (manifest) =>
        manifest.project === options.project &&
        manifest.database?.name === database.name &&
        manifest.applied.every((id) => applied.has(id)) &&
        options.ids.every((id) => !manifest.applied.includes(id)),
    )
    .at(-1);
}
