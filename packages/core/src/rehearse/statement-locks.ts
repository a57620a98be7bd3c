import type { SqlStatement } from "../sql/statements.js";

/** A table-level lock a statement takes, as PostgreSQL documents it for the statement's kind. */
export interface StatementLock {
  /** The statement's line in the migration's SQL. */
  line: number;
  /** The statement's kind in PostgreSQL's parse tree (`AlterTableStmt`, `IndexStmt`, ...). */
  statement: string;
  /** The relation locked, as the statement names it. */
  relation: string;
  /** PostgreSQL's lock mode (`ACCESS EXCLUSIVE`, `SHARE`, ...). */
  mode: string;
  /** Whether the relation is created by this same statement (nobody else can be waiting for it). */
  isNew?: boolean;
  /** `rehearse`: set when a sample of `pg_locks` during the run saw this lock held. */
  isObserved?: boolean;
}

type Node = Record<string, unknown>;

function isObject(value: unknown): value is Node {
  return typeof value === "object" && value !== null;
}

function nameOf(rangeVar: unknown): string | undefined {
  if (!isObject(rangeVar) || typeof rangeVar.relname !== "string") return undefined;
  return typeof rangeVar.schemaname === "string" ? `${rangeVar.schemaname}.${rangeVar.relname}` : rangeVar.relname;
}

function listName(list: unknown): string | undefined {
  const items = isObject(list) && isObject(list.List) && Array.isArray(list.List.items) ? list.List.items : [];
  const parts = items.map((item) => (isObject(item) && isObject(item.String) ? item.String.sval : undefined));
  return parts.length > 0 && parts.every((part) => typeof part === "string") ? parts.join(".") : undefined;
}

function alterCommands(node: Node): Node[] {
  const commands = Array.isArray(node.cmds) ? node.cmds : [];
  return commands.map((command) => (isObject(command) ? command.AlterTableCmd : undefined)).filter(isObject);
}

/**
 * The table-level locks a statement takes, from its kind and the relations its parse tree names, after PostgreSQL's
 * documentation ("Explicit Locking", and each command's page): `ALTER TABLE` takes ACCESS EXCLUSIVE except for the
 * subcommands documented lower (a foreign key: SHARE ROW EXCLUSIVE on both tables; VALIDATE CONSTRAINT: SHARE UPDATE
 * EXCLUSIVE), `CREATE INDEX` SHARE (CONCURRENTLY: SHARE UPDATE EXCLUSIVE), DML ROW EXCLUSIVE. Deterministic: the same
 * SQL always gives the same locks, whatever the timing of the run.
 */
export function locksOfStatement(statement: SqlStatement): StatementLock[] {
  const node = statement.node;
  const kind = statement.kind;
  if (!node || !kind) return [];
  const locks: StatementLock[] = [];
  const add = (relation: string | undefined, mode: string, isNew = false) => {
    if (relation) locks.push({ line: statement.line, statement: kind, relation, mode, ...(isNew ? { isNew } : {}) });
  };
  switch (kind) {
    case "CreateStmt": {
      add(nameOf(node.relation), "ACCESS EXCLUSIVE", true);
      // A foreign key in CREATE TABLE locks the referenced table too.
      for (const element of Array.isArray(node.tableElts) ? node.tableElts : []) {
        const constraints: unknown[] = [];
        if (isObject(element) && isObject(element.Constraint)) constraints.push(element.Constraint);
        if (isObject(element) && isObject(element.ColumnDef) && Array.isArray(element.ColumnDef.constraints)) {
          for (const c of element.ColumnDef.constraints) if (isObject(c) && isObject(c.Constraint)) constraints.push(c.Constraint);
        }
        for (const constraint of constraints) {
          if (isObject(constraint) && constraint.contype === "CONSTR_FOREIGN") add(nameOf(constraint.pktable), "SHARE ROW EXCLUSIVE");
        }
      }
      break;
    }
    case "AlterTableStmt": {
      const table = nameOf(node.relation);
      const commands = alterCommands(node);
      let mode = commands.length > 0 ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
      const rank = ["SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE", "ACCESS EXCLUSIVE"];
      for (const command of commands) {
        let commandMode = "ACCESS EXCLUSIVE";
        const constraint = isObject(command.def) && isObject(command.def.Constraint) ? command.def.Constraint : undefined;
        if (command.subtype === "AT_ValidateConstraint" || command.subtype === "AT_SetStatistics") commandMode = "SHARE UPDATE EXCLUSIVE";
        else if (command.subtype === "AT_AddConstraint" && constraint?.contype === "CONSTR_FOREIGN") {
          commandMode = "SHARE ROW EXCLUSIVE";
          add(nameOf(constraint.pktable), "SHARE ROW EXCLUSIVE");
        }
        if (rank.indexOf(commandMode) > rank.indexOf(mode)) mode = commandMode;
      }
      add(table, mode);
      break;
    }
    case "IndexStmt":
      add(nameOf(node.relation), node.concurrent ? "SHARE UPDATE EXCLUSIVE" : "SHARE");
      break;
    case "DropStmt": {
      const objects = Array.isArray(node.objects) ? node.objects : [];
      if (node.removeType === "OBJECT_TABLE" || node.removeType === "OBJECT_VIEW" || node.removeType === "OBJECT_MATVIEW" || node.removeType === "OBJECT_SEQUENCE") {
        for (const object of objects) add(listName(object), "ACCESS EXCLUSIVE");
      } else if (node.removeType === "OBJECT_INDEX") {
        for (const object of objects) add(listName(object), node.concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
      }
      break;
    }
    case "RenameStmt":
      add(nameOf(node.relation), node.renameType === "OBJECT_INDEX" ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
      break;
    case "TruncateStmt":
      for (const relation of Array.isArray(node.relations) ? node.relations : []) add(nameOf(isObject(relation) ? relation.RangeVar : undefined), "ACCESS EXCLUSIVE");
      break;
    case "CreateTrigStmt":
      add(nameOf(node.relation), "SHARE ROW EXCLUSIVE");
      break;
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
      add(nameOf(node.relation), "ROW EXCLUSIVE");
      break;
    case "LockStmt":
      for (const relation of Array.isArray(node.relations) ? node.relations : []) add(nameOf(isObject(relation) ? relation.RangeVar : undefined), "LOCK TABLE");
      break;
    default:
      break;
  }
  return locks;
}
