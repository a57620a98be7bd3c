import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, listTables, runReadmeCommands, type TestDatabase } from "@polymigrate/testing";

const dir = fileURLToPath(new URL("..", import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase("pm_prisma_app");
});
afterAll(() => database.drop());

it("runs the README's commands as written", { timeout: 180_000 }, async () => {
  const password = "prisma-app-readme-pw";
  const url = database.urlWithPassword(password);
  const results = await runReadmeCommands(`${dir}/README.md`, { cwd: dir, env: { DIRECT_URL: url, DATABASE_URL: url } });
  expect(results.map((result) => result.command)).toEqual([
    "pnpm exec migrate status",
    "pnpm exec migrate plan",
    "pnpm exec migrate up",
    "pnpm exec prisma migrate status",
    "pnpm exec prisma generate",
    "node scripts/seed.mjs",
    "node scripts/query.mjs",
    "pnpm exec migrate history",
    "pnpm exec migrate down",
    "pnpm exec migrate status",
    "pnpm exec migrate up",
    "pnpm exec prisma migrate status",
  ]);
  for (const result of results) {
    expect(result.exitCode, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(password);
  }
  const output = (index: number) => results[index]!.stdout;
  expect(output(0)).toMatch(/pending\s+\d{14}_init/);
  expect(output(1)).toContain('CREATE TABLE "User"');
  expect(output(3)).toContain("Database schema is up to date!");
  expect(output(5)).toContain("Seeded 2 users and 3 posts.");
  expect(output(6).trim().split("\n")).toEqual([
    "Notes on the Analytical Engine by Ada (ADMIN)",
    "Compilers for everyone by Grace (USER)",
  ]);
  expect(output(8)).toMatch(/Undoing "\d{14}_add_roles"/);
  expect(output(9)).toMatch(/pending\s+\d{14}_add_roles/);
  expect(output(11)).toContain("Database schema is up to date!");
  expect(await listTables(database)).toEqual(["Post", "User", "_prisma_migrations"]);
  // down.sql dropped the role column (Ada was ADMIN); the re-applied migration added it back with its default.
  const roles = await database.query<{ email: string; role: string }>('SELECT email, role::text AS role FROM "User" ORDER BY email');
  expect(roles).toEqual([
    { email: "ada@example.com", role: "USER" },
    { email: "grace@example.com", role: "USER" },
  ]);
});
