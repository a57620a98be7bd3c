import { MigrateError, lintProject, type LintSettings, type LintTarget, type ProjectReport, type RunReport } from "@polymigrate/core";
import { renderLint } from "../render/human.js";
import { resolveProjectUrl, type Workspace } from "../projects.js";
import type { CommandContext } from "./context.js";

/**
 * A project's lint settings: the configuration's `lint`, then the project's own (their lists add up; the project's
 * hazard threshold wins, key by key).
 */
export function projectLintSettings(workspace: Workspace, name: string): LintSettings {
  const project = workspace.projects.find(({ config }) => config.name === name)?.config;
  const layers = [workspace.config.lint, project?.lint].filter((layer): layer is LintSettings => layer !== undefined);
  // The lists were checked with the configuration's schema when it was loaded.
  const collect = (key: "disable" | "include") => [...new Set(layers.flatMap((layer) => layer[key] ?? []))];
  const disable = collect("disable");
  const include = collect("include");
  const hazardThreshold = Object.assign({}, ...layers.map((layer) => layer.hazardThreshold ?? {})) as LintSettings["hazardThreshold"];
  return {
    ...(disable.length > 0 ? { disable } : {}),
    ...(include.length > 0 ? { include } : {}),
    ...(hazardThreshold && Object.keys(hazardThreshold).length > 0 ? { hazardThreshold } : {}),
  };
}

// Lint needs no database: a project without a URL is linted from its files alone. A URL the policy refuses is still
// refused, as for every command.
function lintTargets(context: CommandContext): LintTarget[] {
  const { workspace } = context;
  return workspace.projects.map(({ config, adapter }) => {
    try {
      return { name: config.name, adapter, url: resolveProjectUrl(workspace, config, { allowPooledUrl: context.args.allowPooledUrl }) };
    } catch (error) {
      if (error instanceof MigrateError && error.code === "URL_MISSING") return { name: config.name, adapter };
      throw error;
    }
  });
}

/**
 * `migrate lint`: the safety lint of each project's pending migrations (or of every migration on disk, with `--all` or
 * without a database URL); exit code 1 when an error is found.
 */
export async function lintCommand(context: CommandContext) {
  const { args, workspace } = context;
  const startedAt = new Date();
  const projects: ProjectReport[] = [];
  for (const target of lintTargets(context)) {
    projects.push(
      await lintProject(target, {
        settings: projectLintSettings(workspace, target.name),
        ...(args.all ? { all: true } : {}),
        emit: context.warn,
        env: workspace.env,
      }),
    );
  }
  const outcome = projects.some((project) => project.outcome === "failed")
    ? "failed"
    : projects.some((project) => project.outcome === "refused")
      ? "refused"
      : "success";
  const report: RunReport = {
    command: "lint",
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    outcome,
    projects,
  };
  if (!args.json) renderLint(report, context.output, context.cwd);
  return report;
}
