import { existsSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { MigrateError, draftDownFile, type RunReport } from "@polymigrate/core";
import type { CommandContext } from "./context.js";
import { fileReport, requireOneProject } from "./single-project.js";

/**
 * `migrate draft-down <id>`: drafts the down of an existing SQL migration from its up with PostgreSQL's parser (for a
 * migration written by hand), where the stack keeps downs. What SQL cannot undo is written as a commented
 * IRREVERSIBLE step, which makes `down` refuse it.
 */
export async function draftDownCommand(context: CommandContext): Promise<RunReport> {
  const { args, output } = context;
  const selected = requireOneProject(context, "draft-down");
  const { config, adapter } = selected;
  const id = args.positionals[0] as string;
  if (!adapter.downFileOf) {
    throw new MigrateError("USAGE", `The "${adapter.stack}" stack's downs are code (its own downgrade), not SQL files: there is nothing to draft.`);
  }
  const migration = (await adapter.readMigrations()).find((candidate) => candidate.id === id);
  if (!migration) throw new MigrateError("USAGE", `"${id}" is not a migration of "${config.name}". Use an id that "migrate status" shows.`);
  const file = adapter.downFileOf(migration);
  if (existsSync(file) && !args.force) {
    throw new MigrateError("USAGE", `"${relative(context.cwd, file) || file}" exists already. Pass --force to replace it with a new draft.`);
  }
  const started = Date.now();
  const drafted = await draftDownFile(migration.file);
  writeFileSync(file, drafted.sql);
  if (!args.json) {
    output.out(`Drafted ${relative(context.cwd, file) || file} from ${relative(context.cwd, migration.file) || migration.file}${drafted.isIrreversible ? ": it has IRREVERSIBLE steps, so \"migrate down\" refuses it until you write them or take a snapshot" : ""}. Review it before relying on it.`);
  }
  return fileReport("draft-down", selected, started, { id, name: migration.name, outcome: "pending", file });
}
