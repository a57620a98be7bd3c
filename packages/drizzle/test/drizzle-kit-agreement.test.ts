import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { createDrizzleProject, generateThreeMigrations, readJournalOf, runDrizzleKit, reportOf } from "./drizzle-project.js";

const PASSWORD = "s3cret-pw";
const BACKFILL = "UPDATE users SET role = 'member' WHERE role IS NULL;\n";

let project: TestProject;
let databases: TestDatabase[] = [];

async function database(): Promise<TestDatabase> {
  const created = await createTestDatabase();
  databases.push(created);
  return created;
}

function cli(args: string[], db: TestDatabase) {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
}

function expectNoPassword(...outputs: Array<{ stdout?: string; stderr?: string; all?: string }>): void {
  for (const output of outputs) expect(`${output.stdout ?? ""}${output.stderr ?? ""}`).not.toContain(PASSWORD);
}

async function rows(db: TestDatabase, table = "drizzle.__drizzle_migrations") {
  return db.query<{ hash: string; created_at: string }>(`SELECT hash, created_at FROM ${table} ORDER BY id`);
}

beforeEach(() => {
  project = createDrizzleProject();
});
afterEach(async () => {
  project.remove();
  await Promise.all(databases.map((db) => db.drop()));
  databases = [];
});

describe("migrate and drizzle-kit agree on what is applied", () => {
  it("migrate up on an empty database, then drizzle-kit migrate applies nothing; the rows are the ones drizzle-kit writes", async () => {
    const tags = await generateThreeMigrations(project, BACKFILL);
    const ours = await database();
    const up = await cli(["up"], ours);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain("3 applied");
    expect(await listTables(ours)).toEqual(["posts", "users"]);
    const before = await rows(ours);
    expect(before).toHaveLength(3);

    const kit = await runDrizzleKit(["migrate"], project.dir, ours.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await rows(ours)).toEqual(before);

    // The same files applied by drizzle-kit itself give the same rows: hash and created_at, byte for byte.
    const theirs = await database();
    const theirRun = await runDrizzleKit(["migrate"], project.dir, theirs.urlWithPassword(PASSWORD));
    expect(theirRun.exitCode, theirRun.all).toBe(0);
    expect(await rows(theirs)).toEqual(before);
    expect(before.map((row) => Number(row.created_at))).toEqual(readJournalOf(project).entries.map((entry) => entry.when));
    expect(tags).toHaveLength(3);
    expectNoPassword(up);
  });

  it("drizzle-kit migrate on a fresh database, then migrate status shows nothing pending", async () => {
    await generateThreeMigrations(project, BACKFILL);
    const db = await database();
    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);

    const status = await cli(["status", "--json"], db);
    expect(status.exitCode).toBe(0);
    const report = reportOf(status);
    const [only] = report.projects;
    expect(only.stack).toBe("drizzle");
    expect(only.status.map((entry: { state: string }) => entry.state)).toEqual(["applied", "applied", "applied"]);
    expect(only.problems).toEqual([]);

    const human = await cli(["status"], db);
    expect(human.stdout).toMatch(/drizzle\s+\S+\s+3\s+0\s+none/);
    const plan = await cli(["plan"], db);
    expect(plan.stdout).toContain("-- nothing to apply");
    const up = await cli(["up"], db);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain("Nothing to apply");
    expect(await rows(db)).toHaveLength(3);
    expectNoPassword(status, human, plan, up);
  });
});

describe("concurrent runs", () => {
  it("three concurrent migrate up apply each migration exactly once", async () => {
    await generateThreeMigrations(project, BACKFILL);
    const db = await database();
    const runs = await Promise.all([cli(["up"], db), cli(["up"], db), cli(["up"], db)]);
    expect(runs.map((run) => run.exitCode)).toEqual([0, 0, 0]);
    expect(runs.map((run) => (run.stdout.match(/✓ \S+ {2}applied/g) ?? []).length).reduce((a, b) => a + b, 0)).toBe(3);
    expect(await rows(db)).toHaveLength(3);
  });
});

describe("each migration in its own transaction", () => {
  it("a failing third migration leaves the first two applied and recorded, names the statement and file:line, exits 1", async () => {
    const tags = await generateThreeMigrations(
      project,
      ["-- Backfill the authors.", "INSERT INTO users (email) VALUES ('a@example.com');", "--> statement-breakpoint", "INSERT INTO no_such_table VALUES (1);", ""].join("\n"),
    );
    const db = await database();
    const up = await cli(["up"], db);
    expect(up.exitCode).toBe(1);
    const output = up.stdout + up.stderr;
    expect(output).toContain(`drizzle/${tags[2]}.sql:4`);
    expect(output).toContain("INSERT INTO no_such_table VALUES (1)");
    expect(output).toContain('relation "no_such_table" does not exist');
    expect(await listTables(db)).toEqual(["posts", "users"]);
    expect(await rows(db)).toHaveLength(2);
    // The third migration's first statement was rolled back with it.
    expect(await db.query("SELECT * FROM users")).toEqual([]);

    const status = await cli(["status", "--json"], db);
    const [only] = reportOf(status).projects;
    expect(only.status.map((entry: { id: string; state: string }) => `${entry.id}:${entry.state}`)).toEqual([
      `${tags[0]}:applied`,
      `${tags[1]}:applied`,
      `${tags[2]}:pending`,
    ]);
    expectNoPassword(up, status);
  });

  it("migrate resolve --applied records a migration finished by hand as drizzle would, so drizzle-kit skips it", async () => {
    const tags = await generateThreeMigrations(project, "INSERT INTO no_such_table VALUES (1);\n");
    const db = await database();
    expect((await cli(["up"], db)).exitCode).toBe(1);
    const resolved = await cli(["resolve", "--applied", tags[2]!], db);
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const recorded = await rows(db);
    expect(recorded).toHaveLength(3);
    expect(Number(recorded[2]!.created_at)).toBe(readJournalOf(project).entries[2]!.when);
    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await rows(db)).toEqual(recorded);
    const back = await cli(["resolve", "--rolled-back", tags[2]!], db);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(await rows(db)).toEqual(recorded.slice(0, 2));
    expectNoPassword(resolved, back);
  });

  it("runs a migration whose statement cannot run in a transaction outside one, where drizzle-kit migrate fails", async () => {
    const tags = await generateThreeMigrations(project, 'CREATE INDEX CONCURRENTLY "users_role_idx" ON "users" ("role");\n');
    const theirs = await database();
    const kit = await runDrizzleKit(["migrate"], project.dir, theirs.urlWithPassword(PASSWORD));
    // drizzle-kit runs the whole run in one transaction: it fails (without saying why) and applies nothing.
    expect(kit.exitCode).not.toBe(0);
    expect(await listTables(theirs)).toEqual([]);

    const ours = await database();
    const up = await cli(["up", "--json"], ours);
    expect(up.exitCode, up.stderr).toBe(0);
    const [only] = reportOf(up).projects;
    expect(only.migrations.map((migration: { id: string; transactional: boolean }) => `${migration.id}:${migration.transactional}`)).toEqual([
      `${tags[0]}:true`,
      `${tags[1]}:true`,
      `${tags[2]}:false`,
    ]);
    expect(await ours.query("SELECT indexname FROM pg_indexes WHERE indexname = 'users_role_idx'")).toHaveLength(1);
    // drizzle-kit then agrees that everything is applied.
    const after = await runDrizzleKit(["migrate"], project.dir, ours.urlWithPassword(PASSWORD));
    expect(after.exitCode, after.all).toBe(0);
    expect(await rows(ours)).toHaveLength(3);
  });
});

describe("the configuration's migrations table and schema", () => {
  it("honours migrations.table and migrations.schema, as drizzle-kit does", async () => {
    project.remove();
    project = createDrizzleProject({ migrations: { table: "schema_history", schema: "audit" } });
    await generateThreeMigrations(project, BACKFILL);
    const db = await database();
    const up = await cli(["up"], db);
    expect(up.exitCode).toBe(0);
    expect(await listTables(db, "audit")).toEqual(["schema_history"]);
    expect(await listTables(db, "drizzle")).toEqual([]);
    const before = await rows(db, "audit.schema_history");
    expect(before).toHaveLength(3);

    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await rows(db, "audit.schema_history")).toEqual(before);
    expect(await listTables(db, "drizzle")).toEqual([]);

    const history = await cli(["history", "--json"], db);
    const [only] = reportOf(history).projects;
    expect(only.history).toHaveLength(3);
    expectNoPassword(up, history);
  });
});
