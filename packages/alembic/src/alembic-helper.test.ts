import { describe, expect, it } from "vitest";
import { parseHelperResponse, toMigrationFailure } from "./alembic-helper.js";

describe("parseHelperResponse", () => {
  it("reads one answer of the helper", () => {
    expect(parseHelperResponse('{"isSuccess": true, "durationMs": 4.2, "transactional": true, "ran": ["a1"]}')).toEqual({
      isSuccess: true,
      durationMs: 4.2,
      transactional: true,
      ran: ["a1"],
    });
  });

  it("refuses a line that is not an answer, without repeating a URL it holds", () => {
    expect(() => parseHelperResponse("INFO  [alembic] connecting to postgresql://u:hunter22@db/x")).toThrow(/not a JSON answer/);
    expect(() => parseHelperResponse("INFO  [alembic] connecting to postgresql://u:hunter22@db/x")).not.toThrow(/hunter22/);
    expect(() => parseHelperResponse('{"ready": true}')).toThrow(/without "isSuccess"/);
    expect(() => parseHelperResponse("[1]")).toThrow(/without "isSuccess"/);
  });
});

describe("toMigrationFailure", () => {
  it("keeps the database's SQLSTATE, detail, hint and statement, and the file's line", () => {
    expect(
      toMigrationFailure(
        {
          isSuccess: false,
          error: { message: 'duplicate key value violates unique constraint "t_pkey"', sqlState: "23505", detail: "Key (id)=(1) already exists.", statement: "INSERT INTO t VALUES (1)", line: 20 },
        },
        "/srv/app/alembic/versions/b2.py",
      ),
    ).toEqual({
      message: 'duplicate key value violates unique constraint "t_pkey"',
      sqlState: "23505",
      detail: "Key (id)=(1) already exists.",
      statement: "INSERT INTO t VALUES (1)",
      file: "/srv/app/alembic/versions/b2.py",
      line: 20,
    });
  });

  it("says something when the helper gave no error", () => {
    expect(toMigrationFailure({ isSuccess: false }, undefined)).toEqual({ message: "Alembic failed without a message" });
  });
});
