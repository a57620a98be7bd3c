import { beforeAll, describe, expect, it } from "vitest";
import { loadSqlParser, splitStatements } from "./statements.js";

beforeAll(() => loadSqlParser());

describe("splitStatements", () => {
  it("places each statement on the line of its first token, past comments", () => {
    const sql = "-- header\nCREATE TABLE a (id int);\n\n/* note */\nINSERT INTO a VALUES (1);\nSELECT 'é;';\n";
    const { statements } = splitStatements(sql);
    expect(statements.map((statement) => [statement.kind, statement.line, statement.text])).toEqual([
      ["CreateStmt", 2, "CREATE TABLE a (id int)"],
      ["InsertStmt", 5, "INSERT INTO a VALUES (1)"],
      ["SelectStmt", 6, "SELECT 'é;'"],
    ]);
  });

  it("keeps dollar-quoted bodies whole", () => {
    const sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nDO $$ BEGIN PERFORM 1; END $$;";
    expect(splitStatements(sql).statements).toHaveLength(2);
  });

  it.each([
    ["CREATE INDEX CONCURRENTLY i ON t (c)", "CREATE INDEX CONCURRENTLY"],
    ["DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"],
    ["REINDEX (CONCURRENTLY) INDEX i", "REINDEX CONCURRENTLY"],
    ["REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"],
    ["VACUUM t", "VACUUM"],
    ["CREATE DATABASE d", "CREATE DATABASE"],
    ["BEGIN", "own transaction"],
  ])("finds that %s cannot run in a transaction", (sql, reason) => {
    expect(splitStatements(sql).statements[0]?.nonTransactionalReason).toContain(reason);
  });

  it.each(["CREATE INDEX i ON t (c)", "ALTER TYPE mood ADD VALUE 'meh'", "ANALYZE t", "DROP INDEX i"])(
    "lets %s run in a transaction on PostgreSQL 15",
    (sql) => {
      expect(splitStatements(sql).statements[0]?.nonTransactionalReason).toBeUndefined();
    },
  );

  it("knows ADD VALUE needs its own transaction before PostgreSQL 12", () => {
    const { statements } = splitStatements("ALTER TYPE mood ADD VALUE 'meh'", { serverVersionNum: 110000 });
    expect(statements[0]?.nonTransactionalReason).toContain("before PostgreSQL 12");
  });

  it("returns the whole text and the parser's line when it cannot parse", () => {
    const result = splitStatements("SELECT 1;\nSELEC 2;\n");
    expect(result.statements).toHaveLength(1);
    expect(result.parseError?.line).toBe(2);
  });
});
