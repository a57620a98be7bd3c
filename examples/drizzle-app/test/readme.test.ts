import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, listTables, runReadmeCommands, type TestDatabase } from "@polymigrate/testing";

const dir = fileURLToPath(new URL("..", import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

it("runs the README's commands as written, on a fresh database", async () => {
  const password = "drizzle-app-readme-pw";
  const url = database.urlWithPassword(password);
  const results = await runReadmeCommands(`${dir}/README.md`, { cwd: dir, env: { DIRECT_URL: url, DATABASE_URL: url } });
  for (const result of results) {
    expect(result.exitCode, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
  }
  expect(results.map((result) => result.command)).toEqual([
    "pnpm exec migrate status",
    "pnpm exec migrate plan",
    "pnpm exec migrate up",
    "pnpm exec drizzle-kit migrate",
    "pnpm exec migrate history",
    "pnpm run seed",
    "pnpm run query",
    "pnpm exec migrate down",
    "pnpm exec migrate status",
    "pnpm exec migrate up",
  ]);
  // Our own commands never print the password (drizzle-kit's output is its own business, and it prints none here).
  for (const result of results) expect(result.stdout + result.stderr).not.toContain(password);
  const [status, plan, up, , history, seed, query, down, afterDown] = results;
  expect(status!.stdout).toMatch(/drizzle-app\s+drizzle\s+\S+\s+0\s+4\s+none/);
  expect(plan!.stdout).toContain('CREATE TABLE "posts"');
  expect(up!.stdout).toContain("4 applied");
  expect(history!.stdout).toContain("0003_index_published_feed");
  expect(seed!.stdout).toContain("seeded 3 users");
  expect(query!.stdout).toContain("Notes on the analytical engine — by Ada");
  expect(down!.stdout).toContain('Undoing "0003_index_published_feed"');
  expect(afterDown!.stdout).toMatch(/pending\s+0003_index_published_feed/);
  expect(await listTables(database)).toEqual(["posts", "users"]);
  const rows = await database.query("SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id");
  expect(rows).toHaveLength(4);
  const index = await database.query("SELECT 1 FROM pg_indexes WHERE indexname = 'posts_published_created_at_idx'");
  expect(index).toHaveLength(1);
});
