import { rmSync } from "node:fs";
import { join } from "node:path";
import { createTestProject, describeAdapterContract, type ContractMigration, type TestProject } from "@polymigrate/testing";

// A minimal Alembic project (no models): each contract migration is a revision that runs its SQL with op.execute.
const ALEMBIC_INI = `[alembic]
script_location = alembic

[loggers]
keys = root,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
`;

const ENV_PY = `import os
from logging.config import fileConfig
from alembic import context
from sqlalchemy import create_engine, pool

fileConfig(context.config.config_file_name)
url = os.environ["DIRECT_URL"]

if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
`;

const revisionId = (position: number) => `c0ffee${String(position).padStart(6, "0")}`;
const fileOf = (position: number, name: string) => `alembic/versions/${String(position).padStart(4, "0")}_${name}.py`;
const names = new WeakMap<TestProject, string[]>();

function revisionText(migration: ContractMigration, position: number): string {
  const down = position === 0 ? "None" : `'${revisionId(position - 1)}'`;
  return `"""${migration.name}"""
from alembic import op

revision = '${revisionId(position)}'
down_revision = ${down}
branch_labels = None
depends_on = None


def upgrade() -> None:
${pythonExecute(migration.up)}


def downgrade() -> None:
${pythonExecute(migration.down)}
`;
}

// What an Alembic user writes for a statement that cannot run in a transaction: Alembic's autocommit block.
function pythonExecute(sql: string): string {
  return /concurrently/i.test(sql)
    ? `    with op.get_context().autocommit_block():\n        op.execute(${JSON.stringify(sql)})`
    : `    op.execute(${JSON.stringify(sql)})`;
}

describeAdapterContract({
  stack: "alembic",
  hasChecksums: false,
  timeoutMs: 90_000,
  createProject(migrations) {
    const files: Record<string, string> = { "alembic.ini": ALEMBIC_INI, "alembic/env.py": ENV_PY, "alembic/script.py.mako": "" };
    migrations.forEach((migration, position) => (files[fileOf(position, migration.name)] = revisionText(migration, position)));
    const project = createTestProject(files);
    names.set(project, migrations.map((migration) => migration.name));
    return project;
  },
  addMigration(project, migration, position) {
    project.write(fileOf(position, migration.name), revisionText(migration, position));
    const list = names.get(project) ?? [];
    list[position] = migration.name;
    names.set(project, list);
  },
  migrationFile(project, position) {
    return fileOf(position, names.get(project)?.[position] ?? "");
  },
  removeMigration(project, position) {
    rmSync(join(project.dir, fileOf(position, names.get(project)?.[position] ?? "")));
  },
});
