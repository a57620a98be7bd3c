import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { resolveDrizzleKit, toMigrationName } from "./drizzle-create.js";

describe("resolveDrizzleKit", () => {
  it("finds drizzle-kit's own entry point from a folder below the one that installs it", () => {
    const packageDir = fileURLToPath(new URL("..", import.meta.url));
    const below = join(packageDir, "src");
    const { bin, version } = resolveDrizzleKit(below);
    expect(bin).toBe(join(packageDir, "node_modules", "drizzle-kit", "bin.cjs"));
    expect(version).toMatch(/^0\.\d+\.\d+/);
  });

  it("says how to install it when no node_modules above the project has it", () => {
    const dir = mkdtempSync(join(tmpdir(), "no-drizzle-kit-"));
    try {
      mkdirSync(join(dir, "app"));
      expect(() => resolveDrizzleKit(join(dir, "app"))).toThrow(/drizzle-kit is not installed in ".*app".*pnpm add -D drizzle-kit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("toMigrationName", () => {
  it("keeps drizzle-style names and turns anything else into underscores", () => {
    expect(toMigrationName("add_posts")).toBe("add_posts");
    expect(toMigrationName(" add posts/../x ")).toBe("add_posts_x");
    expect(() => toMigrationName("  ")).toThrow(/not a usable migration name/);
  });
});
