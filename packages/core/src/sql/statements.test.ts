import { beforeAll, describe, expect, it } from "vitest";
import { PARSE_PIECE_BYTES, findPieceCuts, loadSqlParser, splitStatements } from "./statements.js";

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

describe("splitStatements on a text larger than a parse piece", () => {
  // Every construct that can hide a semicolon from a naive cut, then filler, repeated past the piece size.
  const block = [
    "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; SELECT 2; $body$ LANGUAGE sql;",
    "SELECT E'it\\'s; still a string', 'doubled '' ; quote', \"odd;name\";",
    "/* a /* nested; */ comment; */ SELECT 1;",
    "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;",
    "CREATE INDEX CONCURRENTLY i ON t (c);",
    "-- a line comment; with a semicolon",
    ...Array.from({ length: 40 }, (_, index) => `INSERT INTO items VALUES (${index}, 'é ${"x".repeat(60)}');`),
    "",
  ].join("\n");
  const blockLines = block.split("\n").length - 1;
  const repeats = Math.ceil((PARSE_PIECE_BYTES * 2.5) / Buffer.byteLength(block));
  const big = block.repeat(repeats);

  it("finds the same statements, lines, kinds and reasons as a parse of each block", () => {
    const one = splitStatements(block).statements;
    const all = splitStatements(big).statements;
    expect(Buffer.byteLength(big)).toBeGreaterThan(PARSE_PIECE_BYTES * 2);
    expect(all).toHaveLength(one.length * repeats);
    for (const position of [0, 1, Math.floor(all.length / 2), all.length - 1]) {
      const copy = Math.floor(position / one.length);
      const expected = one[position % one.length]!;
      const found = all[position]!;
      expect([found.text, found.line, found.kind, found.nonTransactionalReason]).toEqual([
        expected.text,
        expected.line + copy * blockLines,
        expected.kind,
        expected.nonTransactionalReason,
      ]);
      expect(found.node).toEqual(expected.node === undefined ? undefined : expect.objectContaining({}));
    }
    expect((all[all.length - 1]!.node as { relation?: { relname?: string } }).relation?.relname).toBe("items");
  });

  it("extends a piece whose cut falls inside BEGIN ATOMIC ... END, which the cut scanner does not see", () => {
    const filler = "SELECT 1;\n".repeat(Math.floor(PARSE_PIECE_BYTES / 10) - 2);
    const atomic = "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; SELECT 3; END;\n";
    const sql = `${filler}${atomic}${"SELECT 2;\n".repeat(30_000)}`;
    expect(findPieceCuts(Buffer.from(sql), PARSE_PIECE_BYTES)[0]).toBeLessThan(filler.length + atomic.length - 5);
    const { statements, parseError } = splitStatements(sql);
    expect(parseError).toBeUndefined();
    const fn = statements.find((statement) => statement.kind === "CreateFunctionStmt");
    expect(fn?.text).toBe(atomic.trim().replace(/;$/, ""));
    expect(statements).toHaveLength(filler.length / 10 + 1 + 30_000);
  });

  it("places a syntax error on its line and leaves the whole text to the server", () => {
    const broken = `${big}SELEC 1;\n`;
    const result = splitStatements(broken);
    expect(result.parseError?.line).toBe(repeats * blockLines + 1);
    expect(result.statements).toEqual([{ text: broken, line: 1 }]);
  });
});

describe("findPieceCuts", () => {
  it("cuts only after semicolons outside strings, names, dollar quotes and comments", () => {
    const sql = Buffer.from("SELECT ';'; SELECT $x$;$x$; /* ; */ SELECT \";\"; -- ;\nSELECT 1;");
    const cuts = findPieceCuts(sql, 1);
    expect(cuts.map((cut) => sql.subarray(0, cut).toString())).toEqual(["SELECT ';';", "SELECT ';'; SELECT $x$;$x$;", `SELECT ';'; SELECT $x$;$x$; /* ; */ SELECT ";";`]);
  });
});
