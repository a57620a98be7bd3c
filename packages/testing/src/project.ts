import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A throwaway project folder built from a file tree. */
export interface TestProject {
  dir: string;
  /** Writes (or overwrites) a file relative to the project. */
  write(path: string, content: string): string;
  remove(): void;
}

/** Makes a project folder from `{ "relative/path": "content" }`. */
export function createTestProject(files: Record<string, string> = {}): TestProject {
  const dir = mkdtempSync(join(tmpdir(), "polymigrate-"));
  const project: TestProject = {
    dir,
    write(path, content) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [path, content] of Object.entries(files)) project.write(path, content);
  return project;
}
