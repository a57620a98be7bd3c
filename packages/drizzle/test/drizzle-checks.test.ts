import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { createDrizzleProject, generateThreeMigrations, readJournalOf, runDrizzleKit, writeJournalOf, reportOf } from "./drizzle-project.js";

const PASSWORD = "s3cret-pw";
const BACKFILL = "UPDATE users SET role = 'member' WHERE role IS NULL;\n";

let project: TestProject;
let db: TestDatabase;

beforeEach(async () => {
  project = createDrizzleProject();
  db = await createTestDatabase();
});
afterEach(async () => {
  project.remove();
  await db.drop();
});

function cli(args: string[], env: Record<string, string> = { DIRECT_URL: db.urlWithPassword(PASSWORD) }) {
  return runCli(args, { cwd: project.dir, env });
}

async function count(): Promise<number> {
  const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
  return row?.n ?? -1;
}

describe("drizzle's pending rule", () => {
  it("reports a migration whose journal 'when' is older than the last applied row, which drizzle-kit would skip", async () => {
    const tags = await generateThreeMigrations(project, BACKFILL);
    // Apply the first and the third (as after a merge in which "posts" arrived with an older timestamp).
    const journal = readJournalOf(project);
    const [users, posts, backfill] = journal.entries as [(typeof journal.entries)[0], (typeof journal.entries)[0], (typeof journal.entries)[0]];
    writeJournalOf(project, { ...journal, entries: [users, backfill] });
    project.write(`drizzle/${backfill.tag}.sql`, "SELECT 1;\n");
    expect((await cli(["up"])).exitCode).toBe(0);
    writeJournalOf(project, { ...journal, entries: [users, posts, backfill] });

    const status = await cli(["status", "--json"]);
    const [only] = reportOf(status).projects;
    const skipped = only.problems.find((problem: { kind: string }) => problem.kind === "out-of-order");
    expect(skipped.id).toBe(tags[1]);
    expect(skipped.message).toContain("drizzle-kit migrate would skip it without a word");
    expect(only.status.find((entry: { id: string }) => entry.id === tags[1])).toMatchObject({ state: "pending", isOutOfOrder: true });

    // The claim is true: the real drizzle-kit applies nothing and exits 0.
    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await count()).toBe(2);
    expect(await listTables(db)).toEqual(["users"]);

    const refused = await cli(["up"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("drizzle-kit migrate would skip it");
    const allowed = await cli(["up", "--allow", "out-of-order"]);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(await listTables(db)).toEqual(["posts", "users"]);
    expect(await count()).toBe(3);
    for (const result of [status, refused, allowed]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("reports a row that matches no journal entry as missing, and a changed file as changed", async () => {
    const tags = await generateThreeMigrations(project, BACKFILL);
    expect((await cli(["up"])).exitCode).toBe(0);
    await db.query("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('feed', 42)");
    project.write(`drizzle/${tags[2]}.sql`, "UPDATE users SET role = 'admin';\n");
    const status = await cli(["status", "--json"]);
    const [only] = reportOf(status).projects;
    const kinds = only.problems.map((problem: { kind: string; id: string }) => `${problem.kind}:${problem.id}`);
    expect(kinds).toContain(`changed:${tags[2]}`);
    expect(kinds.some((kind: string) => /^missing:row-\d+@42$/.test(kind))).toBe(true);
  });
});

describe("drizzle-kit check's snapshot checks, read natively", () => {
  it("shows a snapshot collision as a warning in status, without stopping up", async () => {
    await generateThreeMigrations(project, BACKFILL);
    // A second branch generated its own 0002 on top of 0001: same prevId as 0002's snapshot.
    const meta = join(project.dir, "drizzle", "meta");
    const third = JSON.parse(readFileSync(join(meta, "0002_snapshot.json"), "utf8"));
    project.write("drizzle/meta/0099_snapshot.json", JSON.stringify({ ...third, id: "11111111-1111-1111-1111-111111111111" }));

    const status = await cli(["status"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain('Snapshots "0002_snapshot.json", "0099_snapshot.json" all point to the parent snapshot');
    const kit = await runDrizzleKit(["check"], project.dir);
    expect(kit.exitCode).toBe(1);
    expect(kit.all).toContain("which is a collision");

    const up = await cli(["up"]);
    expect(up.exitCode).toBe(0);
    expect(await count()).toBe(3);
  });

  it("warns about journal timestamps that do not increase, as drizzle-kit check does", async () => {
    const tags = await generateThreeMigrations(project, BACKFILL);
    const journal = readJournalOf(project);
    journal.entries[2]!.when = journal.entries[1]!.when;
    writeJournalOf(project, journal);
    const status = await cli(["status"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`Journal entry "${tags[2]}" (when ${journal.entries[2]!.when}) follows "${tags[1]}"`);
    const kit = await runDrizzleKit(["check"], project.dir);
    expect(kit.all).toContain(`Warning: ${tags[2]} (idx: 2, when: ${journal.entries[2]!.when}) follows ${tags[1]}`);
  });
});

describe("down", () => {
  it("runs <tag>.down.sql, removes drizzle's row, and drizzle-kit migrate applies the migration again", async () => {
    const tags = await generateThreeMigrations(project, "ALTER TABLE users ADD COLUMN bio text;\n");
    project.write(`drizzle/${tags[2]}.down.sql`, "ALTER TABLE users DROP COLUMN bio;\n");
    expect((await cli(["up"])).exitCode).toBe(0);
    const down = await cli(["down"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await count()).toBe(2);
    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await count()).toBe(3);
    const columns = await db.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'bio'");
    expect(columns).toHaveLength(1);
    const refused = await cli(["down", "--steps", "2"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`Cannot undo "${tags[1]}"`);
  });
});

describe("the configuration", () => {
  it("refuses a dialect other than postgresql, clearly", async () => {
    project.remove();
    project = createDrizzleProject({ dialect: "mysql" });
    const status = await cli(["status"]);
    expect(status.exitCode).toBe(2);
    expect(status.stderr).toContain('uses dialect "mysql"; migrate supports only "postgresql"');
  });

  it("keeps what drizzle.config.ts logs while it loads out of migrate's output", async () => {
    await generateThreeMigrations(project, BACKFILL);
    const config = readFileSync(join(project.dir, "drizzle.config.ts"), "utf8");
    project.write("drizzle.config.ts", `console.log("connecting to", process.env.DIRECT_URL);\nconsole.warn("[dotenv] injecting env");\n${config}`);
    const status = await cli(["status", "--json"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(reportOf(status).projects[0].status).toHaveLength(3);
    expect(status.stdout + status.stderr).not.toContain("connecting to");
    expect(status.stdout + status.stderr).not.toContain(PASSWORD);
  });

  it("loads drizzle.config.ts without DIRECT_URL, and never prints the URL it reads", async () => {
    await generateThreeMigrations(project, BACKFILL);
    const missing = await cli(["status"], {});
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("DIRECT_URL");
    // A URL the server refuses: the error names the database without its password.
    const wrong = db.urlWithPassword(PASSWORD).replace(db.name, `${db.name}_absent`);
    const failed = await cli(["status", "--json"], { DIRECT_URL: wrong });
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout + failed.stderr).toContain(`${db.name}_absent`);
    for (const result of [missing, failed]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
