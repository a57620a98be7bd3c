import type { EventSink, ProjectTarget } from "@polymigrate/core";
import type { ParsedArgs } from "../args.js";
import type { Output } from "../output.js";
import type { Workspace } from "../projects.js";

/** What every command receives. */
export interface CommandContext {
  args: ParsedArgs;
  cwd: string;
  output: Output;
  workspace: Workspace;
  /** Resolves the projects' URLs through the direct-URL policy (throws a refusal before any work). */
  targets: () => ProjectTarget[];
  /** Progress of commands that change the database (nothing with --json). */
  emit: EventSink;
  /** Warnings only, on stderr: for the commands that read. */
  warn: EventSink;
  /** Aborts when the process is asked to stop: the commands that change the database stop at a safe point. */
  signal?: AbortSignal;
}
