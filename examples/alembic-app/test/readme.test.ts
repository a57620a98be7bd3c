import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, listTables, runReadmeCommands, type TestDatabase } from "@polymigrate/testing";

const dir = fileURLToPath(new URL("..", import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

it("runs the README's commands as written, against the real Alembic", { timeout: 180_000 }, async () => {
  const password = "alembic-app-readme-pw";
  const results = await runReadmeCommands(`${dir}/README.md`, { cwd: dir, env: { DIRECT_URL: database.urlWithPassword(password) } });
  expect(results.map((result) => result.command)).toEqual([
    "pnpm exec migrate status",
    "pnpm exec migrate plan",
    "pnpm exec migrate up",
    "pnpm exec migrate history",
    "pnpm exec migrate down",
    "pnpm exec migrate status",
    "pnpm exec migrate up",
  ]);
  for (const result of results) {
    expect(result.exitCode, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(password);
  }
  const [status, plan, , history, down, statusAfterDown] = results as [
    (typeof results)[number],
    (typeof results)[number],
    (typeof results)[number],
    (typeof results)[number],
    (typeof results)[number],
    (typeof results)[number],
  ];
  expect(status.stdout).toMatch(/pending\s+949954c2be59[\s\S]*pending\s+803f3626e1af[\s\S]*pending\s+da19748f0605/);
  expect(plan.stdout).toContain("CREATE TABLE users");
  expect(plan.stdout).toContain("CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived')");
  expect(plan.stdout).toContain("CREATE INDEX ix_posts_author_id_created_at ON posts (author_id, created_at)");
  expect(history.stdout).toMatch(/949954c2be59[\s\S]*803f3626e1af[\s\S]*da19748f0605/);
  expect(down.stdout).toContain('Undoing "da19748f0605"');
  expect(statusAfterDown.stdout).toMatch(/applied\s+803f3626e1af[\s\S]*pending\s+da19748f0605/);

  expect(await database.query("SELECT version_num FROM alembic_version")).toEqual([{ version_num: "da19748f0605" }]);
  expect(await listTables(database)).toEqual(["alembic_version", "posts", "users"]);
  const foreignKeys = await database.query(
    "SELECT confrelid::regclass::text AS target FROM pg_constraint WHERE conrelid = 'posts'::regclass AND contype = 'f'",
  );
  expect(foreignKeys).toEqual([{ target: "users" }]);
  const labels = await database.query<{ label: string }>(
    "SELECT enumlabel AS label FROM pg_enum JOIN pg_type ON pg_type.oid = enumtypid WHERE typname = 'post_status' ORDER BY enumsortorder",
  );
  expect(labels.map((row) => row.label)).toEqual(["draft", "published", "archived"]);
  expect(await database.query("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_posts_author_id_created_at'")).toHaveLength(1);
});
