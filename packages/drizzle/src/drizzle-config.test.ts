import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findDrizzleConfig, loadDrizzleConfig } from "./drizzle-config.js";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "drizzle-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("loadDrizzleConfig", () => {
  it("loads a TypeScript config that reads DIRECT_URL, without the variable set, with drizzle's defaults", async () => {
    const saved = process.env.DIRECT_URL;
    delete process.env.DIRECT_URL;
    try {
      writeFileSync(
        join(dir, "drizzle.config.ts"),
        'const url: string = process.env.DIRECT_URL!;\nexport default { dialect: "postgresql", schema: "./src/db/schema.ts", dbCredentials: { url } };\n',
      );
      const file = findDrizzleConfig(dir);
      expect(file).toBe(join(dir, "drizzle.config.ts"));
      const config = await loadDrizzleConfig(file!, dir);
      expect(config).toEqual({
        file: join(dir, "drizzle.config.ts"),
        out: join(dir, "drizzle"),
        schema: "./src/db/schema.ts",
        dialect: "postgresql",
        migrationsTable: "__drizzle_migrations",
        migrationsSchema: "drizzle",
        hasBreakpoints: true,
      });
    } finally {
      if (saved !== undefined) process.env.DIRECT_URL = saved;
    }
  });

  it("reads out and migrations.table/schema", async () => {
    writeFileSync(
      join(dir, "drizzle.config.json"),
      JSON.stringify({ dialect: "postgresql", out: "db/migrations", migrations: { table: "history", schema: "audit" }, breakpoints: false }),
    );
    const config = await loadDrizzleConfig(join(dir, "drizzle.config.json"), dir);
    expect(config).toMatchObject({ out: join(dir, "db/migrations"), migrationsTable: "history", migrationsSchema: "audit", hasBreakpoints: false });
  });

  it("refuses any dialect but postgresql", async () => {
    writeFileSync(join(dir, "drizzle.config.js"), 'export default { dialect: "sqlite", schema: "./schema.ts" };\n');
    await expect(loadDrizzleConfig(join(dir, "drizzle.config.js"), dir)).rejects.toMatchObject({
      code: "STACK_UNSUPPORTED",
      message: expect.stringContaining('uses dialect "sqlite"; migrate supports only "postgresql"'),
    });
  });

  it("reports a config that throws without printing what it read", async () => {
    writeFileSync(join(dir, "drizzle.config.ts"), 'throw new Error("cannot connect to postgresql://app:hunter2@db/app");\n');
    const error = (await loadDrizzleConfig(join(dir, "drizzle.config.ts"), dir).then(
      () => new Error("loaded"),
      (caught: unknown) => caught,
    )) as Error & { code?: string };
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).not.toContain("hunter2");
  });
});
