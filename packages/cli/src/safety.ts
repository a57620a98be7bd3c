import { DEFAULT_SAFETY, MigrateError, parseDuration, type ProjectConfig, type SafetySettings } from "@polymigrate/core";
import type { ParsedArgs } from "./args.js";
import type { Workspace } from "./projects.js";

function duration(value: string | number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  // The configuration was validated on load; this guards a configuration built in code and handed over as it is.
  const duration = parseDuration(value);
  if (!duration.ok) throw new MigrateError("CONFIG_INVALID", `${field} ${duration.problem}. Fix the configuration.`);
  return duration.milliseconds;
}

/** A project's lock_timeout, statement_timeout and retries: defaults, then the configuration, the project, the flags. */
export function resolveSafety(workspace: Workspace, project: ProjectConfig, args: ParsedArgs): SafetySettings {
  const { config } = workspace;
  let settings: SafetySettings = {
    ...DEFAULT_SAFETY,
    lockTimeoutMs: duration(config.lockTimeout, "lockTimeout", DEFAULT_SAFETY.lockTimeoutMs),
    statementTimeoutMs: duration(config.statementTimeout, "statementTimeout", DEFAULT_SAFETY.statementTimeoutMs),
    retries: config.retries ?? DEFAULT_SAFETY.retries,
  };
  settings = {
    ...settings,
    lockTimeoutMs: duration(project.lockTimeout, `projects "${project.name}" lockTimeout`, settings.lockTimeoutMs),
    statementTimeoutMs: duration(project.statementTimeout, `projects "${project.name}" statementTimeout`, settings.statementTimeoutMs),
    retries: project.retries ?? settings.retries,
  };
  return {
    ...settings,
    ...(args.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: args.lockTimeoutMs }),
    ...(args.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: args.statementTimeoutMs }),
    ...(args.retries === undefined ? {} : { retries: args.retries }),
  };
}

/** The safety settings of the project named `name` in the run. */
export function projectSafety(workspace: Workspace, name: string, args: ParsedArgs): SafetySettings {
  const project = workspace.projects.find(({ config }) => config.name === name);
  if (!project) throw new MigrateError("PROJECT_NOT_FOUND", `There is no project "${name}".`);
  return resolveSafety(workspace, project.config, args);
}
