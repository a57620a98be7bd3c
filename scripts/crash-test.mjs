#!/usr/bin/env node
// The crash test of issue 12: `kill -9` of `migrate up` at a random moment, then `up` again, many times over. After
// every iteration each migration must have run exactly once (its own counter row, its history row) and the schema
// must equal the reference applied by psql; the one allowed exception is a non-transactional migration killed
// mid-file, which the second run must refuse with its started record and the `migrate resolve` fix.
//
//   node scripts/crash-test.mjs --stack sql --iterations 100 [--seed N] [--json] [--resolve all|first] [--keep]
//                                [--max-kill-factor 1.3] [--max-seconds S] [--calibrations 3]
//
// --resolve first: undo, resolve and re-apply only the first refusal (default: every one); --keep: keep the database
// and folder of a violation; --max-seconds: start no iteration after that long (as many as fit); --calibrations: how
// many uninterrupted runs measure the window of the kills (their median, times --max-kill-factor).
//
// Needs the built packages (`node scripts/pnpm.mjs run build`): it spawns packages/cli/dist/bin.js and uses the
// database helpers of packages/testing/dist. Exits 1 when any iteration violates exactly-once, 2 on bad arguments.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MIGRATE_BIN = join(ROOT, "packages", "cli", "dist", "bin.js");
const TESTING_DIST = join(ROOT, "packages", "testing", "dist");
const PRISMA_DIR = join(ROOT, "packages", "prisma");
const DRIZZLE_DIR = join(ROOT, "packages", "drizzle");

// ---------------------------------------------------------------------------------------------------------------
// The history: the same migrations for every stack, each written in the stack's own layout by its writer below.
// Every migration inserts its own key into applied_log exactly once (no unique key there: a second run would show);
// the data migrations also change users.visits, so a double run shows in the data fingerprint too.

/** @typedef {{ key: string, name: string, transactional: boolean, statements: string[], undo?: string[] }} HistoryMigration */

const log = (key) => `INSERT INTO applied_log (migration) VALUES ('${key}')`;

/** @type {HistoryMigration[]} */
export const HISTORY = [
  {
    key: "0001",
    name: "init",
    transactional: true,
    statements: [
      "CREATE TABLE applied_log (id bigserial PRIMARY KEY, migration text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
      "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, visits integer NOT NULL DEFAULT 0)",
      log("0001"),
    ],
  },
  {
    key: "0002",
    name: "posts",
    transactional: true,
    statements: [
      "CREATE TABLE posts (id serial PRIMARY KEY, author_id integer NOT NULL REFERENCES users (id), title text NOT NULL)",
      "SELECT pg_sleep(0.2)",
      "INSERT INTO users (email, visits) SELECT 'user' || g || '@example.com', g FROM generate_series(1, 200) AS g",
      "INSERT INTO posts (author_id, title) SELECT id, 'post of ' || email FROM users",
      log("0002"),
    ],
  },
  {
    key: "0003",
    name: "users_email_index",
    transactional: false,
    statements: ["CREATE INDEX CONCURRENTLY users_email_idx ON users (email)", "SELECT pg_sleep(0.3)", log("0003")],
    undo: ["DROP INDEX IF EXISTS users_email_idx"],
  },
  {
    key: "0004",
    name: "tags",
    transactional: true,
    statements: [
      "CREATE TABLE tags (id serial PRIMARY KEY, name text NOT NULL)",
      "SELECT pg_sleep(0.1)",
      "ALTER TABLE posts ADD COLUMN tag_id integer REFERENCES tags (id)",
      "UPDATE users SET visits = visits + 1",
      log("0004"),
    ],
  },
  {
    key: "0005",
    name: "post_indexes",
    transactional: false,
    statements: [
      log("0005"),
      "CREATE INDEX CONCURRENTLY posts_author_idx ON posts (author_id)",
      "SELECT pg_sleep(0.2)",
      "CREATE INDEX CONCURRENTLY posts_tag_idx ON posts (tag_id)",
    ],
    undo: ["DROP INDEX IF EXISTS posts_author_idx", "DROP INDEX IF EXISTS posts_tag_idx"],
  },
  {
    key: "0006",
    name: "post_status",
    transactional: true,
    statements: [
      "CREATE TYPE post_status AS ENUM ('draft', 'published')",
      "ALTER TABLE posts ADD COLUMN status post_status NOT NULL DEFAULT 'draft'",
      "SELECT pg_sleep(0.4)",
      "CREATE SEQUENCE invoice_number_seq START 1000",
      "UPDATE users SET visits = visits * 2",
      log("0006"),
    ],
  },
  {
    key: "0007",
    name: "unique_emails",
    transactional: true,
    statements: ["ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)", log("0007")],
  },
  {
    key: "0008",
    name: "tags_name_index",
    transactional: false,
    statements: ["SELECT pg_sleep(0.1)", "CREATE UNIQUE INDEX CONCURRENTLY tags_name_idx ON tags (name)", log("0008")],
    undo: ["DROP INDEX IF EXISTS tags_name_idx"],
  },
];

/** A migration's statements as one SQL file (what psql applies for the reference, and the SQL stacks' file). */
function sqlFileOf(migration, separator = "\n") {
  return `-- ${migration.key} ${migration.name}${migration.transactional ? "" : " (runs outside a transaction)"}\n${migration.statements
    .map((statement) => `${statement};\n`)
    .join(separator)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Stack writers. Each writes one project folder in the stack's own layout and says how to read its history table:
// `ids` maps each HISTORY entry to the id migrate uses for it, `historyCounts` counts the finished history rows per
// HISTORY key, `dumpExcludes` are pg_dump arguments that leave the history tables out of the schema comparison.
// A fourth stack is one more function here.

/**
 * @typedef {{ url: string, query: (sql: string, values?: unknown[]) => Promise<any[]> }} Db
 *
 * @typedef {object} StackFixture
 * @property {string[]} ids migrate's id of each HISTORY entry, in order
 * @property {(db: Db) => Promise<Map<string, number>>} historyCounts finished history rows per HISTORY key
 * @property {string[]} dumpExcludes pg_dump arguments that leave out the history tables
 * @property {(url: string) => Record<string, string>} env the variables a user of this stack would set
 * @property {(db: Db, id: string) => Promise<boolean>} [hasStackStartedRecord] the stack's own started record, where it has one
 */

function writeFiles(dir, files) {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

function linkInto(dir, name, target) {
  const path = join(dir, "node_modules", name);
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path, "dir");
}

function countsFrom(rows, keyOf) {
  const counts = new Map(HISTORY.map((migration) => [migration.key, 0]));
  for (const row of rows) {
    const key = keyOf(row);
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + Number(row.n));
  }
  return counts;
}

async function tableExists(db, qualified) {
  const rows = await db.query("SELECT to_regclass($1) IS NOT NULL AS found", [qualified]);
  return rows[0]?.found === true;
}

/** Plain SQL: migrations/<NNNN>_<name>.sql, history in polymigrate.sql_migrations. */
function writeSqlProject(dir) {
  const ids = HISTORY.map((migration) => `${migration.key}_${migration.name}`);
  writeFiles(dir, {
    "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations" }] }, null, 2),
    ...Object.fromEntries(HISTORY.map((migration, index) => [`migrations/${ids[index]}.sql`, sqlFileOf(migration)])),
  });
  return {
    ids,
    async historyCounts(db) {
      if (!(await tableExists(db, "polymigrate.sql_migrations"))) return countsFrom([], () => undefined);
      const rows = await db.query("SELECT id, count(*)::int AS n FROM polymigrate.sql_migrations GROUP BY id");
      return countsFrom(rows, (row) => HISTORY[ids.indexOf(row.id)]?.key ?? `unknown:${row.id}`);
    },
    dumpExcludes: ["--exclude-schema=polymigrate"],
    env: (url) => ({ DIRECT_URL: url }),
  };
}

/**
 * Prisma: prisma/migrations/<timestamp>_<name>/migration.sql, prisma.config.ts on the WebAssembly engine (as in
 * packages/prisma/test/prisma-project.ts), history in public._prisma_migrations (finished, not rolled back rows).
 */
function writePrismaProject(dir) {
  const ids = HISTORY.map((migration) => `2026010100${migration.key}_${migration.name}`);
  writeFiles(dir, {
    "package.json": JSON.stringify({ name: "crash-test-prisma", private: true, type: "module" }, null, 2),
    "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "prisma", dir: "." }] }, null, 2),
    "prisma.config.ts": [
      'import { defineConfig } from "prisma/config";',
      'import { defineDirectPrismaConfig } from "@polymigrate/prisma/config";',
      "",
      'export default defineConfig(defineDirectPrismaConfig({ schema: "prisma/schema.prisma" }));',
      "",
    ].join("\n"),
    "prisma/schema.prisma": 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n',
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    ...Object.fromEntries(HISTORY.map((migration, index) => [`prisma/migrations/${ids[index]}/migration.sql`, sqlFileOf(migration)])),
  });
  const modules = join(PRISMA_DIR, "node_modules");
  linkInto(dir, "prisma", join(modules, "prisma"));
  linkInto(dir, "@prisma/adapter-pg", join(modules, "@prisma", "adapter-pg"));
  linkInto(dir, "@polymigrate/prisma", PRISMA_DIR);
  return {
    ids,
    async historyCounts(db) {
      if (!(await tableExists(db, "public._prisma_migrations"))) return countsFrom([], () => undefined);
      const rows = await db.query(
        "SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY migration_name",
      );
      return countsFrom(rows, (row) => HISTORY[ids.indexOf(row.migration_name)]?.key ?? `unknown:${row.migration_name}`);
    },
    // Prisma's own started row (finished_at NULL), so that `prisma migrate deploy` stops on it too (P3009).
    async hasStackStartedRecord(db, id) {
      const rows = await db.query("SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL", [id]);
      return rows[0]?.n === 1;
    },
    dumpExcludes: ["--exclude-schema=polymigrate", "--exclude-table=public._prisma_migrations"],
    env: (url) => ({ DIRECT_URL: url, DATABASE_URL: url }),
  };
}

/**
 * Drizzle: drizzle/<idx>_<name>.sql with `--> statement-breakpoint` between statements and meta/_journal.json, as
 * drizzle-kit writes them (packages/drizzle/test/drizzle-project.ts); history in drizzle.__drizzle_migrations, whose
 * rows name a migration only by its journal `when` (created_at) and hash.
 */
function writeDrizzleProject(dir) {
  const base = 1767225600000;
  const entries = HISTORY.map((migration, idx) => ({
    idx,
    version: "7",
    when: base + idx * 1000,
    tag: `${String(idx).padStart(4, "0")}_${migration.name}`,
    breakpoints: true,
  }));
  writeFiles(dir, {
    "package.json": JSON.stringify({ name: "crash-test-drizzle", private: true, type: "module" }, null, 2),
    "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "drizzle", dir: "." }] }, null, 2),
    "drizzle.config.ts": [
      'import { defineConfig } from "drizzle-kit";',
      "",
      "export default defineConfig({",
      '  dialect: "postgresql",',
      '  schema: "./src/db/schema.ts",',
      '  out: "./drizzle",',
      "  dbCredentials: { url: process.env.DIRECT_URL! },",
      "});",
      "",
    ].join("\n"),
    "src/db/schema.ts": 'import { pgTable, serial } from "drizzle-orm/pg-core";\n\nexport const users = pgTable("users", { id: serial("id").primaryKey() });\n',
    "drizzle/meta/_journal.json": JSON.stringify({ version: "7", dialect: "postgresql", entries }, null, 2),
    ...Object.fromEntries(HISTORY.map((migration, idx) => [`drizzle/${entries[idx].tag}.sql`, sqlFileOf(migration, "--> statement-breakpoint\n")])),
  });
  symlinkSync(join(DRIZZLE_DIR, "node_modules"), join(dir, "node_modules"), "dir");
  const keyByWhen = new Map(entries.map((entry, idx) => [String(entry.when), HISTORY[idx].key]));
  return {
    ids: entries.map((entry) => entry.tag),
    async historyCounts(db) {
      if (!(await tableExists(db, "drizzle.__drizzle_migrations"))) return countsFrom([], () => undefined);
      const rows = await db.query("SELECT created_at::text AS created_at, count(*)::int AS n FROM drizzle.__drizzle_migrations GROUP BY created_at");
      return countsFrom(rows, (row) => keyByWhen.get(row.created_at) ?? `unknown:${row.created_at}`);
    },
    dumpExcludes: ["--exclude-schema=polymigrate", "--exclude-schema=drizzle"],
    env: (url) => ({ DIRECT_URL: url }),
  };
}

/**
 * Alembic: one revision file per migration calling op.execute, the non-transactional ones inside autocommit_block(). Alembic's
 * history table (alembic_version) holds only the head, so a migration counts as recorded when it is at or before it.
 */
function writeAlembicProject(dir) {
  const ids = HISTORY.map((migration) => `rev${migration.key}`);
  const py = (text) => JSON.stringify(text);
  const revision = (migration, index) => {
    const body = migration.statements.map((statement) => `op.execute(${py(statement)})`);
    const indented = migration.transactional ? body.map((line) => `    ${line}`) : ["    with op.get_context().autocommit_block():", ...body.map((line) => `        ${line}`)];
    return [
      `"""${migration.name}"""`,
      "from alembic import op",
      "",
      `revision = ${py(ids[index])}`,
      `down_revision = ${index === 0 ? "None" : py(ids[index - 1])}`,
      "branch_labels = None",
      "depends_on = None",
      "",
      "",
      "def upgrade():",
      ...indented,
      "",
      "",
      "def downgrade():",
      "    pass",
      "",
    ].join("\n");
  };
  writeFiles(dir, {
    "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "alembic", dir: "." }] }, null, 2),
    "alembic.ini": "[alembic]\nscript_location = migrations\n\n[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = generic\n\n[logger_root]\nlevel = WARN\nhandlers = console\n\n[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = generic\n\n[formatter_generic]\nformat = %(levelname)s %(message)s\n",
    "migrations/script.py.mako": '"""${message}"""\n',
    "migrations/env.py": [
      "import os",
      "from alembic import context",
      "from sqlalchemy import create_engine",
      "",
      "url = os.environ['DIRECT_URL'].replace('postgresql://', 'postgresql+psycopg2://', 1)",
      "with create_engine(url).connect() as connection:",
      "    context.configure(connection=connection, transaction_per_migration=True)",
      "    with context.begin_transaction():",
      "        context.run_migrations()",
      "",
    ].join("\n"),
    ...Object.fromEntries(HISTORY.map((migration, index) => [`migrations/versions/${ids[index]}_${migration.name}.py`, revision(migration, index)])),
  });
  return {
    ids,
    async historyCounts(db) {
      const counts = new Map(HISTORY.map((migration) => [migration.key, 0]));
      if (!(await tableExists(db, "public.alembic_version"))) return counts;
      const rows = await db.query("SELECT version_num FROM alembic_version");
      for (const row of rows) {
        const head = ids.indexOf(row.version_num);
        if (head < 0) counts.set(`unknown:${row.version_num}`, 1);
        for (let index = 0; index <= head; index++) counts.set(HISTORY[index].key, (counts.get(HISTORY[index].key) ?? 0) + 1);
      }
      return counts;
    },
    dumpExcludes: ["--exclude-schema=polymigrate", "--exclude-table=public.alembic_version"],
    env: (url) => ({ DIRECT_URL: url }),
  };
}

/** The fixture writer of each stack, by name (exported for ad-hoc probes). */
export const WRITERS = { sql: writeSqlProject, prisma: writePrismaProject, drizzle: writeDrizzleProject, alembic: writeAlembicProject };

// ---------------------------------------------------------------------------------------------------------------
// Helpers: a seeded PRNG, the CLI, the database.

/** mulberry32: small, seedable, good enough to spread kill moments. */
function createRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cleanEnv(extra) {
  const env = {};
  for (const key of ["PATH", "HOME", "LANG", "TMPDIR"]) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, NO_COLOR: "1", ...extra };
}

/**
 * Spawns `migrate <args>` in `cwd`; with `killAfterMs`, sends SIGKILL after that long (if it still runs). Resolves
 * with its output, exit code, whether the kill landed, and how long it ran.
 */
function runMigrate(args, { cwd, env, killAfterMs, timeoutMs = 180_000 }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [MIGRATE_BIN, ...args], { cwd, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let isKilled = false;
    let isTimedOut = false;
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const killer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) isKilled = child.kill("SIGKILL");
          }, killAfterMs);
    const guard = setTimeout(() => {
      isTimedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      clearTimeout(guard);
      resolve({ stdout, stderr, exitCode: code ?? -1, signal, isKilled: isKilled && signal === "SIGKILL", isTimedOut, durationMs: performance.now() - started });
    });
  });
}

function tail(text, lines = 15) {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function dumpSchema(url, excludes) {
  const result = spawnSync("pg_dump", ["--schema-only", "--no-owner", "--no-privileges", ...excludes, url], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`pg_dump failed (exit ${result.status}): ${result.stderr}`);
  // pg_dump 15.20+ brackets a dump with \restrict/\unrestrict lines carrying a random token.
  return result.stdout
    .split("\n")
    .filter((line) => !/^\\(un)?restrict\b/.test(line))
    .join("\n");
}

// pg_dump prints invalid indexes like valid ones, and a killed CREATE INDEX CONCURRENTLY leaves one.
const INDEX_STATE_SQL = `SELECT c.relname AS index, i.indisvalid AS valid, i.indisready AS ready
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'polymigrate', 'drizzle')
   AND c.relname NOT LIKE '\\_prisma\\_migrations%' AND c.relname NOT LIKE 'alembic\\_version%'
 ORDER BY 1`;

/** The schema and data facts two databases must share: the dump, index validity, and what the data migrations did. */
async function describeDatabase(db, excludes) {
  const indexes = (await db.query(INDEX_STATE_SQL)).map((row) => `${row.index} valid=${row.valid} ready=${row.ready}`);
  const hasUsers = (await db.query("SELECT to_regclass('public.users') IS NOT NULL AS found"))[0]?.found === true;
  const data = hasUsers ? (await db.query("SELECT count(*)::int AS users, coalesce(sum(visits), 0)::int AS visits FROM users"))[0] : null;
  return { dump: dumpSchema(db.url, excludes), indexes, data: JSON.stringify(data) };
}

/** The differing lines of two texts (a small diff for the evidence). */
function lineDiff(expected, actual) {
  const a = expected.split("\n");
  const b = actual.split("\n");
  const inA = new Set(a);
  const inB = new Set(b);
  return [...a.filter((line) => !inB.has(line)).map((line) => `- ${line}`), ...b.filter((line) => !inA.has(line)).map((line) => `+ ${line}`)].join("\n");
}

async function appliedLogCounts(db) {
  const counts = new Map(HISTORY.map((migration) => [migration.key, 0]));
  if (!(await tableExists(db, "public.applied_log"))) return counts;
  for (const row of await db.query("SELECT migration, count(*)::int AS n FROM applied_log GROUP BY migration")) counts.set(row.migration, row.n);
  return counts;
}

const formatCounts = (counts) => [...counts].map(([key, n]) => `${key}:${n}`).join(" ");

// ---------------------------------------------------------------------------------------------------------------
// The checks.

/** Problems when the database is not "every migration exactly once, schema equal to the reference". */
async function checkExactlyOnce(db, fixture, reference) {
  const problems = [];
  const applied = await appliedLogCounts(db);
  const history = await fixture.historyCounts(db);
  for (const migration of HISTORY) {
    if (applied.get(migration.key) !== 1) problems.push(`applied_log has ${applied.get(migration.key)} rows for ${migration.key} (want 1)`);
    if (history.get(migration.key) !== 1) problems.push(`the history has ${history.get(migration.key)} rows for ${migration.key} (want 1)`);
  }
  for (const key of history.keys()) if (key.startsWith("unknown:")) problems.push(`the history has an unknown row ${key}`);
  if (await tableExists(db, "polymigrate.unfinished_migrations")) {
    const left = await db.query("SELECT id FROM polymigrate.unfinished_migrations ORDER BY id");
    if (left.length > 0) problems.push(`started records are left in polymigrate.unfinished_migrations: ${left.map((row) => row.id).join(", ")}`);
  }
  const actual = await describeDatabase(db, fixture.dumpExcludes);
  if (actual.dump !== reference.dump) problems.push(`the schema differs from the reference:\n${lineDiff(reference.dump, actual.dump)}`);
  if (actual.indexes.join("\n") !== reference.indexes.join("\n")) problems.push(`the indexes differ:\n${lineDiff(reference.indexes.join("\n"), actual.indexes.join("\n"))}`);
  if (actual.data !== reference.data) problems.push(`the data differs: ${actual.data} (want ${reference.data})`);
  return { problems, applied, history };
}

/** Problems when a refusal is not the allowed one: the refused migration is non-transactional, and named with the fix. */
async function checkRefusal(db, fixture, second, status) {
  const problems = [];
  const named = /Migration "([^"]+)" was started outside a transaction/.exec(second.stderr)?.[1];
  const index = named === undefined ? -1 : fixture.ids.indexOf(named);
  if (index < 0) return { problems: [`the refusal names no migration of this history as started (stderr: ${tail(second.stderr, 6)})`], index };
  const refused = HISTORY[index];
  if (refused.transactional) problems.push(`the refused migration "${named}" is transactional: it cannot be half applied`);
  for (const fix of [`migrate resolve --applied ${named}`, `migrate resolve --rolled-back ${named}`]) {
    if (!second.stderr.includes(fix)) problems.push(`the refusal does not give the fix "${fix}"`);
  }
  const records = await db.query("SELECT count(*)::int AS n FROM polymigrate.unfinished_migrations WHERE id = $1 AND direction = 'up'", [named]);
  if (records[0]?.n !== 1) problems.push(`polymigrate.unfinished_migrations has ${records[0]?.n} started records of "${named}" (want 1)`);
  if (fixture.hasStackStartedRecord && !(await fixture.hasStackStartedRecord(db, named))) problems.push(`the stack's history has no started row of "${named}"`);
  const applied = await appliedLogCounts(db);
  const history = await fixture.historyCounts(db);
  for (const [position, migration] of HISTORY.entries()) {
    const want = position < index ? 1 : 0;
    if (history.get(migration.key) !== want) problems.push(`the history has ${history.get(migration.key)} rows for ${migration.key} (want ${want})`);
    if (position === index) {
      if ((applied.get(migration.key) ?? 0) > 1) problems.push(`applied_log has ${applied.get(migration.key)} rows for the refused ${migration.key}`);
    } else if (applied.get(migration.key) !== want) problems.push(`applied_log has ${applied.get(migration.key)} rows for ${migration.key} (want ${want})`);
  }
  let report;
  try {
    report = JSON.parse(status.stdout);
  } catch {
    problems.push(`migrate status --json printed no JSON (exit ${status.exitCode}): ${tail(status.stderr, 6)}`);
  }
  const entry = report?.projects?.[0]?.status?.find((candidate) => candidate.id === named);
  if (report && entry?.state !== "unfinished") problems.push(`migrate status --json shows "${named}" as ${entry?.state ?? "absent"} (want unfinished)`);
  return { problems, index, id: named, applied, history };
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

/**
 * A fresh database with one session of the harness's own for the checks (opened on first use, after the runs; its
 * application_name is not a migrate run's). `close()` ends the session and drops the database in the background.
 */
async function createDatabase(testing, prefix, pendingDrops) {
  const database = await testing.createTestDatabase(prefix);
  let session;
  return {
    url: database.url,
    async query(sql, values) {
      session ??= testing.openSession(database.url, "crash-test");
      return (await (await session).query(sql, values)).rows;
    },
    close({ isKept = false } = {}) {
      const ending = session ? session.then((client) => client.end()).catch(() => {}) : Promise.resolve();
      pendingDrops.push(isKept ? ending : ending.then(() => database.drop()));
    },
  };
}

async function referenceOf(testing, fixture, state) {
  const db = await createDatabase(testing, "pm_crash_ref", state.pendingDrops);
  const dir = mkdtempSync(join(tmpdir(), "polymigrate-crash-ref-"));
  try {
    for (const migration of HISTORY) {
      const file = join(dir, `${migration.key}.sql`);
      writeFileSync(file, sqlFileOf(migration));
      const result = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.url, "-f", file], { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`psql failed on ${migration.key} (exit ${result.status}): ${result.stderr}`);
    }
    return await describeDatabase(db, fixture.dumpExcludes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    db.close();
  }
}

/** One iteration on a fresh database and project; `killAfterMs` undefined runs it to its end (the measure). */
async function runIteration(testing, options, iteration, killAfterMs, reference, state) {
  const db = await createDatabase(testing, "pm_crash", state.pendingDrops);
  const dir = mkdtempSync(join(tmpdir(), "polymigrate-crash-"));
  const fixture = WRITERS[options.stack](dir);
  const env = fixture.env(db.url);
  const result = { iteration, killAfterMs: killAfterMs === undefined ? null : Math.round(killAfterMs), outcome: "violation", problems: [] };
  let keep = false;
  try {
    const first = await runMigrate(["up", "--allow-unsafe"], { cwd: dir, env, ...(killAfterMs === undefined ? {} : { killAfterMs }) });
    result.firstDurationMs = Math.round(first.durationMs);
    result.isKilled = first.isKilled;
    if (!first.isKilled && first.exitCode !== 0) {
      result.problems.push(`the first run exited ${first.exitCode} without being killed:\n${tail(first.stderr || first.stdout)}`);
      return result;
    }
    const second = await runMigrate(["up", "--allow-unsafe"], { cwd: dir, env });
    result.secondExitCode = second.exitCode;
    result.secondDurationMs = Math.round(second.durationMs);
    if (second.exitCode === 0) {
      const check = await checkExactlyOnce(db, fixture, reference);
      result.problems.push(...check.problems);
      if (check.problems.length === 0) result.outcome = "exactly-once";
      else result.evidence = { appliedLog: formatCounts(check.applied), history: formatCounts(check.history), secondStderr: tail(second.stderr), secondStdout: tail(second.stdout) };
      return result;
    }
    if (second.exitCode === 2) {
      const status = await runMigrate(["status", "--json"], { cwd: dir, env });
      const refusal = await checkRefusal(db, fixture, second, status);
      result.refused = refusal.id;
      result.problems.push(...refusal.problems);
      if (refusal.problems.length > 0) {
        result.evidence = {
          appliedLog: refusal.applied ? formatCounts(refusal.applied) : undefined,
          history: refusal.history ? formatCounts(refusal.history) : undefined,
          secondStderr: tail(second.stderr),
        };
        return result;
      }
      result.outcome = "refused";
      if (options.resolve === "all" || state.resolvedRefusals === 0) {
        result.resolution = await resolveRefusal(db, dir, env, fixture, refusal, reference);
        state.resolvedRefusals++;
        if (result.resolution.problems.length > 0) {
          result.outcome = "violation";
          result.problems.push(...result.resolution.problems.map((problem) => `after resolve --rolled-back: ${problem}`));
        }
      }
      return result;
    }
    result.problems.push(`the second run exited ${second.exitCode}${second.isTimedOut ? " (timed out)" : ""}:\n${tail(second.stderr || second.stdout)}`);
    const check = await checkExactlyOnce(db, fixture, reference).catch(() => undefined);
    if (check) result.evidence = { appliedLog: formatCounts(check.applied), history: formatCounts(check.history) };
    return result;
  } catch (error) {
    result.problems.push(`the harness failed: ${error instanceof Error ? error.stack : String(error)}`);
    return result;
  } finally {
    keep = options.keep && result.outcome === "violation";
    if (keep) {
      result.kept = { database: db.url, dir };
      db.close({ isKept: true });
    } else {
      rmSync(dir, { recursive: true, force: true });
      db.close();
    }
  }
}

/** Undoes by hand what the refused migration left (its indexes, its applied_log row), resolves it, and runs up again. */
async function resolveRefusal(db, dir, env, fixture, refusal, reference) {
  const migration = HISTORY[refusal.index];
  for (const statement of migration.undo ?? []) await db.query(statement);
  await db.query("DELETE FROM applied_log WHERE migration = $1", [migration.key]);
  const resolved = await runMigrate(["resolve", "--rolled-back", refusal.id], { cwd: dir, env });
  if (resolved.exitCode !== 0) return { problems: [`migrate resolve --rolled-back ${refusal.id} exited ${resolved.exitCode}:\n${tail(resolved.stderr || resolved.stdout)}`] };
  const up = await runMigrate(["up", "--allow-unsafe"], { cwd: dir, env });
  if (up.exitCode !== 0) return { problems: [`up after resolve exited ${up.exitCode}:\n${tail(up.stderr || up.stdout)}`] };
  const check = await checkExactlyOnce(db, fixture, reference);
  return { problems: check.problems, ...(check.problems.length ? { appliedLog: formatCounts(check.applied), history: formatCounts(check.history) } : {}) };
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      iterations: { type: "string", default: "20" },
      seed: { type: "string" },
      json: { type: "boolean", default: false },
      resolve: { type: "string", default: "all" },
      keep: { type: "boolean", default: false },
      "max-kill-factor": { type: "string", default: "1.3" },
      "max-seconds": { type: "string" },
      calibrations: { type: "string", default: "3" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const usage = "Usage: node scripts/crash-test.mjs --stack sql|prisma|drizzle|alembic [--iterations N] [--seed N] [--json] [--resolve all|first] [--keep] [--max-kill-factor F] [--max-seconds S] [--calibrations N]";
  if (values.help) return { help: usage };
  const iterations = Number(values.iterations);
  const seed = values.seed === undefined ? (Date.now() ^ process.pid) >>> 0 : Number(values.seed);
  const factor = Number(values["max-kill-factor"]);
  if (!values.stack || !(values.stack in WRITERS)) return { error: `--stack must be one of ${Object.keys(WRITERS).join(", ")}.\n${usage}` };
  if (!Number.isInteger(iterations) || iterations < 1) return { error: `--iterations must be a positive integer.\n${usage}` };
  if (!Number.isInteger(seed) || seed < 0) return { error: `--seed must be a non-negative integer.\n${usage}` };
  if (!["all", "first"].includes(values.resolve)) return { error: `--resolve must be all or first.\n${usage}` };
  if (!(factor > 0)) return { error: `--max-kill-factor must be a positive number.\n${usage}` };
  const maxSeconds = values["max-seconds"] === undefined ? Infinity : Number(values["max-seconds"]);
  if (!(maxSeconds > 0)) return { error: `--max-seconds must be a positive number.\n${usage}` };
  const calibrations = Number(values.calibrations);
  if (!Number.isInteger(calibrations) || calibrations < 1) return { error: `--calibrations must be a positive integer.\n${usage}` };
  return { stack: values.stack, iterations, seed, json: values.json, resolve: values.resolve, keep: values.keep, factor, maxSeconds, calibrations };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(options.help);
    return 0;
  }
  if (options.error) {
    console.error(options.error);
    return 2;
  }
  for (const built of [MIGRATE_BIN, join(TESTING_DIST, "database.js")]) {
    if (!existsSync(built)) {
      console.error(`"${built}" does not exist. Build first: node scripts/pnpm.mjs run build`);
      return 2;
    }
  }
  const testing = await import(join(TESTING_DIST, "database.js"));
  const say = options.json ? () => {} : (line) => console.log(line);
  const random = createRandom(options.seed);
  const state = { resolvedRefusals: 0, pendingDrops: [] };
  const started = performance.now();
  const probeDir = mkdtempSync(join(tmpdir(), "polymigrate-crash-probe-"));
  const probe = WRITERS[options.stack](probeDir);
  rmSync(probeDir, { recursive: true, force: true });
  const reference = await referenceOf(testing, probe, state);

  // The measure: uninterrupted runs, through the same checks; their median sets the window the kills are spread over
  // (a median, because one run on a loaded machine can take twice as long as the next).
  const calibrations = [];
  for (let index = 0; index < options.calibrations; index++) calibrations.push(await runIteration(testing, options, 0, undefined, reference, state));
  const calibration = calibrations.find((result) => result.outcome !== "exactly-once") ?? {
    ...calibrations[0],
    firstDurationMs: calibrations.map((result) => result.firstDurationMs).sort((a, b) => a - b)[Math.floor(calibrations.length / 2)],
  };
  if (calibration.outcome !== "exactly-once") {
    await Promise.all(state.pendingDrops);
    const summary = { stack: options.stack, seed: options.seed, error: "the uninterrupted run did not apply the history exactly once", calibration };
    if (options.json) console.log(JSON.stringify(summary, null, 2));
    else console.error(`crash-test ${options.stack}: the uninterrupted run failed:\n${calibration.problems.join("\n")}`);
    return 1;
  }
  const windowMs = calibration.firstDurationMs * options.factor;
  say(`crash-test ${options.stack}: seed ${options.seed}, uninterrupted run ${calibration.firstDurationMs} ms, kills uniform over [0, ${Math.round(windowMs)}] ms`);

  const results = [];
  for (let iteration = 1; iteration <= options.iterations && performance.now() - started < options.maxSeconds * 1000; iteration++) {
    const killAfterMs = random() * windowMs;
    const result = await runIteration(testing, options, iteration, killAfterMs, reference, state);
    results.push(result);
    const what = result.outcome === "refused" ? `refused ${result.refused}${result.resolution ? (result.resolution.problems.length ? " (resolve FAILED)" : ", resolved, then exactly once") : ""}` : result.outcome;
    say(`#${iteration} kill at ${result.killAfterMs} ms${result.isKilled ? "" : " (run had ended)"}: ${what}`);
    if (result.outcome === "violation") {
      say(`  VIOLATION:\n    ${result.problems.join("\n").replace(/\n/g, "\n    ")}`);
      if (result.evidence) say(`  evidence: ${JSON.stringify(result.evidence, null, 2).replace(/\n/g, "\n  ")}`);
      if (result.kept) say(`  kept: ${JSON.stringify(result.kept)}`);
    }
  }
  await Promise.all(state.pendingDrops);
  const count = (outcome) => results.filter((result) => result.outcome === outcome).length;
  const summary = {
    stack: options.stack,
    seed: options.seed,
    iterations: results.length,
    exactlyOnce: count("exactly-once"),
    refused: count("refused"),
    violations: count("violation"),
    killed: results.filter((result) => result.isKilled).length,
    resolvedRefusals: results.filter((result) => result.resolution && result.resolution.problems.length === 0).length,
    uninterruptedMs: calibration.firstDurationMs,
    durationMs: Math.round(performance.now() - started),
  };
  if (options.json) console.log(JSON.stringify({ ...summary, results }, null, 2));
  else {
    console.log(
      `crash-test ${summary.stack}: ${summary.iterations} iterations, ${summary.exactlyOnce} exactly-once, ${summary.refused} refused (${summary.resolvedRefusals} resolved and re-applied), ${summary.violations} violations; ${summary.killed} runs killed mid-way; seed ${summary.seed}; ${Math.round(summary.durationMs / 1000)} s`,
    );
  }
  return summary.violations > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
