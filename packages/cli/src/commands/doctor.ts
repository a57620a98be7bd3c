import {
  MigrateError,
  diagnoseProject,
  isMigrateError,
  redact,
  terminateBlocker,
  type DoctorCheck,
  type DoctorProjectReport,
  type ProjectTarget,
  type TerminateResult,
} from "@polymigrate/core";
import type { CommandContext } from "./context.js";
import { resolveProjectUrl, type SelectedProject } from "../projects.js";
import { askOnTerminal } from "../prompt.js";

export type { DoctorCheck, DoctorProjectReport };

/** The report of `migrate doctor`. */
export interface DoctorReport {
  command: "doctor";
  outcome: "success" | "failed";
  projects: DoctorProjectReport[];
  /** `--terminate <pid>`: what was ended. */
  terminated?: TerminateResult;
}

function errorMessage(error: unknown): string {
  return redact(isMigrateError(error) || error instanceof Error ? error.message : String(error));
}

// The checks of the workspace (configuration, files, URL); the database's are the core's diagnoseProject.
async function checkProject(context: CommandContext, selected: SelectedProject): Promise<DoctorProjectReport> {
  const { config, adapter } = selected;
  const { workspace } = context;
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => checks.push(check);
  const empty = (): DoctorProjectReport => ({ project: config.name, stack: adapter.stack, checks, waiting: [], blocking: [], invalidIndexes: [], failed: [], halfApplied: [] });
  add({ check: "configuration", result: "ok", message: workspace.configFile ? `from ${workspace.configFile}` : `detected a ${adapter.stack} project in ${workspace.root}` });
  try {
    const migrations = await adapter.readMigrations();
    add({ check: "migrations", result: "ok", message: `${migrations.length} on disk in ${adapter.dir}` });
  } catch (error) {
    add({ check: "migrations", result: "problem", message: errorMessage(error), fix: "Fix the migrations folder as the message says." });
    return empty();
  }
  let url;
  try {
    url = resolveProjectUrl(workspace, config, { allowPooledUrl: context.args.allowPooledUrl });
    const warned = url.decisions.find((decision) => decision.decision === "warned");
    add(
      warned
        ? { check: "url", result: "warning", message: warned.message, fix: `Set "${config.urlEnv ?? "DIRECT_URL"}" to the direct URL.` }
        : { check: "url", result: "ok", message: `${url.display} from "${url.source}"` },
    );
  } catch (error) {
    add({ check: "url", result: "problem", message: errorMessage(error) });
    return empty();
  }
  const target: ProjectTarget = { name: config.name, adapter, url, allowPooledUrl: context.args.allowPooledUrl };
  const diagnosis = await diagnoseProject(target);
  return { ...diagnosis, checks: [...checks, ...diagnosis.checks] };
}

async function terminateCommand(context: CommandContext, pid: number): Promise<DoctorReport> {
  const { args } = context;
  const isTerminal = process.stdin.isTTY === true;
  if (!args.yes && !isTerminal) {
    throw new MigrateError("USAGE", `"migrate doctor --terminate ${pid}" ends a backend and needs a confirmation: run it on a terminal to answer the prompt, or add --yes.`);
  }
  let refusal: unknown;
  for (const target of context.targets()) {
    try {
      const result = await terminateBlocker(target, pid, args.yes ? {} : { confirm: askOnTerminal });
      if (!args.json) {
        context.output.out(result.terminated ? `Ended backend pid ${pid} (${result.reason}).` : result.reason === "not confirmed" ? `Left backend pid ${pid} alone.` : `pid ${pid} had already ended.`);
      }
      return { command: "doctor", outcome: "success", projects: [], terminated: result };
    } catch (error) {
      if (!isMigrateError(error) || error.code !== "USAGE") throw error;
      refusal = error;
    }
  }
  throw refusal ?? new MigrateError("USAGE", `No project to look for pid ${pid} in. Run "migrate doctor" in a project.`);
}

/** `migrate doctor`: checks every project, says what to do about each problem; `--terminate <pid>` ends one blocker. */
export async function doctorCommand(context: CommandContext): Promise<DoctorReport> {
  if (context.args.terminate !== undefined) return terminateCommand(context, context.args.terminate);
  const projects: DoctorProjectReport[] = [];
  for (const selected of context.workspace.projects) projects.push(await checkProject(context, selected));
  const hasProblem = projects.some((project) => project.checks.some((check) => check.result === "problem"));
  const report: DoctorReport = { command: "doctor", outcome: hasProblem ? "failed" : "success", projects };
  if (!context.args.json) {
    const marks = { ok: "✓", warning: "!", problem: "✗" } as const;
    for (const project of projects) {
      context.output.out(`${project.project} (${project.stack})`);
      for (const check of project.checks) {
        context.output.out(`  ${marks[check.result]} ${check.check}: ${check.message}`);
        for (const line of check.evidence ?? []) context.output.out(`      evidence: ${line}`);
        if (check.fix) context.output.out(`      fix: ${check.fix}`);
      }
    }
    context.output.out(hasProblem ? "\nProblems found: see the fixes above." : "\nNo problems found.");
  }
  return report;
}
