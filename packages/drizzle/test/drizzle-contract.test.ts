import { rmSync } from "node:fs";
import { join } from "node:path";
import { describeAdapterContract, type ContractMigration } from "@polymigrate/testing";
import type { TestProject } from "@polymigrate/testing";
import { createDrizzleProject, readJournalOf, writeJournalOf } from "./drizzle-project.js";

const FIRST_WHEN = 1_700_000_000_000;

function tagOf(position: number, name: string): string {
  return `${String(position).padStart(4, "0")}_${name}`;
}

function snapshotId(position: number): string {
  return `00000000-0000-0000-0000-${String(position + 1).padStart(12, "0")}`;
}

// Writes a migration as drizzle-kit lays it out: the journal entry, `<tag>.sql`, the snapshot chained to the one before
// (so that drizzle-kit check would pass), and the `<tag>.down.sql` migrate down reads.
function writeMigration(project: TestProject, migration: ContractMigration, position: number): void {
  const journal = position === 0 ? { version: "7", dialect: "postgresql", entries: [] } : readJournalOf(project);
  const tag = tagOf(position, migration.name);
  journal.entries.push({ idx: position, when: FIRST_WHEN + position * 1000, tag, breakpoints: true } as (typeof journal.entries)[number]);
  writeJournalOf(project, journal);
  project.write(`drizzle/${tag}.sql`, `${migration.up}\n`);
  project.write(`drizzle/${tag}.down.sql`, `${migration.down}\n`);
  const prevId = position === 0 ? "00000000-0000-0000-0000-000000000000" : snapshotId(position - 1);
  project.write(
    `drizzle/meta/${String(position).padStart(4, "0")}_snapshot.json`,
    JSON.stringify({ id: snapshotId(position), prevId, version: "7", dialect: "postgresql", tables: {}, enums: {}, schemas: {} }),
  );
}

describeAdapterContract({
  stack: "drizzle",
  createProject(migrations) {
    const project = createDrizzleProject();
    migrations.forEach((migration, position) => writeMigration(project, migration, position));
    return project;
  },
  addMigration: writeMigration,
  migrationFile(project, position) {
    const entry = readJournalOf(project).entries[position];
    return `drizzle/${entry?.tag}.sql`;
  },
  removeMigration(project, position) {
    // As a bad merge would: the journal entry and its files go.
    const journal = readJournalOf(project);
    const [entry] = journal.entries.splice(position, 1);
    writeJournalOf(project, journal);
    rmSync(join(project.dir, `drizzle/${entry?.tag}.sql`));
    rmSync(join(project.dir, `drizzle/${entry?.tag}.down.sql`));
  },
  addOlderMigration(project, migration) {
    // A branch merged late: the entry comes last in the journal, but its "when" is older than the applied ones.
    const journal = readJournalOf(project);
    const position = journal.entries.length;
    const tag = tagOf(position, migration.name);
    journal.entries.push({ idx: position, when: FIRST_WHEN - 1000, tag, breakpoints: true } as (typeof journal.entries)[number]);
    writeJournalOf(project, journal);
    project.write(`drizzle/${tag}.sql`, `${migration.up}\n`);
    project.write(`drizzle/${tag}.down.sql`, `${migration.down}\n`);
  },
  hasChecksums: true,
});
