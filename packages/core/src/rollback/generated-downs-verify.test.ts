import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqlAdapter } from "../stacks/sql/index.js";
import { verifyProject } from "../run/verify-project.js";
import type { ProjectTarget } from "../run/project-run.js";

// The generated downs end to end: a plain-SQL project whose downs were all drafted by `create`, checked by the
// engine's own round trip (`migrate verify`). The target database only serves as the server verify works on.
const ADMIN_URL = process.env.POLYMIGRATE_TEST_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const DATABASE = `pm_down_verify_${process.pid}`;
const folders: string[] = [];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DATABASE}`);
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

async function projectWith(ups: Array<[name: string, sql: string]>): Promise<ProjectTarget> {
  const dir = mkdtempSync(join(tmpdir(), "pm-generated-downs-"));
  folders.push(dir);
  const adapter = createSqlAdapter({ dir });
  for (const [name, sql] of ups) await adapter.createMigration({ name, sql });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return { name: "generated", adapter, url: { url: url.toString(), display: url.toString(), source: "DIRECT_URL", decisions: [] } };
}

describe("generated downs under migrate verify", () => {
  it("pass the round trip of every migration of a project whose downs were all drafted", async () => {
    const target = await projectWith([
      ["create users", `
        CREATE TYPE role AS ENUM ('member', 'admin');
        CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, role role NOT NULL DEFAULT 'member');
        INSERT INTO users (email) VALUES ('ada@example.com');
      `],
      ["create posts", `
        CREATE TABLE posts (id bigserial PRIMARY KEY, author bigint NOT NULL, title text);
        ALTER TABLE posts ADD FOREIGN KEY (author) REFERENCES users (id);
        CREATE INDEX ON posts (author);
        CREATE VIEW post_titles AS SELECT id, title FROM posts;
      `],
      ["profile", `
        ALTER TABLE users ADD COLUMN bio text, ADD CONSTRAINT users_bio_short CHECK (length(bio) < 500);
        ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
        ALTER TABLE posts ALTER COLUMN title SET NOT NULL;
        ALTER TABLE posts RENAME COLUMN title TO headline;
        CREATE FUNCTION post_count(who bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM posts WHERE author = who $$;
      `],
      ["index concurrently", `CREATE INDEX CONCURRENTLY users_bio_idx ON users (bio);`],
    ]);
    const report = await verifyProject(target);
    expect(report.error).toBeUndefined();
    expect(report.verification?.map((step) => [step.id, step.result, ...step.downDifferences, ...step.upDifferences])).toEqual([
      ["0004_index_concurrently", "verified"],
      ["0003_profile", "verified"],
      ["0002_create_posts", "verified"],
      ["0001_create_users", "verified"],
    ]);
    expect(report.outcome).toBe("success");
  });

  it("stop verify at a drafted down marked irreversible, reported as such rather than as a mismatch", async () => {
    const target = await projectWith([
      ["create users", "CREATE TABLE users (id int PRIMARY KEY, age int);"],
      ["widen age", "ALTER TABLE users ALTER COLUMN age TYPE bigint;"],
    ]);
    const [, widen] = await target.adapter.readMigrations();
    expect(widen?.down?.sql).toContain("-- polymigrate:irreversible");
    const report = await verifyProject(target);
    // An irreversible down is declared, not wrong: verify says it cannot check it (and what is older), and passes.
    expect(report.outcome).toBe("success");
    expect(report.verification).toEqual([
      expect.objectContaining({ id: "0002_widen_age", result: "not-reversible", message: expect.stringContaining("marked irreversible") }),
    ]);
  });
});
