import { MigrateError, resolveNeonSettings, upProject, type NeonSettings } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { projectSafety } from "../safety.js";
import { projectLintSettings } from "./lint.js";
import { snapshotsDirOf } from "../snapshots.js";

/** `migrate up` (alias `deploy`): applies pending migrations, project after project. */
export async function upCommand(context: CommandContext) {
  const { args } = context;
  const targets = context.targets();
  // --branch-first: every project's Neon settings are checked before anything runs (a missing one refuses, exit 2).
  const neon = new Map<string, NeonSettings>();
  if (args.branchFirst) {
    for (const target of targets) {
      const project = context.workspace.projects.find(({ config }) => config.name === target.name);
      if (!project) throw new MigrateError("PROJECT_NOT_FOUND", `There is no project "${target.name}".`);
      neon.set(target.name, resolveNeonSettings(project.config.neon, context.workspace.env, { project: target.name, flag: "--branch-first" }));
    }
  }
  const report = await runEachProject("up", targets, (target) =>
    upProject(target, {
      emit: context.emit,
      safety: projectSafety(context.workspace, target.name, context.args),
      allow: args.allow,
      lint: { ...projectLintSettings(context.workspace, target.name), ...(args.allowUnsafe ? { allowUnsafe: true } : {}) },
      ...(args.to === undefined ? {} : { to: args.to }),
      ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }),
      snapshotsDir: snapshotsDirOf(context.workspace),
      ...(args.snapshot ? { snapshot: { includeData: args.snapshotData === true } } : {}),
      ...(neon.has(target.name) ? { branchFirst: neon.get(target.name)! } : {}),
      ...(context.signal ? { signal: context.signal } : {}),
    }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "up", context.output, context.cwd);
    },
    context.signal,
  );
  return report;
}

