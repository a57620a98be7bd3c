import { beforeAll, describe, expect, it } from "vitest";
import { loadSqlParser } from "../sql/statements.js";
import {
  checkDroppedColumns,
  checkMixedTransaction,
  findUnreadableDirectives,
  findCreatedTables,
  findEarlierCreation,
  parseMigrations,
  readAllowComments,
  runsInTransaction,
} from "./lint-rules.js";

beforeAll(() => loadSqlParser());

function parse(...sqls: string[]) {
  return parseMigrations(sqls.map((sql, index) => ({ id: `000${index + 1}`, file: `/m/000${index + 1}.sql`, sql })));
}

describe("mixed-transaction", () => {
  it("fails a migration mixing CREATE INDEX CONCURRENTLY with transactional statements, with the fix", () => {
    const findings = checkMixedTransaction(parse("ALTER TABLE users ADD COLUMN age bigint;\n\nCREATE INDEX CONCURRENTLY users_age_idx ON users (age);\n"));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: "mixed-transaction", level: "error" });
    expect(findings[0]?.statement.line).toBe(3);
    expect(findings[0]?.help).toContain("Split it into two migrations");
  });

  it("passes a migration of only non-transactional statements, of only transactional ones, and BEGIN/COMMIT", () => {
    expect(checkMixedTransaction(parse("CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (y);\n"))).toEqual([]);
    expect(checkMixedTransaction(parse("CREATE TABLE t (id bigint);\nCREATE INDEX a ON t (id);\n"))).toEqual([]);
    expect(checkMixedTransaction(parse("BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\n"))).toEqual([]);
  });

  it("knows which migrations the runner wraps in a transaction", () => {
    const [plain, concurrent, directive] = parse("CREATE TABLE t (id bigint);", "CREATE INDEX CONCURRENTLY a ON t (id);", "-- polymigrate:no-transaction\nCREATE TABLE u (id bigint);");
    expect([runsInTransaction(plain!), runsInTransaction(concurrent!), runsInTransaction(directive!)]).toEqual([true, false, false]);
  });
});

describe("dropped-column-still-used", () => {
  it("fails a DROP COLUMN when a later migration of the run still uses the column", () => {
    const findings = checkDroppedColumns(
      parse("ALTER TABLE users DROP COLUMN email;\n", "CREATE TABLE t (id bigint);\nCREATE INDEX users_email_idx ON users (email);\n"),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: "dropped-column-still-used", level: "error", migration: 0 });
    expect(findings[0]?.message).toContain('"users.email"');
    expect(findings[0]?.message).toContain('the later migration "0002" still uses it (line 2)');
  });

  it("fails a DROP COLUMN that a view of an earlier migration reads", () => {
    const context = parse("CREATE VIEW active_users AS SELECT id, email FROM users;\n");
    const findings = checkDroppedColumns(parse("ALTER TABLE users DROP COLUMN email;\n"), context);
    expect(findings[0]?.message).toContain('the view "active_users"');
  });

  it("passes when nothing later uses the column, when it is added back first, or when the view is gone", () => {
    expect(checkDroppedColumns(parse("ALTER TABLE users DROP COLUMN email;\n", "UPDATE users SET name = 'x' WHERE id = 1;\n"))).toEqual([]);
    expect(checkDroppedColumns(parse("ALTER TABLE users DROP COLUMN email;\n", "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX i ON users (email);\n"))).toEqual([]);
    expect(checkDroppedColumns(parse("ALTER TABLE posts DROP COLUMN email;\n", "CREATE INDEX i ON users (email);\n"))).toEqual([]);
    const context = parse("CREATE VIEW active_users AS SELECT id, email FROM users;\n", "DROP VIEW active_users;\n");
    expect(checkDroppedColumns(parse("ALTER TABLE users DROP COLUMN email;\n"), context)).toEqual([]);
  });
});

describe("tables created earlier in the run", () => {
  it("finds the creation that makes a lock harmless, within the run or within the migration", () => {
    const migrations = parse("CREATE TABLE posts (id bigint);\n", "CREATE INDEX a ON posts (id);\nCREATE TABLE tags (id bigint);\nCREATE INDEX b ON tags (id);\n");
    const creations = findCreatedTables(migrations);
    const second = migrations[1]!.statements;
    expect(findEarlierCreation(creations, 1, 0, second[0]!, "run")?.migration).toBe(0);
    expect(findEarlierCreation(creations, 1, 0, second[0]!, "migration")).toBeUndefined();
    expect(findEarlierCreation(creations, 1, 2, second[2]!, "migration")?.statementIndex).toBe(1);
  });

  it("does not count a table created later, or another schema's table of the same name", () => {
    const migrations = parse("CREATE INDEX a ON posts (id);\nCREATE TABLE posts (id bigint);\n", "CREATE TABLE app.tags (id bigint);\nCREATE INDEX b ON other.tags (id);\n");
    const creations = findCreatedTables(migrations);
    expect(findEarlierCreation(creations, 0, 0, migrations[0]!.statements[0]!, "run")).toBeUndefined();
    expect(findEarlierCreation(creations, 1, 1, migrations[1]!.statements[1]!, "run")).toBeUndefined();
  });

  it("follows a table renamed after its creation", () => {
    const migrations = parse("CREATE TABLE draft (id bigint);\nALTER TABLE draft RENAME TO posts;\n", "CREATE INDEX a ON posts (id);\n");
    expect(findEarlierCreation(findCreatedTables(migrations), 1, 0, migrations[1]!.statements[0]!, "run")?.table.name).toBe("posts");
  });
});

describe("allow comments", () => {
  it("reads the rules named in the comments right above a statement", () => {
    const sql = "SELECT 1;\n-- why: the table is tiny\n-- polymigrate:allow require-concurrent-index-creation, changing-column-type\nCREATE INDEX i ON t (c);\n";
    expect([...readAllowComments(sql, 4)]).toEqual(["require-concurrent-index-creation", "changing-column-type"]);
    expect([...readAllowComments("-- polymigrate:allow x\nSELECT 1;\n\nCREATE INDEX i ON t (c);\n", 4)]).toEqual([]);
  });
});

describe("findUnreadableDirectives", () => {
  it("finds the safety comments the runner would ignore, at their lines", () => {
    const sql = "-- polymigrate:lock-timeout 30s\n\n-- polymigrate:lock-timeout 5000\n-- polymigrate:statement-timeout 0.4ms\n-- polymigrate:retries many\nSELECT 1;\n";
    expect(findUnreadableDirectives(sql)).toEqual([
      { line: 3, message: expect.stringContaining('"-- polymigrate:lock-timeout 5000": the value is "5000": a bare number is seconds') },
      { line: 4, message: expect.stringContaining("less than 1ms") },
      { line: 5, message: '"-- polymigrate:retries many" is not a whole number, so the runner ignores it.' },
    ]);
    expect(findUnreadableDirectives("-- polymigrate:lock-timeout 5\n-- polymigrate:retries 0\nSELECT 1;")).toEqual([]);
  });
});
