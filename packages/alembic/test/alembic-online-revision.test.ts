import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@polymigrate/testing";
import { copyExample, readAlembicVersion, REVISIONS, revisionFile, type AlembicTestProject } from "./alembic-project.js";

// A revision that reads the database while it upgrades (real histories do: a data migration that counts or looks
// rows up first) cannot be rendered by offline mode, where there is no database. That must never stop `up`: it is
// applied, and reported as not linted, with the reason.

let database: TestDatabase;
let project: AlembicTestProject;
const HEAD = REVISIONS[2];
const ONLINE = "cccc00000001";

beforeEach(async () => {
  database = await createTestDatabase("pm_alembic");
  project = copyExample();
  project.write(
    `alembic/versions/${ONLINE}_count_users.py`,
    revisionFile(
      ONLINE,
      HEAD,
      "count users",
      'count = op.get_bind().execute(sa.text("SELECT count(*) FROM users")).scalar()\n    op.execute("CREATE TABLE user_counts (n integer)")\n    op.execute(f"INSERT INTO user_counts VALUES ({count})")',
      'op.execute("DROP TABLE user_counts")',
    ),
  );
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("a revision that reads the database while it upgrades", () => {
  it("is applied by up, and lint reports it as not linted, with the reason", { timeout: 120_000 }, async () => {
    const url = database.url;
    const lint = await project.migrate(["lint"], url);
    expect(lint.exitCode, lint.stderr + lint.stdout).toBe(0);
    expect(lint.stderr).toContain(`could not render the SQL of "${ONLINE}" in offline mode`);
    expect(lint.stderr).toContain("It is not linted");

    const up = await project.migrate(["up"], url);
    expect(up.exitCode, up.stderr + up.stdout).toBe(0);
    expect(up.stdout + up.stderr).toContain("It is not linted");
    expect(await readAlembicVersion(database)).toEqual([ONLINE]);
    expect(await database.query("SELECT n FROM user_counts")).toEqual([{ n: 0 }]);
  });
});
