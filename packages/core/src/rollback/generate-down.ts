import { readFileSync } from "node:fs";
import { quoteIdent } from "../db/connect.js";
import { loadSqlParser, splitStatements, type SqlStatement } from "../sql/statements.js";

/** One step of a generated down: the inverse of one up statement (or of one ALTER TABLE subcommand). */
export interface GeneratedDownStep {
  /** The line of the up statement this step undoes (1-based, in the up text). */
  line: number;
  /** What the up statement does, for people: `CREATE TABLE`, `ALTER TABLE ADD COLUMN`, `DROP TABLE`, ... */
  kind: string;
  /** Whether `sql` undoes the statement; `false` means `sql` is only a comment saying why it cannot. */
  reversible: boolean;
  /** The step's text in the down file: SQL, or comment lines when there is nothing to run. */
  sql: string;
  /** Why the step is irreversible, or what a reviewer should check in a reversible one. */
  reason?: string;
}

/** A down drafted from an up. */
export interface GeneratedDown {
  /** The text of a `.down.sql` file: a header, then one block per step, in the order they must run. */
  sql: string;
  /** Whether at least one statement cannot be undone by SQL (the file then carries `-- polymigrate:irreversible`). */
  isIrreversible: boolean;
  /** The steps in the order the down runs them (the reverse of the up). */
  steps: GeneratedDownStep[];
}

/** Options of {@link generateDown}. */
export interface GenerateDownOptions {
  /** The server's `server_version_num`; decides which statements forbid a transaction. */
  serverVersionNum?: number;
  /** The up file's name, for the header. */
  source?: string;
}

/** The directive a generated down carries when part of it cannot be undone by SQL. */
export const IRREVERSIBLE_DIRECTIVE = "-- polymigrate:irreversible";

const SNAPSHOT_HINT = "restore it from a snapshot (migrate up --snapshot)";

type Node = Record<string, any>;

/** What one up statement needs undone; `sql` undefined means nothing to run. */
interface Inverse {
  kind: string;
  sql?: string;
  irreversible?: string;
  note?: string;
  /** What the up did, when the statement's text says more than this step undoes (one ALTER TABLE subcommand). */
  undoes?: string;
}

/** Objects the up creates, so that later statements on them are undone by their DROP. Keys default the schema to public. */
interface CreatedObjects {
  tables: Set<string>;
  columns: Set<string>;
  types: Set<string>;
  constraints: Set<string>;
}

const str = (node: Node | undefined): string => (node?.String?.sval as string | undefined) ?? "";
const names = (list: Node[] | undefined): string[] => (list ?? []).map(str);
const quoteName = (parts: string[]): string => parts.map(quoteIdent).join(".");
const listItems = (node: Node | undefined): Node[] => (node?.List?.items as Node[] | undefined) ?? [];

function relationName(relation: Node): string {
  return quoteName(relation.schemaname ? [relation.schemaname, relation.relname] : [relation.relname]);
}

function relationKey(relation: Node): string {
  return `${relation.schemaname ?? "public"}.${relation.relname}`;
}

function nameKey(parts: string[]): string {
  return parts.length > 1 ? parts.join(".") : `public.${parts[0]}`;
}

/** A type as written for a signature: its (possibly qualified) name and array bounds; modifiers do not matter there. */
function typeText(typeName: Node): string {
  const base = quoteName(names(typeName.names));
  const pct = typeName.pct_type ? "%TYPE" : "";
  const arrays = "[]".repeat((typeName.arrayBounds as unknown[] | undefined)?.length ?? 0);
  return `${typeName.setof ? "SETOF " : ""}${base}${pct}${arrays}`;
}

/** The signature DROP FUNCTION/PROCEDURE needs: functions by their input arguments, procedures by all of them. */
function functionSignature(node: Node): string {
  const isProcedure = node.is_procedure === true;
  const parameters = ((node.parameters as Node[] | undefined) ?? []).map((parameter) => parameter.FunctionParameter as Node);
  const modes: Record<string, string> = {
    FUNC_PARAM_IN: "IN ",
    FUNC_PARAM_OUT: "OUT ",
    FUNC_PARAM_INOUT: "INOUT ",
    FUNC_PARAM_VARIADIC: "VARIADIC ",
    FUNC_PARAM_DEFAULT: "",
  };
  const args = parameters
    .filter((parameter) => isProcedure || (parameter.mode !== "FUNC_PARAM_OUT" && parameter.mode !== "FUNC_PARAM_TABLE"))
    .map((parameter) => {
      const mode = modes[parameter.mode as string] ?? "";
      const shownMode = isProcedure ? mode : mode === "VARIADIC " ? mode : "";
      return `${shownMode}${typeText(parameter.argType as Node)}`;
    });
  return `${quoteName(names(node.funcname))}(${args.join(", ")})`;
}

// PostgreSQL's makeObjectName (src/backend/commands/indexcmds.c): name1_name2_label, truncated to 63 bytes by
// shortening the longer of name1 and name2 first.
function makeObjectName(name1: string, name2: string | undefined, label: string): string {
  const bytes = (text: string) => Buffer.byteLength(text, "utf8");
  let first = name1;
  let second = name2 ?? "";
  const overhead = (name2 !== undefined ? 1 : 0) + bytes(label) + 1;
  const available = 63 - overhead;
  while (bytes(first) + bytes(second) > available) {
    if (bytes(first) > bytes(second)) first = first.slice(0, -1);
    else second = second.slice(0, -1);
  }
  return name2 !== undefined ? `${first}_${second}_${label}` : `${first}_${label}`;
}

// PostgreSQL's ChooseIndexNameAddition / ChooseForeignKeyConstraintNameAddition: the names joined by "_", cut once
// the text reaches NAMEDATALEN.
function nameAddition(columns: string[]): string {
  let text = "";
  for (const column of columns) {
    if (text) text += "_";
    text += column.slice(0, 63);
    if (Buffer.byteLength(text, "utf8") >= 64) break;
  }
  return text;
}

// PostgreSQL's FigureIndexColname: a column's name, a function call's name, else "expr".
function indexColumnName(element: Node): string {
  if (element.indexcolname) return element.indexcolname as string;
  if (element.name) return element.name as string;
  const figure = (expr: Node | undefined): string | undefined => {
    if (!expr) return undefined;
    if (expr.ColumnRef) {
      const fields = expr.ColumnRef.fields as Node[];
      const last = fields[fields.length - 1];
      return last?.String ? str(last) : undefined;
    }
    if (expr.FuncCall) return names(expr.FuncCall.funcname).at(-1);
    if (expr.TypeCast) return figure(expr.TypeCast.arg as Node);
    return undefined;
  };
  return figure(element.expr as Node) ?? "expr";
}

function columnsIn(expr: unknown, found: Set<string>): Set<string> {
  if (Array.isArray(expr)) for (const item of expr) columnsIn(item, found);
  else if (expr && typeof expr === "object") {
    const node = expr as Node;
    if (node.ColumnRef) {
      const fields = node.ColumnRef.fields as Node[];
      const last = fields[fields.length - 1];
      if (last?.String) found.add(str(last));
    } else for (const value of Object.values(node)) columnsIn(value, found);
  }
  return found;
}

/** The name PostgreSQL gives an unnamed table constraint, when it can be told from the text alone. */
function generatedConstraintName(table: string, constraint: Node): string | undefined {
  switch (constraint.contype) {
    case "CONSTR_PRIMARY":
      return makeObjectName(table, undefined, "pkey");
    case "CONSTR_UNIQUE":
      return constraint.keys ? makeObjectName(table, nameAddition(names(constraint.keys)), "key") : undefined;
    case "CONSTR_FOREIGN":
      return makeObjectName(table, nameAddition(names(constraint.fk_attrs)), "fkey");
    case "CONSTR_CHECK": {
      // AddRelationNewConstraints names a check after its column when it references exactly one.
      const columns = [...columnsIn(constraint.raw_expr, new Set())];
      return makeObjectName(table, columns.length === 1 ? columns[0] : undefined, "check");
    }
    case "CONSTR_EXCLUSION": {
      const elements = ((constraint.exclusions as Node[] | undefined) ?? []).map((pair) => listItems(pair)[0]?.IndexElem as Node);
      return makeObjectName(table, nameAddition(elements.map(indexColumnName)), "excl");
    }
    default:
      return undefined;
  }
}

function describe(statement: SqlStatement): string {
  const text = statement.text.replace(/\s+/g, " ").replace(/;$/, "");
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const RELATION_KINDS: Record<string, string> = {
  OBJECT_TABLE: "TABLE",
  OBJECT_VIEW: "VIEW",
  OBJECT_MATVIEW: "MATERIALIZED VIEW",
  OBJECT_SEQUENCE: "SEQUENCE",
  OBJECT_INDEX: "INDEX",
  OBJECT_FOREIGN_TABLE: "FOREIGN TABLE",
};

function assumeAbsent(what: string): string {
  return `the up says ${what}: this drop assumes the object did not exist before the migration`;
}

function invertCreate(kind: string, node: Node, created: CreatedObjects): Inverse[] | undefined {
  switch (kind) {
    case "CreateStmt": {
      const relation = node.relation as Node;
      if (relation.relpersistence === "t") return [{ kind: "CREATE TEMPORARY TABLE" }];
      // With IF NOT EXISTS the table may be older than the up: what the up does to it is not covered by the drop.
      if (!node.if_not_exists) created.tables.add(relationKey(relation));
      return [{
        kind: "CREATE TABLE",
        sql: `DROP TABLE ${relationName(relation)};`,
        ...(node.if_not_exists ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      }];
    }
    case "CreateTableAsStmt": {
      const relation = (node.into as Node).rel as Node;
      const isView = node.objtype === "OBJECT_MATVIEW";
      if (!isView && !node.if_not_exists) created.tables.add(relationKey(relation));
      return [{
        kind: isView ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE AS",
        sql: `DROP ${isView ? "MATERIALIZED VIEW" : "TABLE"} ${relationName(relation)};`,
        ...(node.if_not_exists ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      }];
    }
    case "IndexStmt": {
      const relation = node.relation as Node;
      const concurrently = node.concurrent ? " CONCURRENTLY" : "";
      const label = `CREATE${node.unique ? " UNIQUE" : ""} INDEX${concurrently}`;
      let name = node.idxname as string | undefined;
      let note = node.if_not_exists ? assumeAbsent("IF NOT EXISTS") : undefined;
      // An unnamed index on a table the up creates goes with the table: no need to guess its name.
      if (!name && created.tables.has(relationKey(relation))) return [{ kind: label }];
      if (!name) {
        // DefineIndex's ChooseIndexName: <table>_<columns>_idx (or _pkey for a primary key).
        const elements = ((node.indexParams as Node[] | undefined) ?? []).map((param) => param.IndexElem as Node);
        name = node.primary
          ? makeObjectName(relation.relname, undefined, "pkey")
          : makeObjectName(relation.relname, nameAddition(elements.map(indexColumnName)), "idx");
        note = `the index has no name in the up: "${name}" is the name PostgreSQL gives it when no other relation of the schema has that name already`;
      }
      const target = quoteName(relation.schemaname ? [relation.schemaname, name] : [name]);
      if (concurrently) {
        note = [note, "DROP INDEX CONCURRENTLY cannot run in a transaction, so this down runs outside one"].filter(Boolean).join("; ");
      }
      return [{ kind: label, sql: `DROP INDEX${concurrently} ${target};`, ...(note ? { note } : {}) }];
    }
    case "CreateEnumStmt":
    case "CreateRangeStmt": {
      const typeName = names(node.typeName);
      created.types.add(nameKey(typeName));
      return [{ kind: kind === "CreateEnumStmt" ? "CREATE TYPE AS ENUM" : "CREATE TYPE AS RANGE", sql: `DROP TYPE ${quoteName(typeName)};` }];
    }
    case "CompositeTypeStmt": {
      const relation = node.typevar as Node;
      created.types.add(relationKey(relation));
      return [{ kind: "CREATE TYPE AS (composite)", sql: `DROP TYPE ${relationName(relation)};` }];
    }
    case "CreateDomainStmt": {
      const domainName = names(node.domainname);
      created.types.add(nameKey(domainName));
      return [{ kind: "CREATE DOMAIN", sql: `DROP DOMAIN ${quoteName(domainName)};` }];
    }
    case "CreateSeqStmt":
      return [{
        kind: "CREATE SEQUENCE",
        sql: `DROP SEQUENCE ${relationName(node.sequence as Node)};`,
        ...(node.if_not_exists ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      }];
    case "ViewStmt":
      return [{
        kind: "CREATE VIEW",
        sql: `DROP VIEW ${relationName(node.view as Node)};`,
        ...(node.replace ? { note: `${assumeAbsent("OR REPLACE")}; if it replaced a view, write the previous definition here instead` } : {}),
      }];
    case "CreateFunctionStmt": {
      const what = node.is_procedure ? "PROCEDURE" : "FUNCTION";
      return [{
        kind: `CREATE ${what}`,
        sql: `DROP ${what} ${functionSignature(node)};`,
        ...(node.replace ? { note: `${assumeAbsent("OR REPLACE")}; if it replaced a ${what.toLowerCase()}, write the previous definition here instead` } : {}),
      }];
    }
    case "CreateTrigStmt":
      return [{
        kind: "CREATE TRIGGER",
        sql: `DROP TRIGGER ${quoteIdent(node.trigname as string)} ON ${relationName(node.relation as Node)};`,
        ...(node.replace ? { note: assumeAbsent("OR REPLACE") } : {}),
      }];
    case "CreateSchemaStmt": {
      if (!node.schemaname) return [{ kind: "CREATE SCHEMA", irreversible: "the schema is named after a role, which the text does not say" }];
      const cascade = (node.schemaElts as unknown[] | undefined)?.length ? " CASCADE" : "";
      return [{
        kind: "CREATE SCHEMA",
        sql: `DROP SCHEMA ${quoteIdent(node.schemaname as string)}${cascade};`,
        ...(node.if_not_exists ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      }];
    }
    case "CreateExtensionStmt":
      return [{
        kind: "CREATE EXTENSION",
        sql: `DROP EXTENSION ${quoteIdent(node.extname as string)};`,
        ...(node.if_not_exists ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      }];
    default:
      return undefined;
  }
}

function isTableCovered(relation: Node, created: CreatedObjects): boolean {
  return created.tables.has(relationKey(relation));
}

function isColumnCovered(relation: Node, column: string, created: CreatedObjects): boolean {
  return isTableCovered(relation, created) || created.columns.has(`${relationKey(relation)}.${column}`);
}

// One subcommand of a multi-command ALTER TABLE, for the step's header: `ALTER TABLE "users" ADD COLUMN "phone"`.
function describeAlterTableCommand(relation: Node, command: Node, kind: string): string {
  const definition = command.def as Node | undefined;
  const name = (command.name as string | undefined)
    ?? (definition?.ColumnDef?.colname as string | undefined)
    ?? (definition?.Constraint?.conname as string | undefined);
  const action = kind.replace(/^ALTER TABLE /, "");
  const target = action.startsWith("ALTER COLUMN ") ? `ALTER COLUMN ${quoteIdent(name ?? "")} ${action.slice("ALTER COLUMN ".length)}` : name ? `${action} ${quoteIdent(name)}` : action;
  return `ALTER TABLE ${relationName(relation)} ${target}`;
}

/** The inverse of one ALTER TABLE subcommand, as the table stands right after the up ran it. */
function invertAlterTableCommand(relation: Node, command: Node, created: CreatedObjects): Inverse {
  const table = relationName(relation);
  const key = relationKey(relation);
  const column = command.name as string | undefined;
  const alterColumn = (kind: string, action: string, note?: string): Inverse => ({
    kind,
    sql: `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column ?? "")} ${action};`,
    ...(note ? { note } : {}),
  });
  // A change to something the up itself creates is undone when the down drops it.
  const coveredByTable = (kind: string, reason: string): Inverse =>
    isTableCovered(relation, created) ? { kind } : { kind, irreversible: reason };
  const coveredByColumn = (kind: string, reason: string): Inverse =>
    column !== undefined && isColumnCovered(relation, column, created) ? { kind } : { kind, irreversible: reason };

  switch (command.subtype) {
    case "AT_AddColumn": {
      const definition = command.def.ColumnDef as Node;
      if (!command.missing_ok) created.columns.add(`${key}.${definition.colname}`);
      return {
        kind: "ALTER TABLE ADD COLUMN",
        sql: `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(definition.colname as string)};`,
        ...(command.missing_ok ? { note: assumeAbsent("IF NOT EXISTS") } : {}),
      };
    }
    case "AT_DropColumn":
      return coveredByTable(
        "ALTER TABLE DROP COLUMN",
        `the column "${column}" and its data cannot be restored by SQL; ${SNAPSHOT_HINT}`,
      );
    case "AT_AddConstraint": {
      const constraint = command.def.Constraint as Node;
      const label = "ALTER TABLE ADD CONSTRAINT";
      if (constraint.indexname) {
        return coveredByTable(label, `the constraint takes over the index "${constraint.indexname}", which dropping the constraint would drop too`);
      }
      let name = constraint.conname as string | undefined;
      let note: string | undefined;
      if (!name && isTableCovered(relation, created)) return { kind: label };
      if (!name) {
        name = generatedConstraintName(relation.relname as string, constraint);
        if (!name) return coveredByTable(label, "the constraint has no name in the up and PostgreSQL's name for it cannot be told from the text; name it in the up");
        note = `the constraint has no name in the up: "${name}" is the name PostgreSQL gives it when no other constraint of the table has that name already`;
      }
      created.constraints.add(`${key}.${name}`);
      if (constraint.contype === "CONSTR_PRIMARY") {
        // Adding a primary key sets NOT NULL on its columns, and dropping it leaves them NOT NULL.
        note = [note, "a primary key made its columns NOT NULL: if they allowed NULL before, add ALTER COLUMN ... DROP NOT NULL"].filter(Boolean).join("; ");
      }
      return { kind: label, sql: `ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(name)};`, ...(note ? { note } : {}) };
    }
    case "AT_DropConstraint":
      return coveredByTable("ALTER TABLE DROP CONSTRAINT", `the definition of the dropped constraint "${column}" is not in the migration; write it here`);
    case "AT_ValidateConstraint":
      return created.constraints.has(`${key}.${column}`) || isTableCovered(relation, created)
        ? { kind: "ALTER TABLE VALIDATE CONSTRAINT" }
        : { kind: "ALTER TABLE VALIDATE CONSTRAINT", irreversible: `a validated constraint cannot be made NOT VALID again without its definition; drop "${column}" and add it back NOT VALID here` };
    case "AT_ColumnDefault":
      return command.def
        ? coveredByColumn("ALTER TABLE ALTER COLUMN SET DEFAULT", `the previous default of "${column}" is not in the migration; write it here`)
        : coveredByColumn("ALTER TABLE ALTER COLUMN DROP DEFAULT", `the dropped default of "${column}" is not in the migration; write it here`);
    case "AT_SetNotNull":
      return isColumnCovered(relation, column ?? "", created)
        ? { kind: "ALTER TABLE ALTER COLUMN SET NOT NULL" }
        : alterColumn("ALTER TABLE ALTER COLUMN SET NOT NULL", "DROP NOT NULL", `assumes "${column}" allowed NULL before the migration`);
    case "AT_DropNotNull":
      return isColumnCovered(relation, column ?? "", created)
        ? { kind: "ALTER TABLE ALTER COLUMN DROP NOT NULL" }
        : alterColumn("ALTER TABLE ALTER COLUMN DROP NOT NULL", "SET NOT NULL", `fails if rows with NULL in "${column}" were written since the up`);
    case "AT_AlterColumnType":
      return coveredByColumn("ALTER TABLE ALTER COLUMN TYPE", `the previous type of "${column}" is not in the migration, and converting back may lose data; ${SNAPSHOT_HINT}`);
    case "AT_AddIdentity":
      return alterColumn("ALTER TABLE ALTER COLUMN ADD IDENTITY", "DROP IDENTITY");
    case "AT_DropIdentity":
      return coveredByColumn("ALTER TABLE ALTER COLUMN DROP IDENTITY", `the identity of "${column}" and its sequence's position cannot be told from the migration`);
    case "AT_AttachPartition": {
      const partition = (command.def.PartitionCmd as Node).name as Node;
      return { kind: "ALTER TABLE ATTACH PARTITION", sql: `ALTER TABLE ${table} DETACH PARTITION ${relationName(partition)};` };
    }
    case "AT_EnableRowSecurity":
      return { kind: "ALTER TABLE ENABLE ROW LEVEL SECURITY", sql: `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY;`, note: "assumes row level security was disabled before" };
    case "AT_DisableRowSecurity":
      return { kind: "ALTER TABLE DISABLE ROW LEVEL SECURITY", sql: `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;`, note: "assumes row level security was enabled before" };
    case "AT_ForceRowSecurity":
      return { kind: "ALTER TABLE FORCE ROW LEVEL SECURITY", sql: `ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY;` };
    case "AT_NoForceRowSecurity":
      return { kind: "ALTER TABLE NO FORCE ROW LEVEL SECURITY", sql: `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;` };
    default: {
      const subtype = String(command.subtype ?? "unknown").replace(/^AT_/, "");
      return coveredByTable(`ALTER TABLE ${subtype}`, `Polymigrate does not know how to undo ALTER TABLE ${subtype}; write its inverse here`);
    }
  }
}

function invertRename(node: Node, created: CreatedObjects): Inverse {
  const renameType = node.renameType as string;
  const newName = node.newname as string;
  const relation = node.relation as Node | undefined;
  const relationKind = RELATION_KINDS[renameType];
  if (relationKind && relation) {
    const renamed = quoteName(relation.schemaname ? [relation.schemaname, newName] : [newName]);
    const oldKey = relationKey(relation);
    const newKey = relationKey({ ...relation, relname: newName });
    if (created.tables.delete(oldKey)) created.tables.add(newKey);
    for (const column of [...created.columns]) {
      if (column.startsWith(`${oldKey}.`)) {
        created.columns.delete(column);
        created.columns.add(`${newKey}.${column.slice(oldKey.length + 1)}`);
      }
    }
    return {
      kind: `RENAME ${relationKind}`,
      sql: `ALTER ${relationKind} ${renamed} RENAME TO ${quoteIdent(relation.relname as string)};`,
    };
  }
  switch (renameType) {
    case "OBJECT_COLUMN": {
      const target = relation!;
      const kind = RELATION_KINDS[node.relationType as string] ?? "TABLE";
      const key = relationKey(target);
      if (created.columns.delete(`${key}.${node.subname}`)) created.columns.add(`${key}.${newName}`);
      return {
        kind: "RENAME COLUMN",
        sql: `ALTER ${kind} ${relationName(target)} RENAME COLUMN ${quoteIdent(newName)} TO ${quoteIdent(node.subname as string)};`,
      };
    }
    case "OBJECT_TABCONSTRAINT": {
      const key = relationKey(relation!);
      if (created.constraints.delete(`${key}.${node.subname}`)) created.constraints.add(`${key}.${newName}`);
      return {
        kind: "RENAME CONSTRAINT",
        sql: `ALTER TABLE ${relationName(relation!)} RENAME CONSTRAINT ${quoteIdent(newName)} TO ${quoteIdent(node.subname as string)};`,
      };
    }
    case "OBJECT_TYPE":
    case "OBJECT_DOMAIN": {
      const parts = names(listItems(node.object as Node));
      const renamed = [...parts.slice(0, -1), newName];
      if (created.types.delete(nameKey(parts))) created.types.add(nameKey(renamed));
      const what = renameType === "OBJECT_TYPE" ? "TYPE" : "DOMAIN";
      return { kind: `RENAME ${what}`, sql: `ALTER ${what} ${quoteName(renamed)} RENAME TO ${quoteIdent(parts.at(-1) ?? "")};` };
    }
    case "OBJECT_SCHEMA":
      return { kind: "RENAME SCHEMA", sql: `ALTER SCHEMA ${quoteIdent(newName)} RENAME TO ${quoteIdent(node.subname as string)};` };
    default: {
      const what = renameType.replace(/^OBJECT_/, "");
      return { kind: `RENAME ${what}`, irreversible: `Polymigrate does not know how to rename a ${what.toLowerCase()} back; write it here` };
    }
  }
}

function invertData(kind: string, node: Node, created: CreatedObjects): Inverse {
  const verb = { InsertStmt: "INSERT", UpdateStmt: "UPDATE", DeleteStmt: "DELETE", MergeStmt: "MERGE", TruncateStmt: "TRUNCATE" }[kind] ?? kind;
  const relations: Node[] = kind === "TruncateStmt"
    ? ((node.relations as Node[]) ?? []).map((item) => item.RangeVar as Node)
    : [node.relation as Node];
  // Rows of a table the up creates disappear with the table.
  if (relations.every((relation) => relation && isTableCovered(relation, created))) return { kind: verb };
  const what = kind === "InsertStmt"
    ? "the inserted rows cannot be told apart from the text (their keys may come from defaults or ON CONFLICT may have updated rows); write the DELETE here"
    : `the rows as they were before ${verb} cannot be restored by SQL; ${SNAPSHOT_HINT}`;
  return { kind: verb, irreversible: what };
}

function invertStatement(statement: SqlStatement, created: CreatedObjects): Inverse[] {
  const kind = statement.kind;
  const node = statement.node as Node | undefined;
  if (!kind || !node) return [{ kind: "unparsed", irreversible: "PostgreSQL's parser cannot read the statement" }];
  const creation = invertCreate(kind, node, created);
  if (creation) return creation;
  switch (kind) {
    case "AlterTableStmt": {
      const relation = node.relation as Node;
      if (node.objtype !== "OBJECT_TABLE") {
        const what = RELATION_KINDS[node.objtype as string] ?? String(node.objtype).replace(/^OBJECT_/, "");
        return [{ kind: `ALTER ${what}`, irreversible: `Polymigrate does not know how to undo ALTER ${what}; write its inverse here` }];
      }
      const commands = ((node.cmds as Node[]) ?? []).map((command) => command.AlterTableCmd as Node);
      return commands.map((command) => {
        const inverse = invertAlterTableCommand(relation, command, created);
        return commands.length > 1 ? { ...inverse, undoes: describeAlterTableCommand(relation, command, inverse.kind) } : inverse;
      });
    }
    case "RenameStmt":
      return [invertRename(node, created)];
    case "AlterEnumStmt": {
      const typeName = names(node.typeName);
      if (node.oldVal !== undefined) {
        return [{
          kind: "ALTER TYPE RENAME VALUE",
          sql: `ALTER TYPE ${quoteName(typeName)} RENAME VALUE ${quoteLiteral(node.newVal as string)} TO ${quoteLiteral(node.oldVal as string)};`,
        }];
      }
      return created.types.has(nameKey(typeName))
        ? [{ kind: "ALTER TYPE ADD VALUE" }]
        : [{ kind: "ALTER TYPE ADD VALUE", irreversible: `PostgreSQL cannot remove the value '${node.newVal}' from an enum; recreate the type without it, or ${SNAPSHOT_HINT}` }];
    }
    case "DropStmt": {
      const what = String(node.removeType ?? "OBJECT").replace(/^OBJECT_/, "").replace(/_/g, " ");
      const concurrently = node.concurrent ? " CONCURRENTLY" : "";
      const dropped = droppedNames(node);
      const reason = what === "TABLE" || what === "SCHEMA"
        ? `the dropped ${what.toLowerCase()} ${dropped} and its data cannot be restored by SQL; ${SNAPSHOT_HINT}`
        : `the definition of the dropped ${what.toLowerCase()} ${dropped} is not in the migration; write it here, or ${SNAPSHOT_HINT}`;
      return [{ kind: `DROP ${what}${concurrently}`, irreversible: reason }];
    }
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
    case "TruncateStmt":
      return [invertData(kind, node, created)];
    case "GrantStmt":
      return [invertGrant(node)];
    case "AlterObjectSchemaStmt": {
      const relationKind = RELATION_KINDS[node.objectType as string];
      const relation = node.relation as Node | undefined;
      if (!relationKind || !relation) {
        return [{ kind: "ALTER SET SCHEMA", irreversible: "Polymigrate does not know how to move this kind of object back; write it here" }];
      }
      if (!relation.schemaname) {
        return [{ kind: `ALTER ${relationKind} SET SCHEMA`, irreversible: `the schema "${relation.relname}" was in is not written in the up; write the move back here` }];
      }
      return [{
        kind: `ALTER ${relationKind} SET SCHEMA`,
        sql: `ALTER ${relationKind} ${quoteName([node.newschema as string, relation.relname as string])} SET SCHEMA ${quoteIdent(relation.schemaname as string)};`,
      }];
    }
    case "CreatePolicyStmt":
      return [{
        kind: "CREATE POLICY",
        sql: `DROP POLICY ${quoteIdent(node.policy_name as string)} ON ${relationName(node.table as Node)};`,
      }];
    case "CommentStmt": {
      const parts = names(listItems(node.object as Node));
      const isOnCreated = node.objtype === "OBJECT_TABLE"
        ? created.tables.has(nameKey(parts))
        : node.objtype === "OBJECT_COLUMN" && parts.length >= 2
          ? created.tables.has(nameKey(parts.slice(0, -1))) || created.columns.has(`${nameKey(parts.slice(0, -1))}.${parts.at(-1)}`)
          : node.objtype === "OBJECT_TYPE" && created.types.has(nameKey(parts));
      return isOnCreated
        ? [{ kind: "COMMENT ON" }]
        : [{ kind: "COMMENT ON", irreversible: "the previous comment is not in the migration; write it here (COMMENT ON ... IS NULL if there was none)" }];
    }
    case "VariableSetStmt":
      // A search_path set by the up changes what its unqualified names mean; the down runs without it.
      return [{
        kind: "SET",
        ...(String(node.name).toLowerCase() === "search_path"
          ? { note: "the up sets search_path, and the down's names are written as the up wrote them: qualify them, or set the same search_path at the top of this file" }
          : {}),
      }];
    case "TransactionStmt":
      return [{ kind: "transaction control" }];
    default: {
      const what = statementLabel(kind);
      return [{ kind: what, irreversible: `Polymigrate does not know how to undo ${what}; write its inverse here` }];
    }
  }
}

const STATEMENT_LABELS: Record<string, string> = {
  AlterSeqStmt: "ALTER SEQUENCE",
  GrantStmt: "GRANT",
  GrantRoleStmt: "GRANT ROLE",
  DoStmt: "DO",
  SelectStmt: "SELECT",
  CallStmt: "CALL",
  CreatePolicyStmt: "CREATE POLICY",
  CreateRoleStmt: "CREATE ROLE",
  AlterFunctionStmt: "ALTER FUNCTION",
  AlterOwnerStmt: "ALTER OWNER",
  AlterObjectSchemaStmt: "ALTER SET SCHEMA",
  AlterDomainStmt: "ALTER DOMAIN",
  AlterDefaultPrivilegesStmt: "ALTER DEFAULT PRIVILEGES",
  RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW",
};

// A statement's kind for people: `AlterSeqStmt` → `ALTER SEQUENCE`, else the node's words in capitals.
function statementLabel(kind: string): string {
  return STATEMENT_LABELS[kind] ?? kind.replace(/Stmt$/, "").replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

const GRANT_TARGETS: Record<string, string> = {
  OBJECT_TABLE: "TABLE",
  OBJECT_SEQUENCE: "SEQUENCE",
  OBJECT_SCHEMA: "SCHEMA",
  OBJECT_FUNCTION: "FUNCTION",
  OBJECT_PROCEDURE: "PROCEDURE",
  OBJECT_ROUTINE: "ROUTINE",
};

const ROLE_KEYWORDS: Record<string, string> = {
  ROLESPEC_PUBLIC: "PUBLIC",
  ROLESPEC_CURRENT_USER: "CURRENT_USER",
  ROLESPEC_SESSION_USER: "SESSION_USER",
  ROLESPEC_CURRENT_ROLE: "CURRENT_ROLE",
};

// GRANT ↔ REVOKE on tables, sequences, schemas and routines; the privileges are assumed absent (GRANT) or present
// (REVOKE) before the up, which the text cannot say.
function invertGrant(node: Node): Inverse {
  const isGrant = node.is_grant === true;
  const kind = isGrant ? "GRANT" : "REVOKE";
  const target = GRANT_TARGETS[node.objtype as string];
  if (!target || (node.targtype !== "ACL_TARGET_OBJECT" && node.targtype !== "ACL_TARGET_ALL_IN_SCHEMA")) {
    return { kind, irreversible: `Polymigrate does not know how to undo ${kind} on this kind of object; write its inverse here` };
  }
  const privileges = ((node.privileges as Node[] | undefined) ?? []).map((item) => {
    const privilege = item.AccessPriv as Node;
    const columns = names(privilege.cols);
    return `${String(privilege.priv_name).toUpperCase()}${columns.length ? ` (${columns.map(quoteIdent).join(", ")})` : ""}`;
  });
  const objects = ((node.objects as Node[] | undefined) ?? []).map((object) => {
    if (object.RangeVar) return relationName(object.RangeVar as Node);
    if (object.String) return quoteIdent(str(object));
    const routine = object.ObjectWithArgs as Node;
    const args = routine.args_unspecified ? "" : `(${((routine.objargs as Node[] | undefined) ?? []).map((arg) => typeText(arg.TypeName as Node)).join(", ")})`;
    return `${quoteName(names(routine.objname))}${args}`;
  });
  const grantees = ((node.grantees as Node[] | undefined) ?? []).map((grantee) => {
    const role = grantee.RoleSpec as Node;
    return ROLE_KEYWORDS[role.roletype as string] ?? quoteIdent(role.rolename as string);
  });
  const on = node.targtype === "ACL_TARGET_ALL_IN_SCHEMA" ? `ALL ${target}S IN SCHEMA` : target;
  const what = `${privileges.length ? privileges.join(", ") : "ALL"} ON ${on} ${objects.join(", ")}`;
  const optionOnly = !isGrant && node.grant_option === true;
  return isGrant
    ? { kind, sql: `REVOKE ${what} FROM ${grantees.join(", ")};`, note: "assumes the grantees did not hold these privileges before" }
    : {
        kind,
        sql: `GRANT ${what} TO ${grantees.join(", ")}${optionOnly ? " WITH GRANT OPTION" : ""};`,
        note: `assumes the grantees held exactly these privileges before${optionOnly ? " (with their grant option)" : ""}`,
      };
}

// The names a DROP lists, quoted for a message: `"users", "posts"`.
function droppedNames(node: Node): string {
  const nameOf = (object: Node): string => {
    if (object.List) return names(listItems(object)).join(".");
    if (object.String) return str(object);
    if (object.ObjectWithArgs) return names(object.ObjectWithArgs.objname).join(".");
    if (object.TypeName) return names(object.TypeName.names).join(".");
    return "?";
  };
  return ((node.objects as Node[] | undefined) ?? []).map((object) => `"${nameOf(object)}"`).join(", ");
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function renderStep(step: GeneratedDownStep, upText: string): string {
  const header = `-- Undoes line ${step.line}: ${upText}`;
  if (!step.reversible) return `${header}\n${step.sql}`;
  const note = step.reason ? `\n-- REVIEW: ${step.reason}` : "";
  return `${header}${note}\n${step.sql}`;
}

/**
 * Drafts the down of an up migration from its SQL, read with PostgreSQL's own parser: each statement's inverse, in
 * reverse order. What SQL cannot undo (dropped data, an old type or default the text does not hold, enum values) is
 * written as a commented `-- IRREVERSIBLE:` step and marks the whole down irreversible. The draft must be reviewed.
 *
 * @example
 * const down = await generateDown("CREATE TABLE users (id int PRIMARY KEY);");
 * down.sql; // ... DROP TABLE "users";
 */
export async function generateDown(upSql: string, options: GenerateDownOptions = {}): Promise<GeneratedDown> {
  await loadSqlParser();
  const split = splitStatements(upSql, options.serverVersionNum === undefined ? {} : { serverVersionNum: options.serverVersionNum });
  const blocks: Array<{ step: GeneratedDownStep; upText: string }> = [];
  if (split.parseError) {
    blocks.push({
      upText: "the whole file",
      step: {
        line: split.parseError.line,
        kind: "unparsed",
        reversible: false,
        reason: `PostgreSQL's parser cannot read the up: ${split.parseError.message}`,
        sql: `-- IRREVERSIBLE: PostgreSQL's parser cannot read the up (line ${split.parseError.line}: ${oneLine(split.parseError.message)}); write the down by hand`,
      },
    });
  } else {
    const created: CreatedObjects = { tables: new Set(), columns: new Set(), types: new Set(), constraints: new Set() };
    for (const statement of split.statements) {
      const upText = describe(statement);
      for (const found of invertStatement(statement, created)) {
        // Names and values from the up end up in comments: a line break inside one must not start a statement.
        const inverse: Inverse = {
          ...found,
          ...(found.irreversible !== undefined ? { irreversible: oneLine(found.irreversible) } : {}),
          ...(found.note !== undefined ? { note: oneLine(found.note) } : {}),
          ...(found.undoes !== undefined ? { undoes: oneLine(found.undoes) } : {}),
        };
        const step: GeneratedDownStep = inverse.irreversible !== undefined
          ? {
              line: statement.line,
              kind: inverse.kind,
              reversible: false,
              reason: inverse.irreversible,
              sql: `-- IRREVERSIBLE: ${inverse.kind}: ${inverse.irreversible}`,
            }
          : {
              line: statement.line,
              kind: inverse.kind,
              reversible: true,
              sql: inverse.sql ?? `-- nothing to undo: ${inverse.kind} ${nothingReason(inverse.kind)}`,
              ...(inverse.note ? { reason: inverse.note } : {}),
            };
        blocks.push({ step, upText: inverse.undoes ?? upText });
      }
    }
  }
  blocks.reverse();
  const isIrreversible = blocks.some(({ step }) => !step.reversible);
  const header = [
    `-- Down of ${options.source ? `"${options.source}"` : "the up migration"}, drafted by Polymigrate from the up's SQL.`,
    "-- Review it before relying on it: the statements run in the reverse order of the up.",
    ...(isIrreversible
      ? [
          IRREVERSIBLE_DIRECTIVE,
          "-- Part of this migration cannot be undone by SQL (the IRREVERSIBLE steps below). `migrate down` refuses it",
          "-- unless a snapshot covers it; write those steps by hand and remove the directive above if you can.",
        ]
      : []),
  ].join("\n");
  const body = blocks.map(({ step, upText }) => renderStep(step, upText)).join("\n\n");
  return { sql: `${header}\n\n${body}${body ? "\n" : ""}`, isIrreversible, steps: blocks.map(({ step }) => step) };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, " ");
}

function nothingReason(kind: string): string {
  if (kind === "SET" || kind === "transaction control") return "changes no schema";
  if (kind === "CREATE TEMPORARY TABLE") return "lasts only for the session";
  return "applies to an object this migration creates, which the down drops";
}

/** Whether a down file says it cannot undo its migration (it carries `-- polymigrate:irreversible`). */
export function isIrreversibleDown(downSql: string): boolean {
  return /^\s*--\s*polymigrate:irreversible\b/im.test(downSql);
}

/**
 * Drafts the down of an up file: reads it and returns the generated down, with the file's name in the header.
 *
 * @example
 * writeFileSync("0002_add_email.down.sql", (await draftDownFile("0002_add_email.sql")).sql);
 */
export async function draftDownFile(upFile: string, options: Omit<GenerateDownOptions, "source"> = {}): Promise<GeneratedDown> {
  // Prisma's files are all called migration.sql: its folder names the migration.
  const parts = upFile.split(/[\\/]/);
  const name = parts.at(-1) === "migration.sql" && parts.length > 1 ? parts.slice(-2).join("/") : (parts.at(-1) ?? upFile);
  return generateDown(readFileSync(upFile, "utf8"), { ...options, source: name });
}
