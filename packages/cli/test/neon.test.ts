// Neon: `up --branch-first` and `rehearse` on a Neon branch, through Neon's HTTP API.
//
// The real Neon API (console.neon.tech) cannot be reached from this project's machines: they have no network but the
// package registries. These tests run the real client against a local HTTP server on 127.0.0.1, started here, that
// answers like Neon's documented API (POST /projects/{id}/branches, GET /projects/{id}/endpoints/{id},
// GET /projects/{id}/operations/{id}, DELETE /projects/{id}/branches/{id}). They check what can be checked without
// Neon: the requests built, the Bearer header, the operation polling, the error mapping and that the API key never
// reaches any output. That Neon accepts these requests is checked against its documentation only.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  branchFirstName,
  createNeonBranch,
  deleteNeonBranch,
  MigrateError,
  neonBranchDisplayUrl,
  neonBranchUrl,
  neonEndpointIdOfHost,
  redact,
  resolveNeonSettings,
  waitForNeonOperations,
  type NeonSettings,
} from "@polymigrate/core";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const API_KEY = "neon-test-key-7f3a9c1e5b";
const PROJECT_ID = "still-sun-123456";

interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
  /** The tables of the test database when the request arrived (for the branch creation: before or after the migrations?). */
  tablesThen?: string[];
}

/** A local server answering like Neon's documented API; each operation reports "running" once, then "finished". */
class FakeNeon {
  requests: SeenRequest[] = [];
  /** Status answered for operations after their first poll. */
  finalStatus = "finished";
  /** Answer every request with this HTTP status and body instead. */
  failWith?: { status: number; body: string };
  endpointHost = "127.0.0.1";
  onCreate?: () => Promise<string[]>;
  private polls = new Map<string, number>();
  private server!: Server;
  private branches = 0;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request).then(([status, body]) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(typeof body === "string" ? body : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v2`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage): Promise<[number, unknown]> {
    let raw = "";
    for await (const chunk of request) raw += String(chunk);
    const seen: SeenRequest = { method: request.method ?? "", path: request.url ?? "", authorization: request.headers.authorization };
    if (raw) seen.body = JSON.parse(raw);
    this.requests.push(seen);
    if (this.failWith) return [this.failWith.status, this.failWith.body];
    if (request.headers.authorization !== `Bearer ${API_KEY}`) return [401, { code: "", message: "authorization failed" }];
    const base = `/api/v2/projects/${PROJECT_ID}`;
    let match: RegExpExecArray | null;
    if (request.method === "POST" && seen.path === `${base}/branches`) {
      if (this.onCreate) seen.tablesThen = await this.onCreate();
      this.branches += 1;
      const id = `br-fake-${this.branches}`;
      const { branch } = seen.body as { branch: { name: string; parent_id?: string } };
      return [201, {
        branch: { id, name: branch.name, parent_id: branch.parent_id ?? "br-default", project_id: PROJECT_ID },
        endpoints: [{ id: `ep-fake-${this.branches}`, host: this.endpointHost, type: "read_write", branch_id: id }],
        operations: [
          { id: `op-create-${this.branches}`, action: "create_branch", status: "running" },
          { id: `op-start-${this.branches}`, action: "start_compute", status: "scheduling" },
        ],
      }];
    }
    if (request.method === "GET" && (match = new RegExp(`^${base}/endpoints/([^/]+)$`).exec(seen.path))) {
      return [200, { endpoint: { id: match[1], branch_id: "br-parent-of-endpoint", host: `${match[1]}.us-east-2.aws.neon.tech` } }];
    }
    if (request.method === "GET" && (match = new RegExp(`^${base}/operations/([^/]+)$`).exec(seen.path))) {
      const id = match[1]!;
      const count = (this.polls.get(id) ?? 0) + 1;
      this.polls.set(id, count);
      return [200, { operation: { id, action: "create_branch", status: count === 1 ? "running" : this.finalStatus, error: count === 1 ? undefined : "compute quota exceeded" } }];
    }
    if (request.method === "DELETE" && (match = new RegExp(`^${base}/branches/([^/]+)$`).exec(seen.path))) {
      return [200, { branch: { id: match[1] }, operations: [{ id: `op-delete-${match[1]}`, action: "delete_timeline", status: "running" }] }];
    }
    return [404, { message: `no route ${seen.path}` }];
  }
}

let neon: FakeNeon;
let apiUrl: string;

beforeEach(async () => {
  neon = new FakeNeon();
  apiUrl = await neon.start();
});
afterEach(async () => {
  await neon.stop();
});

function settings(overrides: Partial<NeonSettings> = {}): NeonSettings {
  return { projectId: PROJECT_ID, apiKey: API_KEY, apiUrl, pollIntervalMs: 10, ...overrides };
}

async function caught(promise: Promise<unknown>): Promise<MigrateError> {
  try {
    await promise;
  } catch (error) {
    return error as MigrateError;
  }
  throw new Error("expected a MigrateError");
}

describe("Neon API client (against a local server shaped like Neon's documented API)", () => {
  it("creates a branch of the target's endpoint with a read_write endpoint, Bearer auth, and waits for its operations", async () => {
    const target = "postgresql://app:s3cret@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require";
    const branch = await createNeonBranch({ settings: settings(), name: "polymigrate-before-20260102T030405Z", targetUrl: target });
    expect(branch).toMatchObject({ id: "br-fake-1", name: "polymigrate-before-20260102T030405Z", parentId: "br-parent-of-endpoint", host: "127.0.0.1" });

    const [endpoint, create, ...polls] = neon.requests;
    expect(endpoint).toMatchObject({ method: "GET", path: `/api/v2/projects/${PROJECT_ID}/endpoints/ep-cool-darkness-123456` });
    expect(create).toMatchObject({
      method: "POST",
      path: `/api/v2/projects/${PROJECT_ID}/branches`,
      body: { branch: { name: "polymigrate-before-20260102T030405Z", parent_id: "br-parent-of-endpoint" }, endpoints: [{ type: "read_write" }] },
    });
    for (const request of neon.requests) expect(request.authorization).toBe(`Bearer ${API_KEY}`);
    // Each operation is polled until "finished": once "running", then "finished".
    expect(polls.map((request) => request.path)).toEqual([
      `/api/v2/projects/${PROJECT_ID}/operations/op-create-1`,
      `/api/v2/projects/${PROJECT_ID}/operations/op-create-1`,
      `/api/v2/projects/${PROJECT_ID}/operations/op-start-1`,
      `/api/v2/projects/${PROJECT_ID}/operations/op-start-1`,
    ]);
  });

  it("passes parent_lsn and parent_timestamp, and deletes a branch, waiting for the deletion", async () => {
    await createNeonBranch({ settings: settings(), name: "b", parentId: "br-main", parentLsn: "0/1F2E3D4", parentTimestamp: "2026-01-02T03:04:05Z" });
    expect(neon.requests[0]!.body).toEqual({
      branch: { name: "b", parent_id: "br-main", parent_lsn: "0/1F2E3D4", parent_timestamp: "2026-01-02T03:04:05Z" },
      endpoints: [{ type: "read_write" }],
    });
    neon.requests = [];
    await deleteNeonBranch({ settings: settings(), branchId: "br-fake-1" });
    expect(neon.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `DELETE /api/v2/projects/${PROJECT_ID}/branches/br-fake-1`,
      `GET /api/v2/projects/${PROJECT_ID}/operations/op-delete-br-fake-1`,
      `GET /api/v2/projects/${PROJECT_ID}/operations/op-delete-br-fake-1`,
    ]);
  });

  it("forms the branch URL from the target's role and database with the endpoint's host, and never shows the password", () => {
    const target = "postgresql://app:s3cret@ep-main-1.eu-central-1.aws.neon.tech:5432/neondb?sslmode=require";
    expect(neonBranchUrl(target, "ep-branch-2.eu-central-1.aws.neon.tech")).toBe(
      "postgresql://app:s3cret@ep-branch-2.eu-central-1.aws.neon.tech:5432/neondb?sslmode=require",
    );
    expect(neonBranchDisplayUrl(target, "ep-branch-2.eu-central-1.aws.neon.tech")).toBe(
      "postgresql://app:***@ep-branch-2.eu-central-1.aws.neon.tech:5432/neondb?sslmode=require",
    );
    expect(neonEndpointIdOfHost("ep-main-1-pooler.eu-central-1.aws.neon.tech")).toBe("ep-main-1");
    expect(neonEndpointIdOfHost("127.0.0.1")).toBeUndefined();
    expect(branchFirstName(new Date("2026-01-02T03:04:05.678Z"))).toBe("polymigrate-before-20260102T030405Z");
  });

  it("maps a refused key to CONFIG_INVALID, a failed operation and an unreachable API to TOOL_UNAVAILABLE, never showing the key", async () => {
    const refused = await caught(createNeonBranch({ settings: settings({ apiKey: "wrong-key-0123456789" }), name: "b" }));
    expect(refused.code).toBe("CONFIG_INVALID");
    expect(refused.message).toContain("Neon's API refused to create branch \"b\" (HTTP 401): authorization failed");
    expect(refused.message).toContain("valid Neon API key");
    expect(refused.message).not.toContain("wrong-key-0123456789");

    neon.failWith = { status: 503, body: `{"message":"upstream down; echoed ${API_KEY}"}` };
    const down = await caught(createNeonBranch({ settings: settings(), name: "b" }));
    expect(down.code).toBe("TOOL_UNAVAILABLE");
    expect(down.message).toContain("(HTTP 503)");
    expect(down.message).not.toContain(API_KEY);
    neon.failWith = undefined;

    neon.finalStatus = "failed";
    const failed = await caught(waitForNeonOperations(settings(), ["op-x"]));
    expect(failed.code).toBe("TOOL_UNAVAILABLE");
    expect(failed.message).toContain('Neon operation "op-x" (create_branch) ended "failed": compute quota exceeded');

    await neon.stop();
    const unreachable = await caught(createNeonBranch({ settings: settings({ requestTimeoutMs: 2_000 }), name: "b" }));
    neon = new FakeNeon();
    apiUrl = await neon.start();
    expect(unreachable.code).toBe("TOOL_UNAVAILABLE");
    expect(unreachable.message).toMatch(/^Could not reach Neon's API at "http:\/\/127\.0\.0\.1:\d+\/api\/v2" to create branch "b": .+\. Check the network, the "neon\.apiUrl" setting/);
    expect(unreachable.message).not.toContain(API_KEY);
    // The key, once used, is a remembered secret: redact removes it from any text.
    expect(redact(`key=${API_KEY}`)).toBe("key=***");
  });

  it("refuses a missing neon configuration or an unset key variable with CONFIG_INVALID", () => {
    const noConfig = (() => { try { resolveNeonSettings(undefined, {}, { project: "app", flag: "--branch-first" }); } catch (error) { return error as MigrateError; } })();
    expect(noConfig?.code).toBe("CONFIG_INVALID");
    expect(noConfig?.message).toContain('--branch-first needs Neon: project "app" has no "neon" configuration');
    const noKey = (() => { try { resolveNeonSettings({ projectId: PROJECT_ID, apiKeyEnv: "MY_NEON_KEY" }, {}, { project: "app", flag: "--branch-first" }); } catch (error) { return error as MigrateError; } })();
    expect(noKey?.code).toBe("CONFIG_INVALID");
    expect(noKey?.message).toContain('the variable "MY_NEON_KEY" is not set');
    expect(resolveNeonSettings({ projectId: PROJECT_ID }, { NEON_API_KEY: API_KEY }, { project: "app", flag: "--branch-first" })).toEqual({
      projectId: PROJECT_ID,
      apiKey: API_KEY,
      apiUrl: "https://console.neon.tech/api/v2",
    });
  });
});

describe("migrate up --branch-first and rehearse with Neon configured (CLI, local stand-in for Neon's API)", () => {
  let database: TestDatabase;
  let project: TestProject;
  beforeEach(async () => {
    database = await createTestDatabase();
    project = createTestProject({ "migrations/0001_t.sql": "CREATE TABLE t (id int);\n" });
  });
  afterEach(async () => {
    project.remove();
    await database.drop();
  });

  function configure(neonConfig?: Record<string, unknown>): void {
    project.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations", ...(neonConfig ? { neon: neonConfig } : {}) }] }));
  }

  it("refuses --branch-first (exit 2) without a neon configuration or without the key variable, applying nothing", async () => {
    configure();
    const noConfig = await runCli(["up", "--branch-first"], { cwd: project.dir, env: { DIRECT_URL: database.url, NEON_API_KEY: API_KEY } });
    expect(noConfig.exitCode).toBe(2);
    expect(noConfig.stderr).toContain('--branch-first needs Neon: project "app" has no "neon" configuration');
    configure({ projectId: PROJECT_ID, apiUrl });
    const noKey = await runCli(["up", "--branch-first"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toContain('--branch-first needs a Neon API key: the variable "NEON_API_KEY" is not set');
    expect(await listTables(database)).toEqual([]);
    expect(neon.requests).toEqual([]);
    expect(noConfig.stdout + noConfig.stderr).not.toContain(API_KEY);
  });

  it("makes the branch before applying, records it in the JSON report, and never prints the key", async () => {
    configure({ projectId: PROJECT_ID, apiUrl });
    neon.onCreate = () => listTables(database);
    const env = { DIRECT_URL: database.urlWithPassword("branch-pw"), NEON_API_KEY: API_KEY };
    const run = await runCli(["up", "--branch-first", "--json"], { cwd: project.dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout).projects[0];
    expect(report.neonBranch).toMatchObject({ id: "br-fake-1", host: "127.0.0.1" });
    expect(report.neonBranch.name).toMatch(/^polymigrate-before-\d{8}T\d{6}Z$/);
    expect(report.restorePoint.howTo).toContain(`restore by resetting to branch "${report.neonBranch.name}" (br-fake-1)`);
    expect(report.migrations.map((migration: { id: string; outcome: string }) => [migration.id, migration.outcome])).toEqual([["0001_t", "applied"]]);
    // When Neon was asked for the branch, the migration had not run yet.
    const create = neon.requests.find((request) => request.method === "POST")!;
    expect(create.tablesThen).toEqual([]);
    expect(create.authorization).toBe(`Bearer ${API_KEY}`);
    expect(await listTables(database)).toContain("t");

    project.write("migrations/0002_u.sql", "CREATE TABLE u (id int);\n");
    const human = await runCli(["up", "--branch-first"], { cwd: project.dir, env });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout + human.stderr).toMatch(/Neon branch "polymigrate-before-\d{8}T\d{6}Z" \(br-fake-2\) made before migrating/);
    for (const result of [run, human]) {
      expect(result.stdout + result.stderr).not.toContain(API_KEY);
      expect(result.stdout + result.stderr).not.toContain("branch-pw");
    }
  });

  it("fails (exit 1) without applying when Neon's API cannot be reached", async () => {
    // A port nothing listens on: a server is started on it and closed again.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    configure({ projectId: PROJECT_ID, apiUrl: `http://127.0.0.1:${port}/api/v2` });
    const run = await runCli(["up", "--branch-first"], { cwd: project.dir, env: { DIRECT_URL: database.url, NEON_API_KEY: API_KEY } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).toContain(`Could not reach Neon's API at "http://127.0.0.1:${port}/api/v2" to create branch`);
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
    expect(await listTables(database)).toEqual([]);
  });

  it("rehearse on a Neon branch: creates the branch, and deletes it even when the branch cannot be reached", async () => {
    configure({ projectId: PROJECT_ID, apiUrl });
    // A host that cannot resolve (".invalid" is reserved): the rehearsal cannot connect, and must still delete the branch.
    neon.endpointHost = "ep-unreachable.invalid";
    const run = await runCli(["rehearse", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url, NEON_API_KEY: API_KEY } });
    expect(run.exitCode).toBe(1);
    const report = JSON.parse(run.stdout).projects[0];
    expect(report.rehearsal).toMatchObject({ method: "neon-branch", copy: expect.stringMatching(/^polymigrate-rehearse-[0-9a-f]{10}$/), neonBranch: { id: "br-fake-1" } });
    expect(neon.requests.map((request) => request.method)).toContain("DELETE");
    expect(neon.requests.find((request) => request.method === "DELETE")!.path).toBe(`/api/v2/projects/${PROJECT_ID}/branches/br-fake-1`);
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
    expect(await listTables(database)).toEqual([]);
  });
});
