import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { ChildProcessError, MigrateError } from "@polymigrate/core";
import { findPython, lastErrorLine, tailOf, type AlembicToolSettings } from "./alembic-command.js";
import type { AlembicProject, RevisionGraph } from "./alembic-layout.js";

/** What Alembic's own API says about a project: its revision graph, and the database's current revisions. */
export interface AlembicInspection {
  alembicVersion: string;
  /** Bases first. */
  revisions: Array<{
    revision: string;
    downRevisions: string[];
    dependsOn: string[];
    branchLabels: string[];
    message: string;
    path: string;
    isHead: boolean;
    isMerge: boolean;
    isBranchPoint: boolean;
  }>;
  heads: string[];
  bases: string[];
  /** Present when a URL was given. */
  current?: string[];
}

/** The Python helper shipped with this package (`python/polymigrate_alembic.py`). */
export function helperScript(): string {
  return fileURLToPath(new URL("../python/polymigrate_alembic.py", import.meta.url));
}

/**
 * Asks Alembic itself (`ScriptDirectory`, `MigrationContext`) for the revision graph and, with a URL, the current
 * revisions, through the shipped helper. Starts Python: for `doctor`-style verification and tests, not for `status`.
 */
export async function inspectWithAlembic(
  project: AlembicProject,
  settings: AlembicToolSettings & { versionTable?: string; versionTableSchema?: string } = {},
  options: { url?: string; python?: string } = {},
): Promise<AlembicInspection> {
  const python = options.python ?? (await findPython(project.dir, settings));
  const urlEnv = settings.urlEnv ?? "DIRECT_URL";
  const args = [helperScript(), "--config", project.iniFile, "--name", project.section, "--url-env", urlEnv];
  if (settings.versionTable) args.push("--version-table", settings.versionTable);
  if (settings.versionTableSchema) args.push("--version-table-schema", settings.versionTableSchema);
  if (options.url !== undefined) args.push("--current");
  const result = await execa(python, args, {
    cwd: project.dir,
    env: options.url === undefined ? {} : { [urlEnv]: options.url },
    reject: false,
    stdin: "ignore",
  });
  if (result.exitCode !== 0) {
    throw new ChildProcessError(
      `Alembic could not read the revisions of "${project.dir}": ${lastErrorLine(String(result.stderr))}. Fix it (a revision that does not import, a broken alembic.ini) and run again.`,
      { command: python, args, cwd: project.dir, exitCode: result.exitCode ?? null, stderrTail: tailOf(String(result.stderr)) },
    );
  }
  try {
    return JSON.parse(String(result.stdout)) as AlembicInspection;
  } catch (cause) {
    throw new MigrateError("CHILD_PROCESS_FAILED", `The Alembic helper printed something other than JSON for "${project.dir}". Check that nothing in env.py or the revisions prints on import.`, { cause });
  }
}

/** Where the revision graph read from the files differs from Alembic's own (empty when they agree). */
export function compareWithAlembic(graph: RevisionGraph, inspection: AlembicInspection): string[] {
  const differences: string[] = [];
  const theirs = new Map(inspection.revisions.map((revision) => [revision.revision, revision]));
  for (const revision of graph.revisions) {
    const other = theirs.get(revision.revision);
    if (!other) differences.push(`"${revision.revision}" ("${revision.file}") is not a revision to Alembic`);
    else if ([...other.downRevisions].sort().join(",") !== [...revision.downRevisions].sort().join(",")) {
      differences.push(`"${revision.revision}" revises ${JSON.stringify(other.downRevisions)} for Alembic, ${JSON.stringify(revision.downRevisions)} as read from its file`);
    }
  }
  for (const id of theirs.keys()) if (!graph.byId.has(id)) differences.push(`Alembic sees a revision "${id}" that migrate did not read`);
  if (differences.length === 0 && [...inspection.heads].sort().join(",") !== graph.heads.join(",")) {
    differences.push(`Alembic's heads are ${JSON.stringify(inspection.heads)}, migrate read ${JSON.stringify(graph.heads)}`);
  }
  return differences;
}
