import { resetProject } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { projectSafety } from "../safety.js";

/** `migrate reset`: development only; drops the database's schemas and applies every migration again. */
export async function resetCommand(context: CommandContext) {
  const { args } = context;
  return runEachProject(
    "reset",
    context.targets(),
    (target) =>
      resetProject(target, {
        emit: context.emit,
        safety: projectSafety(context.workspace, target.name, context.args),
        ...(args.confirm === undefined ? {} : { confirm: args.confirm }),
        ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }),
      }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "up", context.output, context.cwd);
    },
  );
}
