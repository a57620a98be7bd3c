import type { Queryable } from "../db/queryable.js";
import { splitStatements } from "../sql/statements.js";

/** Whether one statement's effect is in the live schema. */
export interface StatementEvidence {
  line: number;
  /** What the statement does to the schema, e.g. `creates table "public.Post"`. */
  effect: string;
  /** Whether the live schema shows that effect. */
  hasLanded: boolean;
  /** Whether the effect is a creation (a drop of something that never existed proves nothing about a pending run). */
  isCreation: boolean;
}

/** What the live schema says about a migration's statements. */
export interface LandedVerdict {
  /** `all`: every checked effect is there; `none`: none is; `partial`: some are; `unknown`: nothing checkable. */
  verdict: "all" | "none" | "partial" | "unknown";
  evidence: StatementEvidence[];
  /** Statements whose effect cannot be read from the catalog (data changes, functions, ...): how many. */
  unchecked: number;
}

type Node = Record<string, unknown>;

function isObject(value: unknown): value is Node {
  return typeof value === "object" && value !== null;
}

interface Relation {
  schema?: string;
  name: string;
}

function relationOf(rangeVar: unknown): Relation | undefined {
  if (!isObject(rangeVar) || typeof rangeVar.relname !== "string") return undefined;
  return { name: rangeVar.relname, ...(typeof rangeVar.schemaname === "string" ? { schema: rangeVar.schemaname } : {}) };
}

function nameList(list: unknown): string[] {
  const items = Array.isArray(list) ? list : isObject(list) && isObject(list.List) && Array.isArray(list.List.items) ? list.List.items : [];
  return items.map((item) => (isObject(item) && isObject(item.String) ? item.String.sval : undefined)).filter((part): part is string => typeof part === "string");
}

function display(relation: Relation): string {
  return relation.schema ? `${relation.schema}.${relation.name}` : relation.name;
}

// to_regclass of a relation, quoted the way the parser folded it (no schema: the search path decides, as it did for the migration).
const REGCLASS = `to_regclass(CASE WHEN $1::text IS NULL THEN quote_ident($2::text) ELSE quote_ident($1::text) || '.' || quote_ident($2::text) END)`;

interface Check {
  line: number;
  effect: string;
  isCreation: boolean;
  expectPresent: boolean;
  sql: string;
  params: unknown[];
}

function checksOf(kind: string | undefined, node: Node | undefined, line: number): Check[] | undefined {
  if (!node || !kind) return undefined;
  const relationCheck = (relation: Relation | undefined, what: string, isCreation: boolean, expectPresent: boolean): Check[] | undefined =>
    relation
      ? [{ line, effect: `${isCreation ? "creates" : "drops"} ${what} "${display(relation)}"`, isCreation, expectPresent, sql: `SELECT ${REGCLASS} IS NOT NULL AS present`, params: [relation.schema ?? null, relation.name] }]
      : undefined;
  switch (kind) {
    case "CreateStmt":
      return relationCheck(relationOf(node.relation), "table", true, true);
    case "ViewStmt":
      return relationCheck(relationOf(node.view), "view", true, true);
    case "CreateSeqStmt":
      return relationCheck(relationOf(node.sequence), "sequence", true, true);
    case "IndexStmt": {
      const table = relationOf(node.relation);
      if (typeof node.idxname !== "string" || !table) return undefined;
      return relationCheck({ ...(table.schema ? { schema: table.schema } : {}), name: node.idxname }, "index", true, true);
    }
    case "CreateEnumStmt": {
      const parts = nameList(node.typeName);
      if (parts.length === 0) return undefined;
      const relation: Relation = { name: parts.at(-1)!, ...(parts.length > 1 ? { schema: parts.at(-2)! } : {}) };
      return [
        {
          line,
          effect: `creates type "${display(relation)}"`,
          isCreation: true,
          expectPresent: true,
          sql: `SELECT to_regtype(CASE WHEN $1::text IS NULL THEN quote_ident($2::text) ELSE quote_ident($1::text) || '.' || quote_ident($2::text) END) IS NOT NULL AS present`,
          params: [relation.schema ?? null, relation.name],
        },
      ];
    }
    case "DropStmt": {
      const what = ({ OBJECT_TABLE: "table", OBJECT_INDEX: "index", OBJECT_VIEW: "view", OBJECT_SEQUENCE: "sequence" } as Record<string, string>)[String(node.removeType)];
      if (!what || !Array.isArray(node.objects)) return undefined;
      return node.objects.flatMap((object) => {
        const parts = nameList(object);
        if (parts.length === 0) return [];
        return relationCheck({ name: parts.at(-1)!, ...(parts.length > 1 ? { schema: parts.at(-2)! } : {}) }, what, false, false) ?? [];
      });
    }
    case "RenameStmt": {
      const table = relationOf(node.relation);
      if (!table || typeof node.newname !== "string") return undefined;
      if (node.renameType === "OBJECT_TABLE") return relationCheck({ ...(table.schema ? { schema: table.schema } : {}), name: node.newname }, "table (renamed)", true, true);
      if (node.renameType === "OBJECT_COLUMN" && typeof node.subname === "string") {
        return [columnCheck(line, table, node.newname, `renames column "${node.subname}" of "${display(table)}" to "${node.newname}"`, true, true)];
      }
      return undefined;
    }
    case "AlterTableStmt": {
      const table = relationOf(node.relation);
      if (!table || !Array.isArray(node.cmds)) return undefined;
      const checks: Check[] = [];
      for (const entry of node.cmds) {
        const command = isObject(entry) && isObject(entry.AlterTableCmd) ? entry.AlterTableCmd : undefined;
        if (!command) continue;
        const definition = isObject(command.def) ? command.def : undefined;
        if (command.subtype === "AT_AddColumn") {
          const column = isObject(definition?.ColumnDef) ? definition.ColumnDef.colname : undefined;
          if (typeof column === "string") checks.push(columnCheck(line, table, column, `adds column "${column}" to "${display(table)}"`, true, true));
        } else if (command.subtype === "AT_DropColumn" && typeof command.name === "string") {
          checks.push(columnCheck(line, table, command.name, `drops column "${command.name}" of "${display(table)}"`, false, false));
        } else if (command.subtype === "AT_AddConstraint" && isObject(definition?.Constraint) && typeof definition.Constraint.conname === "string") {
          const name = definition.Constraint.conname;
          checks.push({
            line,
            effect: `adds constraint "${name}" to "${display(table)}"`,
            isCreation: true,
            expectPresent: true,
            sql: `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ${REGCLASS} AND conname = $3) AS present`,
            params: [table.schema ?? null, table.name, name],
          });
        } else if (command.subtype === "AT_DropConstraint" && typeof command.name === "string") {
          checks.push({
            line,
            effect: `drops constraint "${command.name}" of "${display(table)}"`,
            isCreation: false,
            expectPresent: false,
            sql: `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ${REGCLASS} AND conname = $3) AS present`,
            params: [table.schema ?? null, table.name, command.name],
          });
        }
      }
      return checks.length > 0 ? checks : undefined;
    }
    default:
      return undefined;
  }
}

function columnCheck(line: number, table: Relation, column: string, effect: string, isCreation: boolean, expectPresent: boolean): Check {
  return {
    line,
    effect,
    isCreation,
    expectPresent,
    sql: `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ${REGCLASS} AND attname = $3 AND attnum > 0 AND NOT attisdropped) AS present`,
    params: [table.schema ?? null, table.name, column],
  };
}

/**
 * Reads the live schema for the effects of a migration's statements (tables, columns, indexes, constraints, types,
 * sequences and views it creates, renames or drops): whether all, none or some of them landed. The parser must be
 * loaded (`loadSqlParser()`).
 */
export async function findLandedStatements(db: Queryable, sql: string): Promise<LandedVerdict> {
  const { statements } = splitStatements(sql);
  const evidence: StatementEvidence[] = [];
  let unchecked = 0;
  for (const statement of statements) {
    const checks = checksOf(statement.kind, statement.node, statement.line);
    if (!checks) {
      unchecked++;
      continue;
    }
    for (const check of checks) {
      const result = await db.query<{ present: boolean }>(check.sql, check.params);
      const present = result.rows[0]?.present === true;
      evidence.push({ line: check.line, effect: check.effect, hasLanded: present === check.expectPresent, isCreation: check.isCreation });
    }
  }
  const landed = evidence.filter((item) => item.hasLanded).length;
  const verdict = evidence.length === 0 ? "unknown" : landed === evidence.length ? "all" : landed === 0 ? "none" : "partial";
  return { verdict, evidence, unchecked };
}
