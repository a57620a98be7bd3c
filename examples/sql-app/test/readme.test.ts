import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, listTables, runReadmeCommands, type TestDatabase } from "@polymigrate/testing";

const dir = fileURLToPath(new URL("..", import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

it("runs the README's commands as written", async () => {
  const password = "sql-app-readme-pw";
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
    expect(result.exitCode, `${result.command}\n${result.stderr}`).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(password);
  }
  expect(results[0]!.stdout).toMatch(/pending\s+0003_index_books_title/);
  expect(results[4]!.stdout).toContain('Undoing "0003_index_books_title"');
  expect(results[5]!.stdout).toMatch(/pending\s+0003_index_books_title/);
  expect(await listTables(database)).toEqual(["authors", "books"]);
  const indexes = await database.query("SELECT indexname FROM pg_indexes WHERE indexname = 'books_title_idx'");
  expect(indexes).toHaveLength(1);
});
