import { baselineProject } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate baseline`: records each project's database schema in the ledger as the expected one (clears drift). */
export async function baselineCommand(context: CommandContext) {
  const { args } = context;
  return runEachProject(
    "baseline",
    context.targets(),
    (target) => baselineProject(target, { emit: context.emit, ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }) }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "baseline", context.output, context.cwd);
    },
  );
}
