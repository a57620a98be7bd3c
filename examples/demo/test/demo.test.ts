import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ADMIN_URL } from "@polymigrate/testing";

const script = fileURLToPath(new URL("../run.mjs", import.meta.url));

function runDemo(env: Record<string, string>) {
  const clean = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env };
  return spawnSync(process.execPath, [script], { env: clean, encoding: "utf8", timeout: 180_000 });
}

describe("the demo (the README's main command)", () => {
  it("starts an embedded PostgreSQL when no DIRECT_URL is set, migrates every example and prints the table", () => {
    const result = runDemo({});
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("Starting an embedded PostgreSQL");
    expect(result.stdout).toMatch(/^PROJECT\s+STACK\s+DATABASE\s+APPLIED\s+PENDING\s+PROBLEMS$/m);
    expect(result.stdout).toMatch(/^sql-app\s+sql\s+postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/polymigrate_demo_sql_app\s+3\s+0\s+none$/m);
    for (const [project, stack] of [["prisma-app", "prisma"], ["drizzle-app", "drizzle"], ["alembic-app", "alembic"]]) {
      expect(result.stdout).toMatch(new RegExp(`^${project}\\s+${stack}\\s+\\S+/polymigrate_demo_${project.replace("-", "_")}\\s+[1-9]\\d*\\s+0\\s+none$`, "m"));
    }
  }, 180_000);

  it("uses DIRECT_URL's server when it is set", () => {
    const url = new URL(ADMIN_URL);
    url.password = "demo-secret-pw";
    const result = runDemo({ DIRECT_URL: url.toString() });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).not.toContain("embedded");
    expect(result.stdout).toMatch(/^sql-app\s+sql\s+\S+:5432\/polymigrate_demo_sql_app\s+3\s+0\s+none$/m);
    expect(result.stdout + result.stderr).not.toContain("demo-secret-pw");
  }, 180_000);
});
