import { describe, expect, it } from "vitest";
import { datasourceEnvNames, formatTimestamp, nextMigrationId, slugifyMigrationName } from "./prisma-create.js";

describe("migration ids", () => {
  it("formats Prisma's UTC timestamp", () => {
    expect(formatTimestamp(new Date("2025-03-04T05:06:07Z"))).toBe("20250304050607");
  });

  it("slugifies names as Prisma's migration names", () => {
    expect(slugifyMigrationName("Add Comments!")).toBe("add_comments");
    expect(() => slugifyMigrationName("  !! ")).toThrow(/not a usable migration name/);
  });

  it("moves the timestamp past the last migration so that the order stays the creation order", () => {
    const now = new Date("2025-03-04T05:06:07Z");
    expect(nextMigrationId(["20250101000000_init"], "next", now)).toBe("20250304050607_next");
    expect(nextMigrationId(["20250304050607_init"], "next", now)).toBe("20250304050608_next");
    expect(nextMigrationId(["20991231235959_future"], "next", now)).toBe("21000101000000_next");
  });
});

describe("datasourceEnvNames", () => {
  it("lists the variables the datasource block reads", () => {
    const schema = `generator client {\n  provider = "prisma-client-js"\n}\n\ndatasource db {\n  provider  = "postgresql"\n  url       = env("DATABASE_URL")\n  directUrl = env("DIRECT_URL")\n}\n`;
    expect(datasourceEnvNames(schema)).toEqual(["DATABASE_URL", "DIRECT_URL"]);
  });
});
