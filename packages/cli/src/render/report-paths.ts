import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/**
 * The folder that report paths are relative to: `$GITHUB_WORKSPACE` in GitHub Actions (so that annotations and SARIF
 * results land on the right file), else the git repository around `cwd`, else `cwd` itself.
 */
export function reportRoot(cwd: string, env: Record<string, string | undefined>): string {
  const workspace = env.GITHUB_WORKSPACE;
  if (workspace && isInside(cwd, resolve(workspace))) return resolve(workspace);
  for (let folder = resolve(cwd); ; folder = dirname(folder)) {
    if (existsSync(join(folder, ".git"))) return folder;
    if (dirname(folder) === folder) return resolve(cwd);
  }
}

/** `file` relative to `root`, with forward slashes; a file outside `root` keeps its absolute path. */
export function reportPath(file: string, root: string): string {
  const absolute = resolve(root, file);
  if (!isInside(absolute, root)) return absolute.split(sep).join("/");
  return relative(root, absolute).split(sep).join("/");
}

function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, resolve(path));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}
