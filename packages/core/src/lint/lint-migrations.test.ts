import { beforeAll, describe, expect, it } from "vitest";
import { loadSqlParser } from "../sql/statements.js";
import type { LintMigration } from "./lint-finding.js";
import { SQUAWK_MAX_BYTES, activeFindings, hasLintErrors, lintMigrations } from "./lint-migrations.js";
import { findSquawkBinary } from "./squawk.js";

beforeAll(() => loadSqlParser());

function migration(id: string, sql: string, extra: Partial<LintMigration> = {}): LintMigration {
  return { id, file: `/project/migrations/${id}.sql`, sql, ...extra };
}

function rules(findings: { rule: string; suppressed?: string }[]): string[] {
  return activeFindings(findings as never).map((finding) => (finding as { rule: string }).rule);
}

describe("lintMigrations with Squawk", () => {
  it("finds Squawk's blocking rules as errors, placed on the user's line", async () => {
    expect(findSquawkBinary()).toBeDefined();
    const { findings, squawk } = await lintMigrations([
      migration("0002_index", "-- an index\n\nCREATE INDEX users_email_idx ON users (email);\n"),
    ]);
    expect(squawk).toBe("ran");
    const finding = findings.find((candidate) => candidate.rule === "require-concurrent-index-creation");
    expect(finding).toMatchObject({ level: "error", line: 3, column: 1, file: "/project/migrations/0002_index.sql", source: "squawk" });
    expect(finding?.statement).toBe("CREATE INDEX users_email_idx ON users (email)");
    expect(hasLintErrors(findings)).toBe(true);
  });

  it("adds the SQL's first line in its file when the SQL is a section of the file", async () => {
    const { findings } = await lintMigrations([migration("0002", "ALTER TABLE users ALTER COLUMN age TYPE bigint;\n", { firstLine: 10 })]);
    expect(findings.find((finding) => finding.rule === "changing-column-type")?.line).toBe(10);
  });

  it("places a warning without parsing its migration, and still lets a comment silence a warning", async () => {
    const sql = "CREATE TABLE a (\n  id bigint PRIMARY KEY,\n  amount integer\n);\n";
    const { findings } = await lintMigrations([migration("0001", sql)]);
    expect(findings.find((finding) => finding.rule === "prefer-bigint-over-int")).toMatchObject({ level: "warning", line: 3, column: 10 });
    const silenced = await lintMigrations([migration("0001", `-- polymigrate:allow prefer-bigint-over-int\n${sql}`)]);
    expect(rules(silenced.findings)).not.toContain("prefer-bigint-over-int");
  });

  it("passes the server's version on to Squawk", async () => {
    // A constant default rewrites the table before PostgreSQL 11 only.
    const sql = "ALTER TABLE users ADD COLUMN country text DEFAULT 'FR';\n";
    const old = await lintMigrations([migration("0002", sql)], { serverVersionNum: 100023 });
    expect(rules(old.findings)).toContain("adding-field-with-default");
    const current = await lintMigrations([migration("0002", sql)], { serverVersionNum: 150004 });
    expect(rules(current.findings)).not.toContain("adding-field-with-default");
  });

  it("leaves Squawk's timeout rules out by default, and runs them when included", async () => {
    const sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);\n";
    const plain = await lintMigrations([migration("0001", sql)]);
    expect(plain.findings.map((finding) => finding.rule)).not.toContain("require-lock-timeout");
    const included = await lintMigrations([migration("0001", sql)], { include: ["require-timeout-settings"] });
    expect(included.findings.map((finding) => finding.rule)).toContain("require-lock-timeout");
  });

  it("suppresses a blocking finding on a table created earlier in the run, not on an existing table", async () => {
    const run = [
      migration("0001_create", "CREATE TABLE posts (id bigint PRIMARY KEY, author_id bigint);\n"),
      migration("0002_index", "CREATE INDEX posts_author_idx ON posts (author_id);\nCREATE INDEX users_email_idx ON users (email);\n"),
    ];
    const { findings } = await lintMigrations(run);
    const indexFindings = findings.filter((finding) => finding.rule === "require-concurrent-index-creation");
    expect(indexFindings).toHaveLength(2);
    expect(indexFindings[0]).toMatchObject({ line: 1, suppressed: expect.stringContaining('"posts" is created by "0001_create"') });
    expect(indexFindings[1]).toMatchObject({ line: 2 });
    expect(indexFindings[1]?.suppressed).toBeUndefined();

    // Judged migration by migration (all migrations on disk), the table of an earlier migration already exists.
    const alone = await lintMigrations(run, { scope: "migration" });
    expect(alone.findings.filter((finding) => finding.rule === "require-concurrent-index-creation" && !finding.suppressed)).toHaveLength(2);
  });

  it("suppresses a blocking finding on a table the server says is empty", async () => {
    const { findings } = await lintMigrations([migration("0002", "ALTER TABLE users ADD COLUMN age bigint NOT NULL;\n")], {
      isTableEmpty: async (table) => table.name === "users",
    });
    expect(findings.find((finding) => finding.rule === "adding-required-field")?.suppressed).toContain("no rows");
  });

  it("drops findings silenced by a comment on the line before the statement, and of disabled rules", async () => {
    const sql = "-- polymigrate:allow require-concurrent-index-creation\nCREATE INDEX i ON users (email);\nALTER TABLE users ALTER COLUMN age TYPE bigint;\n";
    const { findings } = await lintMigrations([migration("0002", sql)], { disable: ["changing-column-type"] });
    expect(rules(findings)).not.toContain("require-concurrent-index-creation");
    expect(rules(findings)).not.toContain("changing-column-type");
    const squawkIgnore = await lintMigrations([migration("0002", "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON users (email);\n")]);
    expect(rules(squawkIgnore.findings)).not.toContain("require-concurrent-index-creation");
  });

  it("tells Squawk whether the runner wraps the file in a transaction", async () => {
    // In a transaction, Squawk does not ask for IF NOT EXISTS robustness of a transactional file as it would outside.
    const { findings } = await lintMigrations([migration("0001", "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);\n")]);
    expect(rules(findings)).not.toContain("ban-concurrent-index-creation-in-transaction");
  });

  it("runs our own rules alone, with a notice, when Squawk's binary is missing", async () => {
    const result = await lintMigrations([migration("0001", "CREATE INDEX i ON users (email);\nCREATE INDEX CONCURRENTLY j ON users (name);\n")], {
      env: { POLYMIGRATE_SQUAWK: "none" },
    });
    expect(result.squawk).toBe("missing");
    expect(result.notices[0]).toContain("only Polymigrate's own lint rules ran");
    expect(result.findings.map((finding) => finding.rule)).toEqual(["mixed-transaction"]);
  });

  it("gives Squawk no file above its size limit, checks it with our own rules, and says so", async () => {
    const filler = "INSERT INTO users (email) VALUES ('someone@example.com');\n";
    const large = `CREATE INDEX i ON users (email);\nCREATE INDEX CONCURRENTLY j ON users (name);\n${filler.repeat(Math.ceil((SQUAWK_MAX_BYTES * 1.1) / filler.length))}`;
    const result = await lintMigrations([migration("0001_small", "CREATE INDEX k ON users (email);\n"), migration("0002_large", large)]);
    expect(result.squawk).toBe("ran");
    expect(result.notices.join("\n")).toContain('Squawk did not read "/project/migrations/0002_large.sql" (8.8 MiB, above 8 MiB');
    expect(result.findings.map((finding) => [finding.migration, finding.rule])).toEqual([
      ["0001_small", "require-concurrent-index-creation"],
      ["0002_large", "mixed-transaction"],
    ]);
  }, 60_000);

  it("warns (unparsed-sql) when PostgreSQL's parser cannot read a migration, at the parser's line, and not otherwise", async () => {
    const broken = await lintMigrations([migration("0003", "CREATE TABLE a (id bigint);\nALTER TABLE a ADD COLUM x int;\n")], { env: { POLYMIGRATE_SQUAWK: "none" } });
    expect(broken.findings).toMatchObject([{ rule: "unparsed-sql", level: "warning", line: 2 }]);
    const valid = await lintMigrations([migration("0003", "CREATE TABLE a (id bigint);\nALTER TABLE a ADD COLUMN x int;\n")], { env: { POLYMIGRATE_SQUAWK: "none" } });
    expect(valid.findings).toEqual([]);
  });

  it("points findings in rendered SQL at the revision file, keeping the rendered line", async () => {
    const { findings } = await lintMigrations([
      { id: "abc123", file: "/project/versions/abc123_index.py", sql: "-- Running upgrade  -> abc123\n\nCREATE INDEX i ON users (email);\n", anchorLine: 20, isWrappedByStack: true },
    ]);
    expect(findings.find((finding) => finding.rule === "require-concurrent-index-creation")).toMatchObject({
      file: "/project/versions/abc123_index.py",
      line: 20,
      renderedLine: 3,
    });
  });
});
