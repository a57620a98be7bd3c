import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { MigrateError, resolveContainedPath, sha256Hex, type Migration, type MigrationFilePolicy } from "@polymigrate/core";

/** Where an Alembic project keeps its configuration and revisions. */
export interface AlembicProject {
  /** The project folder (where `alembic` runs). */
  dir: string;
  /** The `alembic.ini`, absolute. */
  iniFile: string;
  /** The ini section Alembic reads (`-n`); default `alembic`. */
  section: string;
  /** `script_location`, absolute. */
  scriptLocation: string;
  /** The folders that hold revision files (`<script_location>/versions`, or `version_locations`). */
  versionDirs: string[];
  /** How the revision files are read (links out of `dir` are refused unless allowed). */
  filePolicy?: MigrationFilePolicy;
}

/** One revision file, as Alembic's template writes it. */
export interface AlembicRevision {
  revision: string;
  /** `down_revision`: none for a base, two or more for a merge. */
  downRevisions: string[];
  /** `depends_on`, resolved to revision ids where they are labels. */
  dependsOn: string[];
  branchLabels: string[];
  /** The first line of the module's docstring (Alembic's message). */
  message: string;
  file: string;
  /** The file's text, for reading its assignments. */
  text: string;
  /** The SHA-256 hex of the file's bytes. */
  checksum?: string;
}

/** The revision graph of a project, read from its files. */
export interface RevisionGraph {
  /** Every revision, ancestors before descendants (bases first). */
  revisions: AlembicRevision[];
  byId: Map<string, AlembicRevision>;
  /** Revisions no other revision names as `down_revision`, sorted. */
  heads: string[];
}

// Alembic's ConfigParser interpolation: `%(here)s` is the ini file's folder; `%%` is a literal percent sign.
function interpolate(value: string, here: string): string {
  return value.replace(/%\(here\)s/g, here).replace(/%%/g, "%");
}

/** Reads one section of an ini file as configparser does (continuation lines joined, comments dropped). */
export function readIniSection(text: string, section: string): Map<string, string> {
  const values = new Map<string, string>();
  let current: string | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || raw.trim() === "") continue;
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      current = header[1]?.trim();
      lastKey = undefined;
      continue;
    }
    if (current !== section) continue;
    if (/^\s/.test(raw) && lastKey !== undefined) {
      values.set(lastKey, `${values.get(lastKey) ?? ""}\n${raw.trim()}`);
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!pair) continue;
    lastKey = (pair[1] ?? "").trim().toLowerCase();
    values.set(lastKey, (pair[2] ?? "").trim());
  }
  return values;
}

/**
 * Finds the project's `alembic.ini`, its `script_location` and its version folders. Throws `MIGRATIONS_INVALID` for a
 * layout Alembic itself would not read.
 */
export function readAlembicProject(dir: string, options: { config?: string; section?: string } & MigrationFilePolicy = {}): AlembicProject {
  const iniFile = resolve(dir, options.config ?? "alembic.ini");
  const section = options.section ?? "alembic";
  if (!existsSync(iniFile)) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `No Alembic configuration at "${iniFile}". Run "alembic init alembic" in "${dir}", or set the project's "config" setting to its alembic.ini.`,
      { details: { file: iniFile } },
    );
  }
  const here = dirname(iniFile);
  const values = readIniSection(readFileSync(iniFile, "utf8"), section);
  const location = values.get("script_location");
  if (!location) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${iniFile}" has no "script_location" in its [${section}] section. Add "script_location = alembic" (the folder holding env.py).`,
      { details: { file: iniFile, section } },
    );
  }
  const interpolated = interpolate(location, here);
  if (/^[A-Za-z_][\w.]*:/.test(interpolated)) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${iniFile}" names its scripts as a package resource ("${interpolated}"), which migrate cannot read. Use a folder path for "script_location".`,
      { details: { file: iniFile } },
    );
  }
  const { config: _config, section: _section, ...filePolicy } = options;
  const contained = (path: string, entry: string) => resolveContainedPath(path, { ...filePolicy, root: dir, entry: `${entry} of "${iniFile}"` });
  const scriptLocation = contained(isAbsolute(interpolated) ? interpolated : resolve(here, interpolated), '"script_location"');
  const versionDirs = (readVersionLocations(values, here) ?? [join(scriptLocation, "versions")]).map((folder) => contained(folder, '"version_locations"'));
  return { dir, iniFile, section, scriptLocation, versionDirs, filePolicy };
}

// `version_locations`, split as Alembic 1.8 splits it: by `version_path_separator` when set, else by spaces or commas.
function readVersionLocations(values: Map<string, string>, here: string): string[] | undefined {
  const raw = values.get("version_locations");
  if (!raw) return undefined;
  // Alembic's own template writes "version_path_separator = os  # Use os.pathsep...": drop the comment.
  const separator = values.get("version_path_separator")?.split(/\s+#/)[0]?.trim();
  const separators: Record<string, string | RegExp> = { space: " ", os: ":", ":": ":", ";": ";", newline: "\n" };
  const split = separator ? (separators[separator] ?? /[\s,]+/) : /[\s,]+/;
  return interpolate(raw, here)
    .split(split)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => (isAbsolute(part) ? part : resolve(here, part)));
}

/** A Python literal from a revision file: a string, `None`, or a tuple or list of strings. */
type PythonValue = string | null | string[];

// Reads one literal at `text[start]`; returns undefined when it is not a literal this parser knows.
function parseLiteral(text: string, start: number): PythonValue | undefined {
  let index = start;
  const skipSpace = () => {
    while (index < text.length && /[\s\\]/.test(text[index] ?? "")) index += 1;
  };
  const readString = (): string | undefined => {
    const quote = text[index];
    if (quote !== "'" && quote !== '"') return undefined;
    const end = text.indexOf(quote, index + 1);
    if (end === -1) return undefined;
    const value = text.slice(index + 1, end);
    index = end + 1;
    return value;
  };
  skipSpace();
  if (text.startsWith("None", index)) return null;
  const single = readString();
  if (single !== undefined) return single;
  const open = text[index];
  if (open !== "(" && open !== "[") return undefined;
  const close = open === "(" ? ")" : "]";
  index += 1;
  const items: string[] = [];
  for (;;) {
    skipSpace();
    if (text[index] === close) return items;
    const item = readString();
    if (item === undefined) return undefined;
    items.push(item);
    skipSpace();
    if (text[index] === ",") index += 1;
  }
}

// A module-level assignment `name = <literal>` (optionally annotated, `name: Union[str, None] = ...`).
function readAssignment(text: string, name: string): { found: boolean; value?: PythonValue } {
  const match = new RegExp(`^${name}(?:\\s*:[^=\\n]+)?\\s*=`, "m").exec(text);
  if (!match) return { found: false };
  const value = parseLiteral(text, match.index + match[0].length);
  return value === undefined ? { found: true } : { found: true, value };
}

function asList(value: PythonValue | undefined): string[] {
  if (value === undefined || value === null) return [];
  return typeof value === "string" ? [value] : value;
}

// The module docstring's first non-empty line, as Alembic shows a revision's message.
function readMessage(text: string): string {
  const match = /^\s*(?:#[^\n]*\n\s*)*[rRuU]?("""|''')([\s\S]*?)\1/.exec(text);
  const line = match?.[2]?.split(/\r?\n/).find((candidate) => candidate.trim() !== "");
  return line?.trim() ?? "";
}

/** Parses one revision file as Alembic's template writes it; undefined when the file is not a revision. */
export function parseRevisionFile(file: string, text: string): AlembicRevision | undefined {
  const revision = readAssignment(text, "revision");
  if (!revision.found) return undefined;
  if (typeof revision.value !== "string") {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${file}" sets "revision" to something other than a quoted string, which migrate cannot read without running it. Write it as revision = "<id>", as Alembic's template does.`,
      { details: { file } },
    );
  }
  const down = readAssignment(text, "down_revision");
  if (!down.found || down.value === undefined) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${file}" has no readable "down_revision" (a quoted id, a tuple of ids, or None). Write it as Alembic's template does.`,
      { details: { file, revision: revision.value } },
    );
  }
  return {
    revision: revision.value,
    downRevisions: asList(down.value),
    dependsOn: asList(readAssignment(text, "depends_on").value),
    branchLabels: asList(readAssignment(text, "branch_labels").value),
    message: readMessage(text),
    file,
    text,
  };
}

/**
 * Reads the revision files of the project's version folders without running Python, and orders them so that every
 * revision comes after its down revisions (and `depends_on`): what `status` needs, in milliseconds.
 */
export function readRevisionGraph(project: AlembicProject): RevisionGraph {
  const revisions: AlembicRevision[] = [];
  const byId = new Map<string, AlembicRevision>();
  for (const folder of project.versionDirs) {
    if (!existsSync(folder)) {
      if (folder === join(project.scriptLocation, "versions") && existsSync(project.scriptLocation)) continue;
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `The Alembic folder "${folder}" does not exist. Check "script_location" and "version_locations" in "${project.iniFile}".`,
        { details: { folder } },
      );
    }
    // Alembic's own rule: every .py file but __init__.py and editor backups.
    const files = readdirSync(folder).filter((name) => name.endsWith(".py") && !name.startsWith("__init__") && !name.startsWith(".#")).sort();
    for (const name of files) {
      const file = resolveContainedPath(join(folder, name), { ...project.filePolicy, root: project.dir, within: folder, entry: `the revision file "${name}"` });
      if (!statSync(file).isFile()) continue;
      // Python decides the file's encoding (PEP 263), and Alembic runs it, not migrate: read it as UTF-8 only to find
      // its assignments, and take the checksum over its bytes.
      const bytes = readFileSync(file);
      const parsed = parseRevisionFile(file, bytes.toString("utf8"));
      if (!parsed) {
        // Alembic refuses such a file too ("Could not determine revision id from filename").
        throw new MigrateError(
          "MIGRATIONS_INVALID",
          `"${file}" is in the versions folder but declares no "revision". Add revision = "<id>" (and down_revision), or move the file out of "${folder}".`,
          { details: { file } },
        );
      }
      const other = byId.get(parsed.revision);
      if (other) {
        throw new MigrateError(
          "MIGRATIONS_INVALID",
          `Two files declare the revision "${parsed.revision}": "${other.file}" and "${file}". Give one of them a new revision id.`,
          { details: { revision: parsed.revision, files: [other.file, file] } },
        );
      }
      parsed.checksum = sha256Hex(bytes);
      byId.set(parsed.revision, parsed);
      revisions.push(parsed);
    }
  }
  const labels = new Map<string, string>();
  for (const revision of revisions) for (const label of revision.branchLabels) labels.set(label, revision.revision);
  for (const revision of revisions) {
    for (const parent of revision.downRevisions) {
      if (!byId.has(parent)) {
        throw new MigrateError(
          "MIGRATIONS_INVALID",
          `Revision "${parent}", the down revision of "${revision.revision}" ("${revision.file}"), is not present. Restore its file, or fix "down_revision".`,
          { details: { revision: revision.revision, missing: parent } },
        );
      }
    }
    revision.dependsOn = revision.dependsOn.map((target) => labels.get(target) ?? target).filter((target) => byId.has(target));
  }
  const parents = new Set(revisions.flatMap((revision) => revision.downRevisions));
  const heads = revisions.map((revision) => revision.revision).filter((id) => !parents.has(id)).sort();
  return { revisions: orderRevisions(revisions, byId, heads), byId, heads };
}

// Depth-first from each head, parents before children: branches stay together and every revision follows its
// ancestors. A cycle is refused as Alembic refuses it.
function orderRevisions(revisions: AlembicRevision[], byId: Map<string, AlembicRevision>, heads: string[]): AlembicRevision[] {
  const ordered: AlembicRevision[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]) => {
    const seen = state.get(id);
    if (seen === "done") return;
    if (seen === "visiting") {
      throw new MigrateError("MIGRATIONS_INVALID", `The revisions form a cycle: ${[...path, id].map((item) => `"${item}"`).join(" -> ")}. Fix their "down_revision".`);
    }
    state.set(id, "visiting");
    const revision = byId.get(id) as AlembicRevision;
    for (const parent of [...revision.downRevisions, ...revision.dependsOn]) visit(parent, [...path, id]);
    state.set(id, "done");
    ordered.push(revision);
  };
  for (const head of heads) visit(head, []);
  // Revisions only reachable through a cycle are not below any head.
  for (const revision of revisions) visit(revision.revision, []);
  return ordered;
}

/** Every ancestor of `ids` (through `down_revision` and `depends_on`), the ids included. */
export function ancestorsOf(graph: RevisionGraph, ids: Iterable<string>): Set<string> {
  const found = new Set<string>();
  const stack = [...ids];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (found.has(id)) continue;
    found.add(id);
    const revision = graph.byId.get(id);
    if (revision) stack.push(...revision.downRevisions, ...revision.dependsOn);
  }
  return found;
}

/**
 * The `alembic downgrade` target that undoes exactly `revision` when it is the current head of its branch: its down
 * revision when that has no other child; `<rev>@-1` (one step down that branch) when its down revision is a branch
 * point or it is a merge, because `downgrade <branch point>` would also undo the other branches; `base` for a base.
 */
export function downgradeTargetOf(graph: RevisionGraph, revision: AlembicRevision): string {
  const parents = revision.downRevisions;
  if (parents.length === 0) return "base";
  const parent = parents[0] as string;
  const siblings = graph.revisions.filter((other) => other.downRevisions.includes(parent));
  return parents.length === 1 && siblings.length === 1 ? parent : `${revision.revision}@-1`;
}

/** The graph's revisions as the core's migrations, in graph order; `meta` keeps the revision's links. */
export function toMigrations(graph: RevisionGraph): Migration[] {
  return graph.revisions.map((revision, order) => ({
    id: revision.revision,
    name: revision.message || revision.revision,
    order,
    checksum: revision.checksum ?? sha256Hex(revision.text),
    file: revision.file,
    meta: {
      downRevisions: revision.downRevisions,
      dependsOn: revision.dependsOn,
      branchLabels: revision.branchLabels,
      isHead: graph.heads.includes(revision.revision),
      downgradeTarget: downgradeTargetOf(graph, revision),
    },
  }));
}
