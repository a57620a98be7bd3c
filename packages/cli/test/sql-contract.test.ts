import { rmSync } from "node:fs";
import { join } from "node:path";
import { describeAdapterContract, createTestProject, type TestProject } from "@polymigrate/testing";

// The plain-SQL stack passes the contract every adapter passes.
function fileOf(position: number, name: string): string {
  return `migrations/${String(position + 1).padStart(4, "0")}_${name}.sql`;
}
const names = new WeakMap<TestProject, string[]>();

describeAdapterContract({
  stack: "sql",
  hasChecksums: true,
  createProject(migrations) {
    const project = createTestProject();
    names.set(project, []);
    migrations.forEach((migration, position) => this.addMigration(project, migration, position));
    return project;
  },
  addMigration(project, migration, position) {
    names.get(project)![position] = migration.name;
    project.write(fileOf(position, migration.name), `${migration.up}\n`);
    project.write(fileOf(position, migration.name).replace(/\.sql$/, ".down.sql"), `${migration.down}\n`);
  },
  migrationFile: (project, position) => fileOf(position, names.get(project)![position]!),
  removeMigration(project, position) {
    const file = fileOf(position, names.get(project)![position]!);
    rmSync(join(project.dir, file));
    rmSync(join(project.dir, file.replace(/\.sql$/, ".down.sql")));
  },
  addOlderMigration(project, migration) {
    project.write(`migrations/0000_${migration.name}.sql`, `${migration.up}\n`);
    project.write(`migrations/0000_${migration.name}.down.sql`, `${migration.down}\n`);
  },
});
