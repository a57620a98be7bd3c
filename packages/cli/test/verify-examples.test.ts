import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase } from "@polymigrate/testing";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
let database: TestDatabase;

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(() => database.drop());

describe("migrate verify on every example", () => {
  it.each(["sql-app", "prisma-app", "drizzle-app", "alembic-app"])(
    "proves each down of %s undoes its up, and leaves the target alone",
    async (name) => {
      const result = await runCli(["verify", "--json"], { cwd: example(name), env: { DIRECT_URL: database.url }, timeoutMs: 180_000 });
      expect(result.exitCode, result.stderr + result.stdout).toBe(0);
      const steps = JSON.parse(result.stdout).projects[0].verification as Array<{ id: string; result: string }>;
      expect(steps.length).toBeGreaterThanOrEqual(3);
      for (const step of steps) expect(step, step.id).toMatchObject({ result: "verified" });
      expect(await listTables(database)).toEqual([]);
    },
    180_000,
  );
});
