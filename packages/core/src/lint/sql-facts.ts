import type { SqlStatement } from "../sql/statements.js";

// Facts read from PostgreSQL's parse tree (libpg-query's JSON), best effort: what a statement creates, locks, drops and
// reads. Names are compared as the parser gives them (unquoted names already folded to lower case).

/** A table named in a statement; `schema` only when the statement spells it. */
export interface TableName {
  schema?: string;
  name: string;
}

type Node = Record<string, unknown>;

function isObject(value: unknown): value is Node {
  return typeof value === "object" && value !== null;
}

function tableOf(rangeVar: unknown): TableName | undefined {
  if (!isObject(rangeVar) || typeof rangeVar.relname !== "string") return undefined;
  return { name: rangeVar.relname, ...(typeof rangeVar.schemaname === "string" ? { schema: rangeVar.schemaname } : {}) };
}

/** Whether two names can be the same table (a name without schema matches any schema). */
export function isSameTable(a: TableName, b: TableName): boolean {
  return a.name === b.name && (a.schema === undefined || b.schema === undefined || a.schema === b.schema);
}

/** `schema.name`, or `name`. */
export function formatTable(table: TableName): string {
  return table.schema ? `${table.schema}.${table.name}` : table.name;
}

/** The table a statement creates (`CREATE TABLE`, `CREATE TABLE AS`), or the new name a rename gives a table. */
export function createdTable(statement: SqlStatement): TableName | undefined {
  // The kind first: the tree of a large file's statement is parsed only when read (see splitStatements).
  if (statement.kind !== "CreateStmt" && statement.kind !== "CreateTableAsStmt") return undefined;
  const node = statement.node;
  if (!node) return undefined;
  if (statement.kind === "CreateStmt") return tableOf(node.relation);
  if (statement.kind === "CreateTableAsStmt" && node.objtype === "OBJECT_TABLE") return tableOf((node.into as Node | undefined)?.rel);
  return undefined;
}

/** For `ALTER TABLE a RENAME TO b`: the table's old and new names. */
export function renamedTable(statement: SqlStatement): { from: TableName; to: TableName } | undefined {
  if (statement.kind !== "RenameStmt") return undefined;
  const node = statement.node;
  if (!node || node.renameType !== "OBJECT_TABLE" || typeof node.newname !== "string") return undefined;
  const from = tableOf(node.relation);
  return from ? { from, to: { ...(from.schema ? { schema: from.schema } : {}), name: node.newname } } : undefined;
}

/** For `CREATE INDEX name ON table`: the index's name (in the table's schema) and its table. */
export function createdIndex(statement: SqlStatement): { index: TableName; table: TableName } | undefined {
  if (statement.kind !== "IndexStmt" || !statement.node || typeof statement.node.idxname !== "string") return undefined;
  const table = tableOf(statement.node.relation);
  if (!table) return undefined;
  return { index: { name: statement.node.idxname, ...(table.schema ? { schema: table.schema } : {}) }, table };
}

/** The indexes a `DROP INDEX` removes, as the statement names them. */
export function droppedIndexes(statement: SqlStatement): TableName[] {
  if (statement.kind !== "DropStmt" || statement.node?.removeType !== "OBJECT_INDEX") return [];
  return droppedTables({ ...statement, node: { ...statement.node, removeType: "OBJECT_TABLE" } });
}

/** The table a statement locks or changes: the target of `CREATE INDEX`, `ALTER TABLE`, a column rename. */
export function targetTable(statement: SqlStatement): TableName | undefined {
  switch (statement.kind) {
    case "IndexStmt":
    case "AlterTableStmt":
    case "RenameStmt":
    case "CreateTrigStmt":
    case "RuleStmt":
      return statement.node ? tableOf(statement.node.relation) : undefined;
    default:
      return undefined;
  }
}

/** The columns an `ALTER TABLE ... DROP COLUMN` removes. */
export function droppedColumns(statement: SqlStatement): { table: TableName; column: string }[] {
  if (statement.kind !== "AlterTableStmt") return [];
  const node = statement.node;
  if (!node) return [];
  const table = tableOf(node.relation);
  if (!table) return [];
  return commandsOf(node)
    .filter((command) => command.subtype === "AT_DropColumn" && typeof command.name === "string")
    .map((command) => ({ table, column: command.name as string }));
}

/** The columns an `ALTER TABLE ... ADD COLUMN` adds (a dropped column added back is not missing any more). */
export function addedColumns(statement: SqlStatement): { table: TableName; column: string }[] {
  if (statement.kind !== "AlterTableStmt") return [];
  const node = statement.node;
  if (!node) return [];
  const table = tableOf(node.relation);
  if (!table) return [];
  return commandsOf(node)
    .filter((command) => command.subtype === "AT_AddColumn")
    .map((command) => ((command.def as Node | undefined)?.ColumnDef as Node | undefined)?.colname)
    .filter((column): column is string => typeof column === "string")
    .map((column) => ({ table, column }));
}

function commandsOf(node: Node): Node[] {
  const commands = Array.isArray(node.cmds) ? node.cmds : [];
  return commands.map((command) => (isObject(command) ? (command.AlterTableCmd as Node | undefined) : undefined)).filter(isObject);
}

/** The table a `DROP TABLE` removes (then its columns are no longer referenced by anything that follows). */
export function droppedTables(statement: SqlStatement): TableName[] {
  if (statement.kind !== "DropStmt") return [];
  const node = statement.node;
  if (!node || node.removeType !== "OBJECT_TABLE" || !Array.isArray(node.objects)) return [];
  return node.objects.flatMap((object) => {
    const items = isObject(object) && isObject(object.List) && Array.isArray(object.List.items) ? object.List.items : [];
    const names = items.map((item) => (isObject(item) && isObject(item.String) ? item.String.sval : undefined));
    if (names.length === 0 || names.some((name) => typeof name !== "string")) return [];
    const parts = names as string[];
    return [{ name: parts[parts.length - 1]!, ...(parts.length > 1 ? { schema: parts[parts.length - 2] } : {}) }];
  });
}

/** The views a statement creates (`CREATE VIEW`, `CREATE MATERIALIZED VIEW`). */
export function createdView(statement: SqlStatement): TableName | undefined {
  if (statement.kind !== "ViewStmt" && statement.kind !== "CreateTableAsStmt") return undefined;
  const node = statement.node;
  if (!node) return undefined;
  if (statement.kind === "ViewStmt") return tableOf(node.view);
  if (statement.kind === "CreateTableAsStmt" && node.objtype === "OBJECT_MATVIEW") return tableOf((node.into as Node | undefined)?.rel);
  return undefined;
}

interface TreeFacts {
  tables: TableName[];
  names: Set<string>;
}

// Every table (RangeVar) and every column-like name in a tree: ColumnRef fields, index elements, assignment targets,
// ALTER TABLE command names, constraint keys, rename subjects.
function collectFacts(value: unknown, facts: TreeFacts, key?: string): void {
  if (Array.isArray(value)) {
    for (const item of value) collectFacts(item, facts, key);
    return;
  }
  if (!isObject(value)) return;
  if (isObject(value.RangeVar)) {
    const table = tableOf(value.RangeVar);
    if (table) facts.tables.push(table);
  }
  if (isObject(value.ColumnRef) && Array.isArray(value.ColumnRef.fields)) {
    const fields = value.ColumnRef.fields;
    const last = fields[fields.length - 1];
    if (isObject(last) && isObject(last.String) && typeof last.String.sval === "string") facts.names.add(last.String.sval);
  }
  for (const field of ["name", "subname", "colname"]) {
    const name = value[field];
    if (typeof name === "string") facts.names.add(name);
  }
  if (key === "keys" || key === "fk_attrs" || key === "pk_attrs" || key === "cols" || key === "including") {
    if (isObject(value.String) && typeof value.String.sval === "string") facts.names.add(value.String.sval);
  }
  for (const [childKey, child] of Object.entries(value)) {
    if (childKey === "relation" || childKey === "view") {
      const table = tableOf(child);
      if (table) facts.tables.push(table);
    }
    collectFacts(child, facts, childKey);
  }
}

/**
 * Whether a statement reads or changes column `column` of `table` (best effort: the table is named in the statement
 * and the column's name appears as a column in it).
 */
export function referencesColumn(statement: SqlStatement, table: TableName, column: string): boolean {
  if (!statement.node) return false;
  const facts: TreeFacts = { tables: [], names: new Set() };
  collectFacts(statement.node, facts);
  return facts.tables.some((candidate) => isSameTable(candidate, table)) && facts.names.has(column);
}

/**
 * The names a statement acts on, most specific first: the index, constraint or column it creates or changes, then
 * its table. Used to find the line of code that produced a rendered statement.
 */
export function namesOf(statement: SqlStatement): string[] {
  const node = statement.node;
  if (!node) return [];
  const names: string[] = [];
  if (typeof node.idxname === "string") names.push(node.idxname);
  for (const command of commandsOf(node)) {
    if (typeof command.name === "string") names.push(command.name);
    const definition = command.def as Node | undefined;
    const column = (definition?.ColumnDef as Node | undefined)?.colname;
    if (typeof column === "string") names.push(column);
    const constraint = (definition?.Constraint as Node | undefined)?.conname;
    if (typeof constraint === "string") names.push(constraint);
  }
  if (typeof node.subname === "string") names.push(node.subname);
  const table = targetTable(statement) ?? createdTable(statement);
  if (table) names.push(table.name);
  return names;
}
