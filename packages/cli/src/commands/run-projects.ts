import type { ProjectReport, ProjectTarget, RunCommand, RunReport } from "@polymigrate/core";

/** Runs one command on each project in turn and gathers one report for the run. */
export async function runEachProject(
  command: RunCommand,
  targets: ProjectTarget[],
  run: (target: ProjectTarget) => Promise<ProjectReport>,
  onProject?: (report: ProjectReport) => void,
  signal?: AbortSignal,
): Promise<RunReport> {
  const startedAt = new Date();
  const projects: ProjectReport[] = [];
  for (const target of targets) {
    // Asked to stop: the projects not started yet are not started.
    if (signal?.aborted) break;
    const report = await run(target);
    onProject?.(report);
    projects.push(report);
  }
  const outcome = projects.some((project) => project.outcome === "failed")
    ? "failed"
    : projects.some((project) => project.outcome === "refused")
      ? "refused"
      : "success";
  return { command, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), outcome, projects };
}

/** The exit code of a report: 1 when something failed, 2 when something was refused, else 0. */
export function exitCodeOf(report: { outcome: string }): number {
  return report.outcome === "failed" ? 1 : report.outcome === "refused" ? 2 : 0;
}
