import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, type CliResult, type TestDatabase } from "@polymigrate/testing";

/** The example project, copied for each test. */
export const EXAMPLE_DIR = fileURLToPath(new URL("../../../examples/alembic-app", import.meta.url));

/** The example's revisions, oldest first. */
export const REVISIONS = ["949954c2be59", "803f3626e1af", "da19748f0605"] as const;

/** A copy of the example in a temporary folder. */
export interface AlembicTestProject {
  dir: string;
  write(path: string, content: string): string;
  /** Writes a migrate.config.json with the Alembic settings given. */
  configure(settings: Record<string, unknown>): void;
  /** Runs the built `migrate` in the project with DIRECT_URL set to `url`. */
  migrate(args: string[], url: string, env?: Record<string, string>): Promise<CliResult>;
  /** Runs `migrate ... --json` and parses the report. */
  migrateJson(args: string[], url: string): Promise<{ result: CliResult; report: JsonReport }>;
  remove(): void;
}

/** The parts of a run report the tests read. */
export interface JsonReport {
  outcome: string;
  projects: Array<{
    outcome: string;
    migrations: Array<{ id: string; outcome: string; durationMs?: number; sql?: string; error?: Record<string, unknown> }>;
    status?: Array<{ id: string; state: string }>;
    history?: Array<{ id: string; status: string }>;
    problems: Array<{ kind: string; id: string; message: string; level?: string }>;
    error?: { code: string; message: string; details?: Record<string, unknown> };
    created?: { id: string; files: string[]; isEmpty?: boolean };
  }>;
  error?: { code: string; message: string };
}

/** Copies `examples/alembic-app` (its Python files and revisions; not node_modules) into a fresh folder. */
export function copyExample(): AlembicTestProject {
  const dir = mkdtempSync(join(tmpdir(), "polymigrate-alembic-"));
  cpSync(EXAMPLE_DIR, dir, {
    recursive: true,
    filter: (source) => !["node_modules", "__pycache__", "test", ".env"].includes(basename(source)),
  });
  const project: AlembicTestProject = {
    dir,
    write(path, content) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    },
    configure(settings) {
      writeFileSync(
        join(dir, "migrate.config.json"),
        JSON.stringify({ projects: [{ name: "app", stack: "alembic", dir: ".", settings }] }, null, 2),
      );
    },
    migrate: (args, url, env = {}) => runCli(args, { cwd: dir, env: { DIRECT_URL: url, ...env }, timeoutMs: 120_000 }),
    async migrateJson(args, url) {
      const result = await project.migrate([...args, "--json"], url);
      try {
        return { result, report: JSON.parse(result.stdout) as JsonReport };
      } catch {
        throw new Error(`not JSON (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return project;
}

/** The revision files in the project's versions folder. */
export function listRevisionFiles(project: AlembicTestProject): string[] {
  return readdirSync(join(project.dir, "alembic/versions")).filter((name) => name.endsWith(".py")).sort();
}

/** What `alembic_version` holds, sorted. */
export async function readAlembicVersion(database: TestDatabase): Promise<string[]> {
  const rows = await database.query<{ version_num: string }>("SELECT version_num FROM alembic_version ORDER BY version_num");
  return rows.map((row) => row.version_num);
}

/** A revision file as Alembic's template writes it. */
export function revisionFile(revision: string, downRevision: string | null, message: string, upgrade: string, downgrade = "pass"): string {
  return `"""${message}

Revision ID: ${revision}
Revises: ${downRevision ?? ""}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '${revision}'
down_revision = ${downRevision === null ? "None" : `'${downRevision}'`}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrade}


def downgrade() -> None:
    ${downgrade}
`;
}
