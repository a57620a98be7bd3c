import { join } from "node:path";
import type { Workspace } from "./projects.js";

/** Where snapshots live: `.polymigrate/snapshots` in the configuration's folder (or the folder migrate runs in). */
export function snapshotsDirOf(workspace: Workspace): string {
  return join(workspace.root, ".polymigrate", "snapshots");
}
