import { describe, expect, it } from "vitest";
import { tailOf } from "./alembic-command.js";
import { lineInFile, parseAlembicError, parseStepLine, splitOfflineSql } from "./alembic-run.js";

describe("parseStepLine", () => {
  it("reads the revision of Alembic's upgrade and downgrade log lines", () => {
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running upgrade  -> 949954c2be59, create users")).toEqual({ direction: "up", revision: "949954c2be59" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running upgrade a1, b1 -> m1, merge, with commas")).toEqual({ direction: "up", revision: "m1" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running downgrade 949954c2be59 -> , create users")).toEqual({ direction: "down", revision: "949954c2be59" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Will assume transactional DDL.")).toBeUndefined();
  });
});

const STDERR = `INFO  [alembic.runtime.migration] Running upgrade a1 -> b2, broken
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/sqlalchemy/engine/base.py", line 1900, in _execute_context
    self.dialect.do_execute(
  File "/srv/app/alembic/versions/b2_broken.py", line 20, in upgrade
    op.execute('INSERT INTO t VALUES (1)')
  File "/usr/lib/python3/dist-packages/sqlalchemy/engine/default.py", line 736, in do_execute
    cursor.execute(statement, parameters)
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "t_pkey"
DETAIL:  Key (id)=(1) already exists.

[SQL: INSERT INTO t VALUES (1)]
(Background on this error at: https://sqlalche.me/e/14/gkpj)
`;

describe("parseAlembicError", () => {
  it("takes the database's message, SQLSTATE, detail and statement from SQLAlchemy's error", () => {
    const error = parseAlembicError(STDERR);
    expect(error).toMatchObject({
      message: 'duplicate key value violates unique constraint "t_pkey"',
      sqlState: "23505",
      detail: "Key (id)=(1) already exists.",
      statement: "INSERT INTO t VALUES (1)",
    });
    expect(error.stderrTail).toContain('File "/srv/app/alembic/versions/b2_broken.py", line 20, in upgrade');
    expect(error.stderrTail).not.toContain("dist-packages");
  });

  it("finds the line of the revision file the traceback went through", () => {
    expect(lineInFile(STDERR, "/srv/app/alembic/versions/b2_broken.py")).toBe(20);
    expect(lineInFile(STDERR, "/srv/app/alembic/versions/other.py")).toBeUndefined();
  });

  it("falls back to the last exception line for errors that are not the database's", () => {
    expect(parseAlembicError("Traceback...\nKeyError: 'DIRECT_URL'\n").message).toBe("KeyError: 'DIRECT_URL'");
  });

  it("redacts URLs in what it keeps", () => {
    expect(tailOf("could not connect to postgresql://app:hunter22@db/x")).not.toContain("hunter22");
  });
});

describe("splitOfflineSql", () => {
  it("splits alembic upgrade --sql output at its -- Running markers", () => {
    const sql = splitOfflineSql(
      "BEGIN;\n\nCREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);\n\n-- Running upgrade  -> a1\n\nCREATE TABLE t (id int);\n\n-- Running upgrade a1 -> b2\n\nALTER TABLE t ADD COLUMN x int;\n\nCOMMIT;\n\n",
    );
    expect(Object.keys(sql)).toEqual(["a1", "b2"]);
    expect(sql.a1).toContain("CREATE TABLE t (id int);");
    expect(sql.a1).not.toContain("alembic_version (version_num");
    expect(sql.b2).toContain("ALTER TABLE t ADD COLUMN x int;");
    expect(sql.b2).not.toContain("COMMIT");
  });
});
