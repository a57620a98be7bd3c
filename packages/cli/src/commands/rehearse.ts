import { rehearseProject, resolveNeonSettings, type ProjectReport } from "@polymigrate/core";
import type { Output } from "../output.js";
import { projectSafety } from "../safety.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

function renderRehearsal(project: ProjectReport, output: Output): void {
  const rehearsal = project.rehearsal;
  const print = project.outcome === "success" ? output.out : output.err;
  print(`${project.project} (${project.stack}): rehearsal on a copy of ${project.database ?? "the target"}`);
  if (rehearsal) {
    print(`  copy "${rehearsal.copy}" (${rehearsal.method === "template" ? "CREATE DATABASE ... TEMPLATE" : rehearsal.method === "neon-branch" ? `Neon branch ${rehearsal.neonBranch?.id ?? ""}` : "pg_dump | pg_restore"}, ${rehearsal.withData ? "schema and data" : "schema only"}; ${rehearsal.method === "neon-branch" ? "deleted" : "dropped"})`);
    if (rehearsal.migrations.length === 0 && !project.error) print("  nothing pending: nothing to rehearse");
    for (const migration of rehearsal.migrations) {
      const mark = migration.outcome === "applied" ? "✓" : "✗";
      print(`  ${mark} ${migration.id}  ${migration.durationMs ?? "?"} ms`);
      if (migration.error) print(`      error: ${migration.error}`);
      if (migration.lockSource === "unknown") print("      locks: unknown (no SQL to read them from)");
      for (const lock of migration.locks) {
        const notes = [lock.isNew ? "new table" : "", lock.isObserved ? "seen in pg_locks" : ""].filter(Boolean).join(", ");
        print(`      lock ${lock.mode} on ${lock.relation}${notes ? ` (${notes})` : ""}  (line ${lock.line}, ${lock.statement})`);
      }
      for (const table of migration.tablesRewritten) print(`      rewrote table ${table}`);
      for (const rows of migration.rowsChanged) print(`      rows in ${rows.table}: ${rows.inserted} inserted, ${rows.updated} updated, ${rows.deleted} deleted`);
    }
  }
  if (project.error) print(`  error: ${project.error.message}`);
  print(project.outcome === "success" ? "  the target was not changed" : "  the rehearsal failed; the target was not changed");
}

/** `migrate rehearse`: the pending migrations, applied to a throwaway copy of each project's database. */
export async function rehearseCommand(context: CommandContext) {
  const { args } = context;
  return runEachProject(
    "rehearse",
    context.targets(),
    (target) => {
      // A project with a neon configuration rehearses on a Neon branch (its API key variable must then be set).
      const neon = context.workspace.projects.find(({ config }) => config.name === target.name)?.config.neon;
      return rehearseProject(target, {
        emit: context.emit,
        safety: projectSafety(context.workspace, target.name, args),
        ...(args.noData ? { noData: true } : {}),
        ...(args.to === undefined ? {} : { to: args.to }),
        ...(neon ? { neon: resolveNeonSettings(neon, context.workspace.env, { project: target.name, flag: '"migrate rehearse" on a Neon branch', instead: 'remove "neon" from the project to rehearse on a copy made on the server' }) } : {}),
      });
    },
    (project) => {
      if (!args.json) renderRehearsal(project, context.output);
    },
  );
}
