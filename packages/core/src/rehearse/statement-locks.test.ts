import { beforeAll, describe, expect, it } from "vitest";
import { loadSqlParser, splitStatements } from "../sql/statements.js";
import { locksOfStatement } from "./statement-locks.js";

const locksOf = (sql: string) => splitStatements(sql).statements.flatMap(locksOfStatement).map(({ relation, mode }) => `${mode} on ${relation}`);

beforeAll(() => loadSqlParser());

describe("locksOfStatement", () => {
  it("gives each statement kind the lock PostgreSQL documents for it", () => {
    expect(locksOf("CREATE INDEX books_title_idx ON books (title);")).toEqual(["SHARE on books"]);
    expect(locksOf("CREATE INDEX CONCURRENTLY books_title_idx ON books (title);")).toEqual(["SHARE UPDATE EXCLUSIVE on books"]);
    expect(locksOf("ALTER TABLE app.books ADD COLUMN isbn text;")).toEqual(["ACCESS EXCLUSIVE on app.books"]);
    expect(locksOf("ALTER TABLE books VALIDATE CONSTRAINT books_author_fk;")).toEqual(["SHARE UPDATE EXCLUSIVE on books"]);
    expect(locksOf("ALTER TABLE books ADD CONSTRAINT fk FOREIGN KEY (author_id) REFERENCES authors (id) NOT VALID;")).toEqual([
      "SHARE ROW EXCLUSIVE on authors",
      "SHARE ROW EXCLUSIVE on books",
    ]);
    expect(locksOf("UPDATE books SET title = upper(title); DELETE FROM authors WHERE false;")).toEqual(["ROW EXCLUSIVE on books", "ROW EXCLUSIVE on authors"]);
    expect(locksOf("DROP TABLE old_books, older_books;")).toEqual(["ACCESS EXCLUSIVE on old_books", "ACCESS EXCLUSIVE on older_books"]);
    expect(locksOf("TRUNCATE books;")).toEqual(["ACCESS EXCLUSIVE on books"]);
    expect(locksOf("CREATE TYPE mood AS ENUM ('ok'); SELECT 1;")).toEqual([]);
  });

  it("marks a table created by the statement as new, and locks the table its foreign key references", () => {
    const [statement] = splitStatements("CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors (id));").statements;
    expect(locksOfStatement(statement!)).toEqual([
      { line: 1, statement: "CreateStmt", relation: "books", mode: "ACCESS EXCLUSIVE", isNew: true },
      { line: 1, statement: "CreateStmt", relation: "authors", mode: "SHARE ROW EXCLUSIVE" },
    ]);
  });
});
