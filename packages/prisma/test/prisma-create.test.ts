// `migrate create` with the real prisma 6.19.3 CLI: the same SQL as `prisma migrate diff`, a down.sql that returns the
// catalog to the same state, snapshots, empty migrations, a Prisma that cannot run, and no password in any argv.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import {
  catalogSnapshot,
  createPrismaProject,
  exampleMigrations,
  exampleSnapshot,
  readHistory,
  runPrismaCli,
  urlEnv,
} from "./prisma-project.js";

const PASSWORD = "pm-create-secret";
const databases: TestDatabase[] = [];
const projects: TestProject[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("pm_prisma");
  databases.push(database);
  return database;
}

function project(options: Parameters<typeof createPrismaProject>[0] = {}): TestProject {
  const created = createPrismaProject(options);
  projects.push(created);
  return created;
}

afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
  for (const created of projects.splice(0)) created.remove();
});

function migrationFolders(app: TestProject): string[] {
  return readdirSync(join(app.dir, "prisma", "migrations"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

// A schema change on top of the example: a Comment model with a relation, an index and a default, and a new enum value.
function changedSchema(): string {
  const current = exampleSnapshot(exampleMigrations().at(-1)!);
  return current
    .replace("  ADMIN\n}", "  ADMIN\n  EDITOR\n}")
    .replace("  posts     Post[]\n}", "  posts     Post[]\n  comments  Comment[]\n}")
    .concat(`
model Comment {
  id        Int      @id @default(autoincrement())
  body      String
  createdAt DateTime @default(now())
  author    User     @relation(fields: [authorId], references: [id])
  authorId  Int

  @@index([authorId, createdAt])
}
`);
}

describe("migrate create", { timeout: 120_000 }, () => {
  it("writes the SQL prisma migrate diff gives, a down.sql, and a snapshot; down then up returns the catalog to the same state", async () => {
    const database = await freshDatabase();
    const app = project({ schema: changedSchema() });
    const env = urlEnv(database, PASSWORD);
    const before = migrationFolders(app);

    const create = await runCli(["create", "add comments"], { cwd: app.dir, env });
    expect(create.exitCode, create.stdout + create.stderr).toBe(0);
    expect(create.stdout + create.stderr).not.toContain(PASSWORD);
    const created = migrationFolders(app).filter((id) => !before.includes(id));
    expect(created).toHaveLength(1);
    const id = created[0]!;
    expect(id).toMatch(/^\d{14}_add_comments$/);
    expect(id > before.at(-1)!).toBe(true);
    const folder = join(app.dir, "prisma", "migrations", id);

    // The same SQL as Prisma's own diff, in both directions, from the last migration's snapshot.
    const previous = join(app.dir, "prisma", "migrations", before.at(-1)!, "schema.prisma.snapshot");
    const upDiff = await runPrismaCli(app, ["migrate", "diff", "--from-schema-datamodel", previous, "--to-schema-datamodel", "prisma/schema.prisma", "--script"], env);
    expect(upDiff.exitCode, upDiff.stderr).toBe(0);
    const downDiff = await runPrismaCli(app, ["migrate", "diff", "--from-schema-datamodel", "prisma/schema.prisma", "--to-schema-datamodel", previous, "--script"], env);
    expect(downDiff.exitCode, downDiff.stderr).toBe(0);
    expect(readFileSync(join(folder, "migration.sql"), "utf8")).toBe(upDiff.stdout);
    expect(readFileSync(join(folder, "down.sql"), "utf8")).toBe(downDiff.stdout);
    expect(upDiff.stdout).toContain('CREATE TABLE "Comment"');
    expect(readFileSync(join(folder, "schema.prisma.snapshot"), "utf8")).toBe(changedSchema());

    // Apply up to the example's last migration, then the new one; down and up again land on the same catalogs.
    expect((await runCli(["up", "--to", before.at(-1)!], { cwd: app.dir, env })).exitCode).toBe(0);
    const beforeChange = await catalogSnapshot(database);
    expect((await runCli(["up"], { cwd: app.dir, env })).exitCode).toBe(0);
    const afterChange = await catalogSnapshot(database);
    expect(afterChange).not.toEqual(beforeChange);

    const down = await runCli(["down"], { cwd: app.dir, env });
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect(await catalogSnapshot(database)).toEqual(beforeChange);
    expect((await readHistory(database)).map((row) => row.migration_name)).toEqual(before);
    // Prisma agrees that the undone migration is not applied.
    const status = await runPrismaCli(app, ["migrate", "status"], env);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toContain("Following migration have not yet been applied:");
    expect(status.stdout).toContain(id);

    expect((await runCli(["up"], { cwd: app.dir, env })).exitCode).toBe(0);
    expect(await catalogSnapshot(database)).toEqual(afterChange);
    const upToDate = await runPrismaCli(app, ["migrate", "status"], env);
    expect(upToDate.exitCode, upToDate.stdout).toBe(0);
  });

  it("diffs the first migration from empty, and makes a database identical to prisma migrate deploy's", async () => {
    const ours = await freshDatabase();
    const theirs = await freshDatabase();
    const app = project({ migrations: 0 });
    const env = urlEnv(ours, PASSWORD);

    const create = await runCli(["create", "init"], { cwd: app.dir, env });
    expect(create.exitCode, create.stdout + create.stderr).toBe(0);
    expect(readFileSync(join(app.dir, "prisma", "migrations", "migration_lock.toml"), "utf8")).toContain('provider = "postgresql"');
    const [id] = migrationFolders(app);
    const fromEmpty = await runPrismaCli(app, ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"], env);
    expect(readFileSync(join(app.dir, "prisma", "migrations", id!, "migration.sql"), "utf8")).toBe(fromEmpty.stdout);

    expect((await runCli(["up"], { cwd: app.dir, env })).exitCode).toBe(0);
    expect((await runPrismaCli(app, ["migrate", "deploy"], urlEnv(theirs, PASSWORD))).exitCode).toBe(0);
    expect(await catalogSnapshot(ours)).toEqual(await catalogSnapshot(theirs));

    // No change since the snapshot: nothing is created.
    const again = await runCli(["create", "nothing"], { cwd: app.dir, env });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("No schema change found");
    expect(migrationFolders(app)).toEqual([id]);

    // --empty: an empty migration without asking Prisma, keeping the last snapshot as its starting point.
    const empty = await runCli(["create", "backfill", "--empty"], { cwd: app.dir, env });
    expect(empty.exitCode, empty.stdout + empty.stderr).toBe(0);
    const emptyId = migrationFolders(app).find((folder) => folder.endsWith("_backfill"))!;
    expect(readFileSync(join(app.dir, "prisma", "migrations", emptyId, "migration.sql"), "utf8")).toBe("-- This is an empty migration.\n");
    expect(readFileSync(join(app.dir, "prisma", "migrations", emptyId, "schema.prisma.snapshot"), "utf8")).toBe(
      readFileSync(join(app.dir, "prisma", "migrations", id!, "schema.prisma.snapshot"), "utf8"),
    );
  });

  it("says exactly why when Prisma cannot run (no engine, no network), instead of Prisma's raw error", async () => {
    const database = await freshDatabase();
    // Without prisma.config.ts, Prisma 6 wants its native engines from binaries.prisma.sh, which is unreachable here.
    const app = project({ migrations: 0, hasPrismaConfig: false });
    const create = await runCli(["create", "init"], { cwd: app.dir, env: urlEnv(database, PASSWORD) });
    expect(create.exitCode).toBe(1);
    const output = create.stdout + create.stderr;
    expect(output).toContain("needs its native engine binary");
    expect(output).toContain("defineDirectPrismaConfig");
    expect(output).not.toContain(PASSWORD);
    expect(existsSync(join(app.dir, "prisma", "migrations"))).toBe(false);
  });

  it("asks for DIRECT_URL before running Prisma 6 without a URL, instead of letting it fail on an engine download", async () => {
    const app = project({ schema: changedSchema() });
    const before = migrationFolders(app);
    const create = await runCli(["create", "add comments"], { cwd: app.dir, env: {} });
    expect(create.exitCode).toBe(2);
    expect(create.stderr).toContain('Set "DIRECT_URL" to the direct URL of a reachable database');
    expect(migrationFolders(app)).toEqual(before);
  });

  it("never puts the URL or its password in a child process's arguments", async () => {
    const database = await freshDatabase();
    const app = project({ schema: changedSchema() });
    const seen: string[] = [];
    let isRunning = true;
    // Watch every process's command line while migrate create runs Prisma.
    const watcher = (async () => {
      while (isRunning) {
        for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
          try {
            seen.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" "));
          } catch {
            // the process ended between the listing and the read
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const create = await runCli(["create", "add comments"], { cwd: app.dir, env: urlEnv(database, PASSWORD) });
    isRunning = false;
    await watcher;
    expect(create.exitCode, create.stdout + create.stderr).toBe(0);
    const prismaCommands = seen.filter((line) => line.includes("prisma/build/index.js") && line.includes("migrate diff"));
    expect(prismaCommands.length).toBeGreaterThan(0);
    // The server's own backends show the database name in their titles; every other process must not.
    for (const line of seen.filter((command) => !command.startsWith("postgres:"))) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(database.name);
    }
  });
});
