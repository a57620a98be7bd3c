import { describe, expect, it } from "vitest";
import { tailOf } from "./alembic-command.js";
import { parseStepLine, splitOfflineSql, toHelperRequest, toStepResult } from "./alembic-run.js";

describe("parseStepLine", () => {
  it("reads the revision of Alembic's upgrade and downgrade log lines", () => {
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running upgrade  -> 949954c2be59, create users")).toEqual({ direction: "up", revision: "949954c2be59" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running upgrade a1, b1 -> m1, merge, with commas")).toEqual({ direction: "up", revision: "m1" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Running downgrade 949954c2be59 -> , create users")).toEqual({ direction: "down", revision: "949954c2be59" });
    expect(parseStepLine("INFO  [alembic.runtime.migration] Will assume transactional DDL.")).toBeUndefined();
  });
});

describe("toHelperRequest", () => {
  const migration = { id: "b2", name: "b2", order: 1, checksum: "", file: "/srv/app/alembic/versions/b2.py", meta: { downgradeTarget: "a1", downRevisions: ["a1"] } };
  it("asks for one revision up, and for the target that undoes exactly that revision down", () => {
    expect(toHelperRequest({ migration, direction: "up", recordStartedSql: "R", guardSql: "G" })).toEqual({ op: "upgrade", revision: "b2", recordStartedSql: "R", guardSql: "G" });
    expect(toHelperRequest({ migration, direction: "down", recordStartedSql: "R", guardSql: "G" })).toEqual({ op: "downgrade", target: "a1", revision: "b2", recordStartedSql: "R", guardSql: "G" });
    expect(toHelperRequest({ migration: { ...migration, meta: {} }, direction: "down", recordStartedSql: "R", guardSql: "G" })).toMatchObject({ target: "base" });
  });

  it("turns the helper's answer into the step's result, with the revision's file and a redacted, trimmed stderr", () => {
    expect(toStepResult({ isSuccess: true, durationMs: 12.4, transactional: false, ran: ["b2"] }, migration)).toEqual({ isSuccess: true, durationMs: 12, transactional: false });
    const failed = toStepResult(
      {
        isSuccess: false,
        durationMs: 3,
        transactional: true,
        isInterrupted: true,
        error: { message: "could not reach postgresql://app:hunter22@db/x", sqlState: "08006", line: 20 },
        stderr: 'Traceback (most recent call last):\n  File "/usr/lib/python3/dist-packages/sqlalchemy/engine/base.py", line 1900, in _execute_context\n    self.dialect.do_execute(\n  File "/srv/app/alembic/versions/b2.py", line 20, in upgrade\n',
      },
      migration,
    );
    expect(failed).toMatchObject({ isSuccess: false, isInterrupted: true, error: { sqlState: "08006", line: 20, file: migration.file } });
    expect(failed.error?.message).not.toContain("hunter22");
    expect(failed.error?.stderrTail).toContain('File "/srv/app/alembic/versions/b2.py", line 20, in upgrade');
    expect(failed.error?.stderrTail).not.toContain("dist-packages");
  });
});

describe("tailOf", () => {
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
