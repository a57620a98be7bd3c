import { resolveProject } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { requireOneProject } from "./single-project.js";

/** `migrate resolve`: records a migration as applied or rolled back without running it. */
export async function resolveCommand(context: CommandContext) {
  const { args } = context;
  requireOneProject(context, "resolve");
  const targets = context.targets();
  const selection = args.resolve!;
  const report = await runEachProject("resolve", targets, (target) =>
    resolveProject(target, selection, { emit: context.emit, ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }) }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "resolve", context.output, context.cwd);
    },
  );
  return report;
}
