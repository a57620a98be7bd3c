// The prisma.config.ts helper against the real server and the real @prisma/adapter-pg 6.19.3.
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@polymigrate/testing";
import { createDirectPrismaAdapter, defineDirectPrismaConfig, resolveDirectUrl } from "../src/prisma-config.js";

const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

describe("createDirectPrismaAdapter", () => {
  it("reads the catalog's name and \"char\" columns, which the plain adapter cannot deserialize (prisma/prisma#27403)", async () => {
    const database = await createTestDatabase("pm_prisma");
    databases.push(database);
    const query = {
      sql: "SELECT n.nspname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'pg_class'",
      args: [],
      argTypes: [],
    };

    const { PrismaPg } = await import("@prisma/adapter-pg");
    const plain = await new PrismaPg({ connectionString: database.url }).connect();
    try {
      await expect(plain.queryRaw(query)).rejects.toThrow();
    } finally {
      await plain.dispose();
    }

    const factory = await createDirectPrismaAdapter({ env: { DIRECT_URL: database.url } });
    const adapter = await factory.connect();
    try {
      const result = await adapter.queryRaw(query);
      expect(result.rows).toEqual([["pg_catalog", "r"]]);
      // Inside a transaction too (the schema engine's migrations run there).
      const transaction = await adapter.startTransaction();
      const inTransaction = await transaction.queryRaw(query);
      await transaction.commit();
      expect(inTransaction.rows).toEqual([["pg_catalog", "r"]]);
    } finally {
      await adapter.dispose();
    }
  });
});

describe("the direct-URL policy in prisma.config.ts", () => {
  it("uses DIRECT_URL, and DATABASE_URL only when it is not pooled", () => {
    expect(resolveDirectUrl({ env: { DIRECT_URL: "postgresql://u@db:5432/app", DATABASE_URL: "postgresql://u@pool:6543/app" } })).toBe(
      "postgresql://u@db:5432/app",
    );
    expect(() => resolveDirectUrl({ env: { DATABASE_URL: "postgresql://u@ep-cool-pooler.eu.aws.neon.tech/app" } })).toThrow(/Refusing the URL in "DATABASE_URL"/);
    expect(() => resolveDirectUrl({ env: {} })).toThrow(/No database URL/);
  });

  it("configures Prisma 6's WebAssembly engine and resolves the URL only when a command connects", async () => {
    const config = defineDirectPrismaConfig({ schema: "prisma/schema.prisma", env: {} });
    expect(config).toMatchObject({ experimental: { adapter: true }, engine: "js", schema: "prisma/schema.prisma" });
    await expect(config.adapter()).rejects.toMatchObject({ code: "URL_MISSING" });
  });
});
