import { MigrateError, type MigrationReport, type ProjectReport, type RunCommand, type RunReport } from "@polymigrate/core";
import type { SelectedProject } from "../projects.js";
import type { CommandContext } from "./context.js";

/** The one project a command that writes files or one record works on; several without --project is bad usage. */
export function requireOneProject(context: CommandContext, command: string): SelectedProject {
  const { projects } = context.workspace;
  if (projects.length > 1) {
    const names = projects.map(({ config }) => `"${config.name}"`).join(", ");
    throw new MigrateError("USAGE", `"migrate ${command}" works on one project; choose one with --project (${names}).`);
  }
  return projects[0] as SelectedProject;
}

/** The report of a command that wrote files for one project and touched no database. */
export function fileReport(
  command: RunCommand,
  selected: SelectedProject,
  startedMs: number,
  migration: MigrationReport,
  extra: Partial<ProjectReport> = {},
): RunReport {
  const durationMs = Date.now() - startedMs;
  return {
    command,
    startedAt: new Date(startedMs).toISOString(),
    durationMs,
    outcome: "success",
    projects: [
      {
        project: selected.config.name,
        stack: selected.adapter.stack,
        dir: selected.adapter.dir,
        outcome: "success",
        policies: [],
        migrations: [migration],
        problems: [],
        durationMs,
        ...extra,
      },
    ],
  };
}
