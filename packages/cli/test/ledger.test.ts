import { hostname, userInfo } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, openSession, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_users.sql": "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
    "migrations/0001_users.down.sql": "DROP TABLE users;\n",
  });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

/** A change made by hand, as through psql: a direct SQL session outside migrate. */
async function byHand(sql: string): Promise<void> {
  const client = await openSession(database.url);
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface LedgerRow {
  id: string;
  command: string;
  project: string;
  stack: string;
  outcome: string;
  os_user: string | null;
  host: string | null;
  db_user: string;
  ci: Record<string, string> | null;
  migrations: Array<{ id: string; outcome: string; checksum?: string; durationMs?: number }>;
  error: string | null;
  fingerprint: string;
}

function ledgerRows(): Promise<LedgerRow[]> {
  return database.query<LedgerRow & Record<string, unknown>>("SELECT * FROM polymigrate.ledger ORDER BY id");
}

describe("ledger and drift", () => {
  it("reports a column added by hand in status (human and JSON, exit 0), and baseline or up clears it", async () => {
    const env = { DIRECT_URL: database.urlWithPassword("ledger-secret-pw"), GITHUB_RUN_ID: "4242", GITHUB_JOB: "migrate" };
    const up = await runCli(["up"], { cwd: project.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);

    const clean = await runCli(["status", "--json"], { cwd: project.dir, env });
    expect(clean.exitCode).toBe(0);
    expect(JSON.parse(clean.stdout).projects[0].drift).toBeUndefined();
    expect(clean.stderr).not.toContain("drift");

    await byHand("ALTER TABLE users ADD COLUMN nickname text");
    const human = await runCli(["status"], { cwd: project.dir, env });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain("warning: drift: the schema changed outside migrate");
    expect(human.stdout).toContain('+ column "public.users.nickname" added: text NULL');
    expect(human.stdout).toContain('migrate baseline');
    expect(human.stderr).toContain('column "public.users.nickname" added');

    const json = await runCli(["status", "--json"], { cwd: project.dir, env });
    expect(json.exitCode).toBe(0);
    const drift = JSON.parse(json.stdout).projects[0].drift;
    expect(drift.command).toBe("up");
    expect(Date.parse(drift.since)).toBeLessThanOrEqual(Date.now());
    expect(drift.expectedFingerprint).not.toBe(drift.actualFingerprint);
    expect(drift.differences).toEqual([
      { kind: "column", name: "public.users.nickname", change: "added", after: "text NULL", message: 'column "public.users.nickname" added: text NULL' },
    ]);

    const baseline = await runCli(["baseline"], { cwd: project.dir, env });
    expect(baseline.exitCode, baseline.stderr).toBe(0);
    expect(baseline.stdout).toContain("Recorded the current schema as the expected one");
    expect(baseline.stdout).toContain("accepting 1 change(s) made outside migrate");
    const afterBaseline = await runCli(["status", "--json"], { cwd: project.dir, env });
    expect(JSON.parse(afterBaseline.stdout).projects[0].drift).toBeUndefined();

    // Another hand change (an index this time), then an up of a new migration: the run records the schema after it.
    await byHand("CREATE INDEX users_name_idx ON users (name)");
    const drifted = JSON.parse((await runCli(["status", "--json"], { cwd: project.dir, env })).stdout).projects[0].drift;
    expect(drifted.differences.map((difference: { kind: string; name: string; change: string }) => `${difference.kind} ${difference.name} ${difference.change}`)).toEqual([
      "index public.users_name_idx added",
    ]);
    project.write("migrations/0002_posts.sql", "CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);\n");
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    const afterUp = await runCli(["status"], { cwd: project.dir, env });
    expect(afterUp.stdout).not.toContain("drift");
    expect(afterUp.stderr).not.toContain("changed outside migrate");

    const rows = await ledgerRows();
    expect(rows.map((row) => row.command)).toEqual(["up", "baseline", "up"]);
    const [first, , last] = rows;
    expect(first).toMatchObject({ project: project.dir.split("/").pop(), stack: "sql", outcome: "success", os_user: userInfo().username, host: hostname(), db_user: "postgres" });
    expect(first!.ci).toEqual({ GITHUB_RUN_ID: "4242", GITHUB_JOB: "migrate" });
    expect(first!.migrations).toEqual([{ id: "0001_users", name: "users", outcome: "applied", checksum: expect.stringMatching(/^[0-9a-f]{64}$/), durationMs: expect.any(Number) }]);
    expect(last!.migrations.map((migration) => migration.id)).toEqual(["0002_posts"]);
    expect(last!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(rows.map((row) => row.fingerprint)).size).toBe(3);

    // No password anywhere in the ledger, not even in its stored catalogs.
    const text = await database.query<{ text: string }>("SELECT string_agg(l::text, ' ') AS text FROM polymigrate.ledger l");
    expect(text[0]!.text).toContain("0001_users");
    expect(text[0]!.text).not.toContain("ledger-secret-pw");
  });

  it("records a failed run with its failed migration and error, and a resolve; records nothing for an up with nothing to do", async () => {
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    project.write("migrations/0002_broken.sql", "CREATE TABLE ok_table (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n");
    const failed = await runCli(["up"], { cwd: project.dir, env });
    expect(failed.exitCode).toBe(1);

    const rows = await ledgerRows();
    expect(rows.map((row) => `${row.command} ${row.outcome}`)).toEqual(["up success", "up failed"]);
    expect(rows[1]!.migrations).toEqual([expect.objectContaining({ id: "0002_broken", outcome: "failed", checksum: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    expect(rows[1]!.error).toContain("no_such_table");
    // The failed migration rolled back: the schema after it is the one before it, so no drift either.
    expect(rows[1]!.fingerprint).toBe(rows[0]!.fingerprint);
    expect(JSON.parse((await runCli(["status", "--json"], { cwd: project.dir, env })).stdout).projects[0].drift).toBeUndefined();

    // resolve is recorded too, with the migration it marked.
    const resolved = await runCli(["resolve", "--applied", "0002_broken"], { cwd: project.dir, env });
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const after = await ledgerRows();
    expect(after.map((row) => `${row.command} ${row.outcome}`)).toEqual(["up success", "up failed", "resolve success"]);
    expect(after[2]!.migrations).toEqual([expect.objectContaining({ id: "0002_broken", outcome: "applied", checksum: rows[1]!.migrations[0]!.checksum })]);

  });

  it("lists the runs of two projects sharing one database in history --ledger, and shows the same drift to both", async () => {
    project.write("web/0001_pages.sql", "CREATE TABLE pages (id int PRIMARY KEY);\n");
    project.write("billing/0001_invoices.sql", "CREATE TABLE invoices (id int PRIMARY KEY);\n");
    project.write("billing/0001_invoices.down.sql", "DROP TABLE invoices;\n");
    project.write(
      "migrate.config.json",
      JSON.stringify({
        projects: [
          { name: "web", stack: "sql", dir: "web", settings: { table: "web_migrations" } },
          { name: "billing", stack: "sql", dir: "billing", settings: { table: "billing_migrations" } },
        ],
      }),
    );
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    const down = await runCli(["down", "--project", "billing"], { cwd: project.dir, env });
    expect(down.exitCode, down.stderr).toBe(0);

    const json = JSON.parse((await runCli(["history", "--ledger", "--json"], { cwd: project.dir, env })).stdout);
    for (const report of json.projects) {
      expect(report.ledgerRuns.map((run: { command: string; project: string; outcome: string }) => `${run.command} ${run.project} ${run.outcome}`)).toEqual([
        "up web success",
        "up billing success",
        "down billing success",
      ]);
    }
    expect(json.projects[0].ledgerRuns[2].migrations).toEqual([expect.objectContaining({ id: "0001_invoices", outcome: "rolled-back" })]);

    const human = await runCli(["history", "--ledger"], { cwd: project.dir, env });
    expect(human.exitCode).toBe(0);
    expect(human.stdout.match(/^Ledger of /gm)).toHaveLength(1);
    expect(human.stdout).toMatch(/up\s+web\s+sql\s+success/);
    expect(human.stdout).toMatch(/down\s+billing\s+sql\s+success/);
    expect(human.stdout).toContain("0001_invoices rolled-back");

    // The stack's own history stays the default.
    expect((await runCli(["history", "--project", "web"], { cwd: project.dir, env })).stdout).toContain("0001_pages");

    await byHand("ALTER TABLE pages ADD COLUMN nickname text");
    const status = JSON.parse((await runCli(["status", "--json"], { cwd: project.dir, env })).stdout);
    for (const report of status.projects) {
      expect(report.drift.project).toBe("billing");
      expect(report.drift.differences.map((difference: { name: string }) => difference.name)).toEqual(["public.pages.nickname"]);
    }
  });

  it("turns a ledger it cannot write into a warning, not a failed run", async () => {
    await byHand("CREATE SCHEMA polymigrate; CREATE TABLE polymigrate.ledger (id int)");
    const env = { DIRECT_URL: database.url };
    const up = await runCli(["up", "--json"], { cwd: project.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);
    const report = JSON.parse(up.stdout).projects[0];
    expect(report.migrations[0].outcome).toBe("applied");
    expect(report.ledger.recorded).toBe(false);
    expect(report.ledger.warning).toContain("Could not record this run in the ledger (polymigrate.ledger)");
    const human = await runCli(["status"], { cwd: project.dir, env });
    expect(human.exitCode).toBe(0);
    expect(human.stderr).toContain("Could not check for drift");
  });
});
