import { MigrateError, isMigrateError, redact, requireProductionConfirmation, startReport, type ProjectReport, type RunReport } from "@polymigrate/core";
import type { CommandContext } from "./context.js";

/**
 * `migrate push`, development only: the stack's own push (`drizzle-kit push`) over the direct URL. Refused, before any
 * work, for a project marked `production: true` or when `MIGRATE_ENV=production`, unless `--confirm <database>`.
 */
export async function pushCommand(context: CommandContext): Promise<RunReport> {
  const { workspace, args, output } = context;
  for (const { config, adapter } of workspace.projects) {
    if (!adapter.pushSchema) {
      throw new MigrateError(
        "USAGE",
        `The "${adapter.stack}" stack of project "${config.name}" has no push. Use "migrate create" and "migrate up"${workspace.projects.length > 1 ? ", or choose a Drizzle project with --project" : ""}.`,
      );
    }
  }
  // Production: refused before any work unless --confirm repeats the database's name, like down and reset.
  for (const target of context.targets()) {
    try {
      requireProductionConfirmation({ project: target.name, url: target.url.url, mark: target.production, command: "push", confirm: args.confirm });
    } catch (error) {
      if (!isMigrateError(error)) throw error;
      throw new MigrateError(
        error.code,
        `"migrate push" is for development databases. ${error.message} Create a migration ("migrate create <name>") and apply it with "migrate up" instead.`,
        { details: error.details },
      );
    }
  }
  const started = Date.now();
  const projects: ProjectReport[] = [];
  for (const target of context.targets()) {
    const projectStarted = Date.now();
    const report: ProjectReport = startReport(target);
    try {
      const result = await target.adapter.pushSchema!({ url: target.url.url, force: args.force === true });
      if (!args.json) {
        output.out(`${target.name} (${target.adapter.stack}) on ${target.url.display}`);
        for (const line of result.output.split("\n")) output.out(`  ${line}`);
        output.out("  Pushed. No migration was recorded: before this reaches a shared database, run \"migrate create <name>\".");
      }
    } catch (error) {
      report.outcome = "failed";
      report.error = {
        code: isMigrateError(error) ? error.code : "CHILD_PROCESS_FAILED",
        message: redact(error instanceof Error ? error.message : String(error)),
      };
      if (!args.json) output.err(`${target.name}: ${report.error.message}`);
    }
    report.durationMs = Date.now() - projectStarted;
    projects.push(report);
  }
  const outcome = projects.some((project) => project.outcome === "failed") ? "failed" : "success";
  return { command: "push", startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, outcome, projects };
}
