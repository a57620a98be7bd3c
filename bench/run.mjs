#!/usr/bin/env node
// Polymigrate's benchmarks: `migrate` against the raw tools and the psql floor, in one run (issue 9).
//
//   npm run bench                                   every scenario at N = 200 and 1000, 5 timed runs each
//   npm run bench -- --sizes 20 --runs 2            a quick check
//   npm run bench -- --lock-impact                  also scenario 5 (about 2 minutes more)
//   npm run bench -- --scenarios 1,3 --no-write     some scenarios, without touching bench/results/
//
// Every command is a whole process, timed from spawn to exit; databases are prepared before the clock starts.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { closeAdmin, createDatabase, dropBenchDatabases, psqlEnv, query, serverVersion, urlOf } from "./lib/db.mjs";
import { cleanupScratch, measure, median } from "./lib/measure.mjs";
import {
  migrationOf,
  migrationsOf,
  writeAlembicProject,
  writeDrizzleProject,
  writeMultiConfig,
  writePrismaProject,
  writeSqlProject,
} from "./lib/scenario.mjs";
import { addPairedRatios, renderTable, summarize } from "./lib/report.mjs";
import { drawChart } from "./lib/chart.mjs";
import { runLockImpact } from "./lib/lock-impact.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const WORK = join(BENCH, "work");
const RESULTS = join(BENCH, "results");

const NODE = process.execPath;
const MIGRATE = join(ROOT, "packages", "cli", "dist", "bin.js");
const PRISMA_MODULES = join(ROOT, "examples", "prisma-app", "node_modules");
const DRIZZLE_MODULES = join(ROOT, "examples", "drizzle-app", "node_modules");
const PRISMA = join(PRISMA_MODULES, "prisma", "build", "index.js");
const DRIZZLE_KIT = join(DRIZZLE_MODULES, "drizzle-kit", "bin.cjs");
const ALEMBIC = "/usr/bin/alembic";
const PSQL = "psql";

function squawkBinary() {
  const coreRequire = createRequire(join(ROOT, "packages", "core", "package.json"));
  const squawkRequire = createRequire(coreRequire.resolve("squawk-cli/package.json"));
  return squawkRequire.resolve(`@squawk-cli/${process.platform}-${process.arch}/bin/squawk`);
}

function parseArgs(argv) {
  const options = { sizes: [200, 1000], runs: 5, warmup: 1, scenarios: [1, 2, 3, 4], lockImpact: false, write: true, lockHoldSeconds: 25, lockRows: 1_000_000, timeout: 90 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[(i += 1)];
      if (next === undefined) throw new Error(`${arg} needs a value.`);
      return next;
    };
    if (arg === "--sizes") options.sizes = value().split(",").map(Number);
    else if (arg === "--runs") options.runs = Number(value());
    else if (arg === "--warmup") options.warmup = Number(value());
    else if (arg === "--scenarios") options.scenarios = value().split(",").map(Number);
    else if (arg === "--quick") Object.assign(options, { sizes: [20], runs: 2 });
    else if (arg === "--lock-impact") options.lockImpact = true;
    else if (arg === "--lock-hold") options.lockHoldSeconds = Number(value());
    else if (arg === "--lock-rows") options.lockRows = Number(value());
    else if (arg === "--no-write") options.write = false;
    else if (arg === "--timeout") options.timeout = Number(value());
    else if (arg === "--render") options.render = value();
    else if (arg === "-h" || arg === "--help") {
      console.log("Usage: node bench/run.mjs [--sizes 200,1000] [--runs 5] [--warmup 1] [--scenarios 1,2,3,4] [--quick] [--lock-impact] [--lock-hold 25] [--lock-rows 1000000] [--timeout 90] [--no-write] [--render bench/results/latest.json]");
      process.exit(0);
    } else throw new Error(`Unknown option "${arg}". Run "node bench/run.mjs --help".`);
  }
  if (options.scenarios.includes(5)) options.lockImpact = true;
  options.scenarios = options.scenarios.filter((s) => s >= 1 && s <= 4);
  return options;
}

const log = (...parts) => process.stderr.write(`${parts.join(" ")}\n`);

async function tableCount(database) {
  const { rows } = await query(database, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'bench_t%'");
  return rows[0].n;
}

/** Runs a command outside any timing (setup), failing loudly. */
async function setupRun(description, spec) {
  const result = await measure(spec);
  if (result.exitCode !== 0) throw new Error(`Setup step "${description}" failed (exit ${result.exitCode}):\n${(result.stderr || result.stdout).slice(-2000)}`);
  return result;
}

const migrateEnv = (database) => ({ DIRECT_URL: urlOf(database) });
// Prisma's schema names DATABASE_URL; its CLI connects through prisma.config.ts (DIRECT_URL).
const prismaEnv = (database) => ({ DIRECT_URL: urlOf(database), DATABASE_URL: urlOf(database) });

/** The projects of one size N: the N-migration history and the same plus one new migration, in every layout. */
function writeProjects(n) {
  const dir = join(WORK, `n${n}`);
  const history = migrationsOf(n);
  const next = [...history, migrationOf(n + 1)];
  const projects = {};
  for (const [key, migrations] of [["cur", history], ["next", next]]) {
    const base = join(dir, key);
    projects[key] = {
      sql: writeSqlProject(join(base, "sql"), migrations),
      prisma: writePrismaProject(join(base, "prisma"), migrations, PRISMA_MODULES),
      drizzle: writeDrizzleProject(join(base, "drizzle"), migrations, DRIZZLE_MODULES),
      alembic: writeAlembicProject(join(base, "alembic"), migrations),
    };
  }
  projects.newSql = join(projects.next.sql, "new.sql");
  writeFileSync(projects.newSql, migrationOf(n + 1).sql);
  projects.multi = writeMultiConfig(join(dir, "multi"), [
    { name: "prisma", stack: "prisma", dir: relative(join(dir, "multi"), projects.cur.prisma), urlEnv: "PRISMA_DIRECT_URL" },
    { name: "drizzle", stack: "drizzle", dir: relative(join(dir, "multi"), projects.cur.drizzle), urlEnv: "DRIZZLE_DIRECT_URL" },
    { name: "alembic", stack: "alembic", dir: relative(join(dir, "multi"), projects.cur.alembic), urlEnv: "ALEMBIC_DIRECT_URL" },
  ]);
  return projects;
}

/** Databases with the N-migration history applied (by migrate up; psql's without a history table), made once. */
async function prepareBases(n, projects) {
  const bases = {};
  const psqlBase = `bench_n${n}_psql_base`;
  await createDatabase(psqlBase);
  await setupRun(`psql -f (N=${n})`, { command: PSQL, args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", "all.sql"], cwd: projects.cur.sql, env: psqlEnv(psqlBase) });
  bases.psql = psqlBase;
  for (const stack of ["sql", "prisma", "drizzle", "alembic"]) {
    const name = `bench_n${n}_${stack}_base`;
    await createDatabase(name);
    // Alembic's base is made by Alembic itself: migrate up runs one Alembic process per revision (see the results).
    const spec = stack === "alembic" ? { command: ALEMBIC, args: ["upgrade", "head"] } : { command: NODE, args: [MIGRATE, "up"] };
    await setupRun(`${stack === "alembic" ? "alembic upgrade head" : `migrate up ${stack}`} (N=${n})`, { ...spec, cwd: projects.cur[stack], env: prismaEnv(name) });
    const count = await tableCount(name);
    if (count !== n) throw new Error(`Base database of ${stack} has ${count} tables, not ${n}.`);
    bases[stack] = name;
  }
  return bases;
}

/** The cases of every scenario at size N; a case's `prepare` runs before each timed run, untimed. */
function casesOf(n, projects, bases, options) {
  const cases = [];
  const run = (stack) => `bench_run_n${n}_${stack}`;
  const add = (scenario, label, spec) => cases.push({ scenario, n, label, okExit: [0], ...spec });
  const freshDb = (database, template) => () => createDatabase(database, template);
  const expectTables = (database, count) => async () => {
    const found = await tableCount(database);
    if (found !== count) throw new Error(`"${database}" has ${found} benchmark tables after the run, not ${count}: the command did not apply what it should.`);
  };
  const psqlFile = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"];

  if (options.scenarios.includes(1)) {
    const s1 = [
      ["psql -1 -f", "psql", { command: PSQL, args: [...psqlFile, "all.sql"], cwd: projects.cur.sql, env: psqlEnv }],
      ["migrate up (sql)", "m_sql", { command: NODE, args: [MIGRATE, "up"], cwd: projects.cur.sql, env: migrateEnv, stack: "sql", migrate: true }],
      ["prisma migrate deploy", "prisma", { command: NODE, args: [PRISMA, "migrate", "deploy"], cwd: projects.cur.prisma, env: prismaEnv, raw: "prisma" }],
      ["migrate up (prisma)", "m_prisma", { command: NODE, args: [MIGRATE, "up"], cwd: projects.cur.prisma, env: prismaEnv, stack: "prisma", migrate: true }],
      ["drizzle-kit migrate", "drizzle", { command: NODE, args: [DRIZZLE_KIT, "migrate"], cwd: projects.cur.drizzle, env: migrateEnv, raw: "drizzle" }],
      ["migrate up (drizzle)", "m_drizzle", { command: NODE, args: [MIGRATE, "up"], cwd: projects.cur.drizzle, env: migrateEnv, stack: "drizzle", migrate: true }],
      ["alembic upgrade head", "alembic", { command: ALEMBIC, args: ["upgrade", "head"], cwd: projects.cur.alembic, env: migrateEnv, raw: "alembic" }],
      ["migrate up (alembic)", "m_alembic", { command: NODE, args: [MIGRATE, "up"], cwd: projects.cur.alembic, env: migrateEnv, stack: "alembic", migrate: true }],
    ];
    for (const [label, key, spec] of s1) {
      const database = `${run(key)}_s1`;
      add(1, label, { ...spec, env: spec.env(database), prepare: freshDb(database), check: expectTables(database, n), baseline: key === "psql" });
    }
  }
  if (options.scenarios.includes(2)) {
    const s2 = [
      ["psql -1 -f (new file)", "psql", "psql", { command: PSQL, args: [...psqlFile, "new.sql"], cwd: projects.next.sql, env: psqlEnv }],
      ["migrate up (sql)", "m_sql", "sql", { command: NODE, args: [MIGRATE, "up"], cwd: projects.next.sql, env: migrateEnv, stack: "sql", migrate: true }],
      ["prisma migrate deploy", "prisma", "prisma", { command: NODE, args: [PRISMA, "migrate", "deploy"], cwd: projects.next.prisma, env: prismaEnv, raw: "prisma" }],
      ["migrate up (prisma)", "m_prisma", "prisma", { command: NODE, args: [MIGRATE, "up"], cwd: projects.next.prisma, env: prismaEnv, stack: "prisma", migrate: true }],
      ["drizzle-kit migrate", "drizzle", "drizzle", { command: NODE, args: [DRIZZLE_KIT, "migrate"], cwd: projects.next.drizzle, env: migrateEnv, raw: "drizzle" }],
      ["migrate up (drizzle)", "m_drizzle", "drizzle", { command: NODE, args: [MIGRATE, "up"], cwd: projects.next.drizzle, env: migrateEnv, stack: "drizzle", migrate: true }],
      ["alembic upgrade head", "alembic", "alembic", { command: ALEMBIC, args: ["upgrade", "head"], cwd: projects.next.alembic, env: migrateEnv, raw: "alembic" }],
      ["migrate up (alembic)", "m_alembic", "alembic", { command: NODE, args: [MIGRATE, "up"], cwd: projects.next.alembic, env: migrateEnv, stack: "alembic", migrate: true }],
    ];
    for (const [label, key, base, spec] of s2) {
      const database = `${run(key)}_s2`;
      add(2, label, { ...spec, env: spec.env(database), prepare: freshDb(database, bases[base]), check: expectTables(database, n + 1), baseline: key === "psql" });
    }
  }
  if (options.scenarios.includes(3)) {
    const s3 = [
      ["psql -c 'select 1'", { command: PSQL, args: ["-X", "-q", "-c", "select 1"], cwd: projects.cur.sql, env: psqlEnv(bases.psql), baseline: true }],
      ["migrate status (sql)", { command: NODE, args: [MIGRATE, "status"], cwd: projects.cur.sql, env: migrateEnv(bases.sql), stack: "sql", migrate: true }],
      ["prisma migrate status", { command: NODE, args: [PRISMA, "migrate", "status"], cwd: projects.cur.prisma, env: prismaEnv(bases.prisma), raw: "prisma" }],
      ["migrate status (prisma)", { command: NODE, args: [MIGRATE, "status"], cwd: projects.cur.prisma, env: prismaEnv(bases.prisma), stack: "prisma", migrate: true }],
      ["drizzle-kit check", { command: NODE, args: [DRIZZLE_KIT, "check"], cwd: projects.cur.drizzle, env: migrateEnv(bases.drizzle), raw: "drizzle" }],
      ["migrate status (drizzle)", { command: NODE, args: [MIGRATE, "status"], cwd: projects.cur.drizzle, env: migrateEnv(bases.drizzle), stack: "drizzle", migrate: true }],
      ["alembic current", { command: ALEMBIC, args: ["current"], cwd: projects.cur.alembic, env: migrateEnv(bases.alembic), raw: "alembic" }],
      ["migrate status (alembic)", { command: NODE, args: [MIGRATE, "status"], cwd: projects.cur.alembic, env: migrateEnv(bases.alembic), stack: "alembic", migrate: true }],
      [
        "migrate status (3 stacks, one config)",
        {
          command: NODE,
          args: [MIGRATE, "status"],
          cwd: projects.multi,
          env: { PRISMA_DIRECT_URL: urlOf(bases.prisma), DRIZZLE_DIRECT_URL: urlOf(bases.drizzle), ALEMBIC_DIRECT_URL: urlOf(bases.alembic), DATABASE_URL: urlOf(bases.prisma) },
          stack: "multi",
          migrate: true,
        },
      ],
    ];
    for (const [label, spec] of s3) add(3, label, spec);
  }
  if (options.scenarios.includes(4)) {
    const files = migrationsOf(n).map((m) => join("migrations", `${String(m.seq).padStart(4, "0")}_${m.name}.sql`));
    add(4, "squawk --reporter json", { command: squawkBinary(), args: ["--reporter", "json", ...files], cwd: projects.cur.sql, env: {}, baseline: true, okExit: [0, 1] });
    add(4, "migrate lint --all (sql)", { command: NODE, args: [MIGRATE, "lint", "--all"], cwd: projects.cur.sql, env: {}, stack: "sql", migrate: true, okExit: [0, 1] });
  }
  return cases;
}

/** Warm-up, then `runs` rounds; within each round every contender of the group runs once, in a rotated order. */
async function runGroup(cases, options) {
  for (const c of cases) c.samples = [];
  const total = options.warmup + options.runs;
  for (let round = 0; round < total; round += 1) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]);
    for (const c of order) {
      if (c.timedOut) continue;
      if (c.prepare) await c.prepare();
      let result = await measure({ ...c, timeoutSeconds: options.timeout });
      if (!result.timedOut && !c.okExit.includes(result.exitCode)) {
        // Others may be rebuilding packages/*/dist in this working tree: one failure is retried once, after a pause.
        log(`  "${c.label}" exited ${result.exitCode}; retrying once in 10 s:\n    ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join("\n    ")}`);
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        if (c.prepare) await c.prepare();
        result = await measure({ ...c, timeoutSeconds: options.timeout });
      }
      if (result.timedOut) {
        // Too slow to repeat: one sample at the limit, marked, and no further runs of this contender.
        c.timedOut = true;
        c.samples = [{ seconds: result.seconds, rssMb: result.rssMb, timedOut: true }];
        log(`  TIMED OUT  ${c.label} after ${result.seconds.toFixed(1)} s (--timeout ${options.timeout}); not repeated`);
        continue;
      }
      if (!c.okExit.includes(result.exitCode)) {
        throw new Error(`"${c.label}" (N=${c.n}) exited ${result.exitCode}:\n${(result.stderr || result.stdout).slice(-3000)}`);
      }
      if (c.check) await c.check();
      const warm = round < options.warmup;
      log(`  ${warm ? "warm-up" : `run ${round - options.warmup + 1}/${options.runs}`}  ${c.label.padEnd(40)} ${result.seconds.toFixed(3)} s  ${result.rssMb.toFixed(0)} MB`);
      if (!warm) c.samples.push({ seconds: result.seconds, rssMb: result.rssMb });
    }
  }
}

async function machine() {
  const { execFileSync } = await import("node:child_process");
  const uptime = () => execFileSync("uptime", [], { encoding: "utf8" }).trim();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGb: (totalmem() / 2 ** 30).toFixed(1),
    freeGb: (freemem() / 2 ** 30).toFixed(1),
    postgres: await serverVersion(),
    node: process.version,
    uptime,
    load: () => loadavg().map((x) => x.toFixed(2)).join(", "),
  };
}

/** Writes latest.md and latest.png again from a results JSON (after a change to the report's format). */
function render(file) {
  const saved = JSON.parse(readFileSync(file, "utf8"));
  const groups = new Map();
  for (const row of saved.rows) {
    const key = `${row.scenario}/${row.n}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  for (const group of groups.values()) addPairedRatios(group);
  for (const row of saved.rows) if (row.timedOut) for (const target of row.targets) target.met = false;
  const markdown = renderTable({
    rows: saved.rows,
    lockImpact: saved.lockImpact,
    options: saved.options,
    host: saved.host,
    startedAt: new Date(saved.startedAt),
    finishedAt: new Date(saved.finishedAt ?? statSync(file).mtime),
    loadBefore: saved.loadBefore,
    loadAfter: saved.loadAfter,
  });
  writeFileSync(join(RESULTS, "latest.md"), `${markdown}\n`);
  writeFileSync(join(RESULTS, "latest.png"), drawChart(saved.rows, saved.lockImpact));
  process.stdout.write(`${markdown}\n`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.render) return render(options.render);
  if (!existsSync(MIGRATE)) throw new Error(`"${MIGRATE}" is missing: build first (node scripts/pnpm.mjs run build).`);
  for (const tool of [PRISMA, DRIZZLE_KIT, ALEMBIC]) if (!existsSync(tool)) throw new Error(`"${tool}" is missing: run the install first.`);
  mkdirSync(WORK, { recursive: true });
  const host = await machine();
  const startedAt = new Date();
  const loadBefore = host.uptime();
  log(`Machine: ${host.cpus} x ${host.cpuModel}, ${host.memoryGb} GB RAM, PostgreSQL ${host.postgres}, Node ${host.node}`);
  log(`Before: ${loadBefore}`);
  const groups = [];
  try {
    await dropBenchDatabases("bench_");
    for (const n of options.sizes) {
      if (options.scenarios.length === 0) break;
      log(`\nN = ${n}: writing the projects and preparing the databases (not timed)`);
      const projects = writeProjects(n);
      const bases = await prepareBases(n, projects);
      const cases = casesOf(n, projects, bases, options);
      for (const scenario of options.scenarios) {
        const group = cases.filter((c) => c.scenario === scenario);
        log(`\nScenario ${scenario}, N = ${n} (${group.length} contenders, ${options.warmup} warm-up + ${options.runs} runs)`);
        await runGroup(group, options);
        groups.push({ scenario, n, cases: group });
      }
      await dropBenchDatabases(`bench_run_n${n}`);
    }
    let lockImpact;
    const write = (finished) => {
      const rows = summarize(groups);
      const markdown = renderTable({ rows, lockImpact, options, host, startedAt, finishedAt: new Date(), loadBefore, loadAfter: finished });
      if (options.write) {
        mkdirSync(RESULTS, { recursive: true });
        writeFileSync(join(RESULTS, "latest.md"), `${markdown}\n`);
        writeFileSync(
          join(RESULTS, "latest.json"),
          `${JSON.stringify({ startedAt, finishedAt: new Date(), options, host: { ...host, uptime: undefined, load: undefined }, loadBefore, loadAfter: finished, rows, lockImpact }, null, 2)}\n`,
        );
        writeFileSync(join(RESULTS, "latest.png"), drawChart(rows, lockImpact));
      }
      return markdown;
    };
    // Scenarios 1-4 are written before the long lock-impact scenario, so that its failure cannot lose them.
    if (options.lockImpact && groups.length > 0) write(host.uptime());
    if (options.lockImpact) {
      log(`\nScenario 5: lock impact (${options.lockRows} rows, a conflicting lock held ${options.lockHoldSeconds} s)`);
      lockImpact = await runLockImpact({ work: WORK, migrate: MIGRATE, node: NODE, drizzleKit: DRIZZLE_KIT, drizzleModules: DRIZZLE_MODULES, holdSeconds: options.lockHoldSeconds, rows: options.lockRows, log });
    }
    const loadAfter = host.uptime();
    log(`After: ${loadAfter}`);
    const markdown = write(loadAfter);
    process.stdout.write(`${markdown}\n`);
    if (options.write) log(`\nWrote ${relative(process.cwd(), join(RESULTS, "latest.md"))}, latest.json and latest.png`);
    await dropBenchDatabases("bench_");
  } finally {
    await closeAdmin();
    cleanupScratch();
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exitCode = 1;
  closeAdmin().catch(() => {});
});
