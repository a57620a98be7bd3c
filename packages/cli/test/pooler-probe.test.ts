import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { probePooler } from "@polymigrate/core";
import {
  createTestDatabase,
  createTestProject,
  listTables,
  runCli,
  startPgBouncer,
  type CliResult,
  type PgBouncer,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

// The pooler probe against a real PgBouncer (Debian's), started on a free loopback port in front of a fresh database.
// The URLs through it look direct (127.0.0.1:<port>, no pgbouncer=true): only the probe can tell.

const PASSWORD = "Pooler-pw-4c2a-never-print";

let database: TestDatabase;
let project: TestProject;
let bouncer: PgBouncer | undefined;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_create_items.sql": "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);\n",
    "migrations/0001_create_items.down.sql": "DROP TABLE items;\n",
    "migrations/0002_add_price.sql": "ALTER TABLE items ADD COLUMN price numeric;\n",
  });
});

afterEach(async () => {
  // PgBouncer first: it holds server connections to the database.
  await bouncer?.stop();
  bouncer = undefined;
  project.remove();
  await database.drop();
});

function migrate(args: string[], url: string): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: url } });
}

function expectNoPassword(result: CliResult): void {
  expect(result.stdout).not.toContain(PASSWORD);
  expect(result.stderr).not.toContain(PASSWORD);
}

describe("probePooler", () => {
  it("says direct on a direct connection, from the handshake alone", async () => {
    const probe = await probePooler(database.urlWithPassword(PASSWORD));
    expect(probe.verdict).toBe("direct");
    expect(probe.handshakePid).toBe(probe.backendPid);
    expect(probe.evidence).toHaveLength(1);
  });

  it("says transaction-pooler through PgBouncer in transaction mode", async () => {
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    const probe = await probePooler(bouncer.url(PASSWORD));
    expect(probe.verdict).toBe("transaction-pooler");
    expect(probe.handshakePid).not.toBe(probe.backendPid);
    expect(probe.evidence.join("\n")).toContain("was gone in the next transaction");
    expect(probe.serverAddress).toEqual({ host: "127.0.0.1", port: 5432 });
  });

  it("says transaction-pooler even when the pool has a single server connection", async () => {
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url, poolSize: 1 });
    const probe = await probePooler(bouncer.url(PASSWORD), { stepTimeoutMs: 1_000 });
    expect(probe.verdict).toBe("transaction-pooler");
    expect(probe.evidence.join("\n")).toContain("it owns no server connection of its own");
  });

  it("says session-pooler through PgBouncer in session mode", async () => {
    bouncer = await startPgBouncer({ mode: "session", targetUrl: database.url });
    const probe = await probePooler(bouncer.url(PASSWORD));
    expect(probe.verdict).toBe("session-pooler");
    expect(probe.handshakePid).not.toBe(probe.backendPid);
    expect(probe.evidence.join("\n")).toContain("survived while another client held a transaction");
  });
});

describe("migrate through a pooler whose URL looks direct", () => {
  it("refuses up through PgBouncer in transaction mode: exit 2, the evidence, the direct address, nothing applied", async () => {
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    const url = bouncer.url(PASSWORD);
    expect(url).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/pm_test_[0-9a-f]+$/);

    const result = await migrate(["up"], url);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('A transaction-mode pooler was detected at run time on the URL in "DIRECT_URL"');
    expect(result.stderr).toContain("was gone in the next transaction");
    expect(result.stderr).toContain("Set \"DIRECT_URL\" to the server's direct host and port, not the pooler's.");
    expect(result.stderr).toContain(`postgresql://postgres:***@127.0.0.1:5432/${database.name}`);
    expectNoPassword(result);
    expect(await listTables(database)).toEqual([]);
    const schemas = await database.query("SELECT 1 FROM pg_namespace WHERE nspname = 'polymigrate'");
    expect(schemas).toEqual([]);

    const json = await migrate(["up", "--json"], url);
    expect(json.exitCode).toBe(2);
    expectNoPassword(json);
    const report = JSON.parse(json.stdout);
    expect(report.outcome).toBe("refused");
    expect(report.projects[0].error.code).toBe("URL_POOLED");
    expect(report.projects[0].policies).toContainEqual(expect.objectContaining({ policy: "pooler-probe", decision: "refused", rule: "transaction-pooler" }));
  });

  it("refuses down and resolve there too, changing nothing", async () => {
    expect((await migrate(["up"], database.urlWithPassword(PASSWORD))).exitCode).toBe(0);
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    for (const args of [["down"], ["resolve", "--rolled-back", "0002_add_price"]]) {
      const result = await migrate(args, bouncer.url(PASSWORD));
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain("A transaction-mode pooler was detected at run time");
      expectNoPassword(result);
    }
    expect(await listTables(database)).toEqual(["items"]);
    const rows = await database.query<{ id: string }>("SELECT id FROM polymigrate.sql_migrations ORDER BY id");
    expect(rows.map((row) => row.id)).toEqual(["0001_create_items", "0002_add_price"]);
  });

  it("runs up through PgBouncer in session mode, with a warning", async () => {
    bouncer = await startPgBouncer({ mode: "session", targetUrl: database.url });
    const result = await migrate(["up"], bouncer.url(PASSWORD));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\s*warning: A session-mode pooler was detected at run time on the URL in "DIRECT_URL"/m);
    expect(result.stdout).toContain("2 applied");
    expectNoPassword(result);
    expect(await listTables(database)).toEqual(["items"]);
    const rows = await database.query<{ id: string }>("SELECT id FROM polymigrate.sql_migrations ORDER BY id");
    expect(rows.map((row) => row.id)).toEqual(["0001_create_items", "0002_add_price"]);
  });

  it("runs up on a direct connection with no pooler warning", async () => {
    const url = database.urlWithPassword(PASSWORD);
    const result = await migrate(["up"], url);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("2 applied");
    expect(result.stdout + result.stderr).not.toMatch(/warning|pooler/);
    expect(await listTables(database)).toEqual(["items"]);

    const json = await migrate(["up", "--json"], url);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.projects[0].policies).toContainEqual(expect.objectContaining({ policy: "pooler-probe", decision: "allowed", rule: "direct" }));
  });

  it("runs through a transaction-mode pooler only with --allow-pooled-url, loudly", async () => {
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    const result = await migrate(["up", "--allow-pooled-url"], bouncer.url(PASSWORD));
    expect(result.stdout).toMatch(/^\s*warning: --allow-pooled-url: migrating through it anyway\. A transaction-mode pooler was detected/m);
    expectNoPassword(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await listTables(database)).toEqual(["items"]);
  });

  it("makes doctor name a transaction-mode pooler as a problem", async () => {
    bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    const result = await migrate(["doctor"], bouncer.url(PASSWORD));
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toMatch(/✗ pooler: a transaction-mode pooler sits between migrate and the server/);
    expect(result.stdout).toContain("fix: Set \"DIRECT_URL\" to the server's direct host and port");
    expectNoPassword(result);
  });
});
