import { downProject } from "@polymigrate/core";
import { renderRunSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { projectSafety } from "../safety.js";

/** `migrate down`: undoes the newest migration, or `--steps N`, or everything after `--to <id>`. */
export async function downCommand(context: CommandContext) {
  const { args } = context;
  const report = await runEachProject("down", context.targets(), (target) =>
    downProject(
      target,
      { ...(args.steps === undefined ? {} : { steps: args.steps }), ...(args.to === undefined ? {} : { to: args.to }) },
      { emit: context.emit, ...(args.confirm === undefined ? {} : { confirm: args.confirm }), safety: projectSafety(context.workspace, target.name, context.args), ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }) },
    ),
  );
  if (!args.json) renderRunSummary(report, context.output, context.cwd);
  return report;
}

