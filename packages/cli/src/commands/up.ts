import { upProject } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { projectSafety } from "../safety.js";
import { projectLintSettings } from "./lint.js";
import { snapshotsDirOf } from "../snapshots.js";

/** `migrate up` (alias `deploy`): applies pending migrations, project after project. */
export async function upCommand(context: CommandContext) {
  const { args } = context;
  const report = await runEachProject("up", context.targets(), (target) =>
    upProject(target, {
      emit: context.emit,
      safety: projectSafety(context.workspace, target.name, context.args),
      allow: args.allow,
      lint: { ...projectLintSettings(context.workspace, target.name), ...(args.allowUnsafe ? { allowUnsafe: true } : {}) },
      ...(args.to === undefined ? {} : { to: args.to }),
      ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }),
      snapshotsDir: snapshotsDirOf(context.workspace),
      ...(args.snapshot ? { snapshot: { includeData: args.snapshotData === true } } : {}),
    }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "up", context.output, context.cwd);
    },
  );
  return report;
}

