import { resolveProject, MigrateError } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate resolve`: records a migration as applied or rolled back without running it. */
export async function resolveCommand(context: CommandContext) {
  const { args } = context;
  const targets = context.targets();
  if (targets.length > 1) {
    const names = targets.map((target) => `"${target.name}"`).join(", ");
    throw new MigrateError("USAGE", `"migrate resolve" works on one project; choose one with --project (${names}).`);
  }
  const selection = args.resolve!;
  const report = await runEachProject("resolve", targets, (target) =>
    resolveProject(target, selection, { emit: context.emit, ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }) }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "resolve", context.output, context.cwd);
    },
  );
  return report;
}
