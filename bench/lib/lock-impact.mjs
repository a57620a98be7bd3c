// Scenario 5: what a migration waiting for a lock does to the application's SELECTs on the same table.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDatabase, newClient, psqlEnv, query, urlOf } from "./db.mjs";
import { measure, percentile } from "./measure.mjs";
import { writeDrizzleProject, writeSqlProject } from "./scenario.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Number(process.hrtime.bigint()) / 1e9;

/** Back-to-back single-row SELECTs on one connection, each one's start and latency recorded until stop(). */
async function startLoad(database, rows) {
  const client = newClient(database);
  await client.connect();
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = now();
      await client.query("SELECT v FROM lock_t WHERE id = $1", [1 + Math.floor(Math.random() * rows)]);
      samples.push({ started, latency: now() - started });
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      await client.end();
    },
  };
}

export async function runLockImpact({ work, migrate, node, drizzleKit, drizzleModules, holdSeconds, rows, log }) {
  const template = "bench_lock_base";
  await createDatabase(template);
  await query(template, `CREATE TABLE lock_t (id bigint PRIMARY KEY, v integer NOT NULL);
    INSERT INTO lock_t SELECT g, g % 1000 FROM generate_series(1, ${rows}) AS g;
    ANALYZE lock_t;`);
  const migration = { seq: 1, name: "add_note", statements: ["ALTER TABLE lock_t ADD COLUMN note text;"] };
  migration.sql = `${migration.statements.join("\n")}\n`;
  const sqlDir = writeSqlProject(join(work, "lock", "sql"), [migration]);
  const drizzleDir = writeDrizzleProject(join(work, "lock", "drizzle"), [migration], drizzleModules);
  writeFileSync(join(sqlDir, "add_note.sql"), migration.sql);

  const contenders = [
    { label: "psql -1 -f (raw)", command: "psql", args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", "add_note.sql"], cwd: sqlDir, env: psqlEnv },
    { label: "drizzle-kit migrate (raw)", command: node, args: [drizzleKit, "migrate"], cwd: drizzleDir, env: (db) => ({ DIRECT_URL: urlOf(db) }) },
    {
      label: "migrate up (sql), defaults: lock_timeout 5s, 3 retries",
      command: node,
      args: [migrate, "up", "--lock-timeout", "5s", "--retries", "3"],
      cwd: sqlDir,
      env: (db) => ({ DIRECT_URL: urlOf(db) }),
      lockTimeout: 5,
    },
    {
      label: "migrate up (sql), lock_timeout 2s, 5 retries",
      command: node,
      args: [migrate, "up", "--lock-timeout", "2s", "--retries", "5"],
      cwd: sqlDir,
      env: (db) => ({ DIRECT_URL: urlOf(db) }),
      lockTimeout: 2,
    },
  ];
  const results = [];
  for (const [index, c] of contenders.entries()) {
    const database = `bench_lock_run_${index}`;
    await createDatabase(database, template);
    const load = await startLoad(database, rows);
    const holder = newClient(database);
    await holder.connect();
    // The conflicting lock: an open transaction that read the table (ACCESS SHARE), as a long report or a stuck job has.
    await holder.query("BEGIN");
    await holder.query("SELECT count(*) FROM lock_t WHERE id < 10");
    const heldAt = now();
    await sleep(1000);
    const migrationStart = now();
    const running = measure({ ...c, env: c.env(database) });
    await sleep(Math.max(0, heldAt + holdSeconds - now()) * 1000);
    await holder.query("COMMIT");
    await holder.end();
    const result = await running;
    await sleep(1000);
    await load.stop();
    const end = now();
    const window = load.samples.filter((s) => s.started >= migrationStart - 0.001 && s.started <= end);
    const latencies = window.map((s) => s.latency);
    const applied = (await query(database, "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'lock_t' AND column_name = 'note'")).rows[0].n === 1;
    const r = {
      label: c.label,
      exitCode: result.exitCode,
      applied,
      seconds: result.seconds,
      count: latencies.length,
      maxStall: latencies.reduce((max, value) => Math.max(max, value), 0),
      p99: percentile(latencies, 99),
      ...(c.lockTimeout !== undefined ? { targetSeconds: c.lockTimeout + 0.5 } : {}),
    };
    log(`  ${c.label.padEnd(55)} exit ${r.exitCode}${applied ? "" : " (column NOT added)"}, ${r.seconds.toFixed(2)} s; ${r.count} SELECTs, longest ${r.maxStall.toFixed(3)} s, p99 ${(r.p99 * 1000).toFixed(1)} ms`);
    if (result.exitCode !== 0) log(`    ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join("\n    ")}`);
    results.push(r);
  }
  return { rows, holdSeconds, results };
}
