import { downProject, readSnapshotManifest, restoreProjectSnapshot } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { projectSafety } from "../safety.js";
import { snapshotsDirOf } from "../snapshots.js";

/** `migrate down`: undoes the newest migration, or `--steps N`, or everything after `--to <id>`. */
export async function downCommand(context: CommandContext) {
  const { args } = context;
  const snapshotsDir = snapshotsDirOf(context.workspace);
  let targets = context.targets();
  // A snapshot belongs to one project: with several, restore only that one (the others are not part of it).
  if (args.toSnapshot !== undefined && targets.length > 1) {
    const { manifest } = readSnapshotManifest(snapshotsDir, args.toSnapshot);
    const own = targets.filter((target) => target.name === manifest.project);
    if (own.length > 0) targets = own;
  }
  const report = await runEachProject("down", targets, (target) => {
    const options = { emit: context.emit, snapshotsDir, ...(args.confirm === undefined ? {} : { confirm: args.confirm }), safety: projectSafety(context.workspace, target.name, context.args), ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }), ...(context.signal ? { signal: context.signal } : {}) };
    if (args.toSnapshot !== undefined) return restoreProjectSnapshot(target, args.toSnapshot, options);
    return downProject(
      target,
      { ...(args.steps === undefined ? {} : { steps: args.steps }), ...(args.to === undefined ? {} : { to: args.to }) },
      options,
    );
  },
    (project) => {
      if (!args.json) renderProjectSummary(project, "down", context.output, context.cwd);
    },
    context.signal,
  );
  return report;
}

