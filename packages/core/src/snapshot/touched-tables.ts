import type { Migration } from "../model/migration.js";
import { loadSqlParser, splitStatements } from "../sql/statements.js";

/** The relations a run's SQL touches, read with PostgreSQL's parser. */
export interface TouchedRelations {
  /** Relation names as written (`schema.name` or `name`), tables or indexes; resolved to tables against the database. */
  relations: string[];
  /** Whether a statement destroys or rewrites data (DROP TABLE/COLUMN, a type change, UPDATE, DELETE, TRUNCATE). */
  destroysData: boolean;
  /** Why the SQL cannot say which tables it touches (then the whole database must be saved); absent when it can. */
  cannotTell?: string;
}

type Node = Record<string, any>;

// Statements that create things or change no table's rows: what they add, the restore drops by catalog comparison.
const HARMLESS = new Set([
  "CreateStmt",
  "CreateSeqStmt",
  "AlterSeqStmt",
  "ViewStmt",
  "CreateEnumStmt",
  "AlterEnumStmt",
  "CompositeTypeStmt",
  "CreateDomainStmt",
  "CreateFunctionStmt",
  "CommentStmt",
  "CreateSchemaStmt",
  "VariableSetStmt",
  "TransactionStmt",
  "CreateTableAsStmt",
  "CreateExtensionStmt",
  "GrantStmt",
  "SelectStmt",
]);

const rangeName = (relation: Node | undefined): string | undefined =>
  relation?.relname ? (relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname) : undefined;

const listName = (object: Node): string | undefined => {
  const items = (object?.List?.items as Node[] | undefined) ?? [];
  const parts = items.map((item) => item?.String?.sval as string | undefined);
  return parts.length > 0 && parts.every(Boolean) ? parts.join(".") : undefined;
};

/**
 * Finds the relations the pending migrations touch: ALTER TABLE, DROP TABLE/INDEX, RENAME, CREATE INDEX, CREATE
 * TRIGGER, UPDATE, DELETE, TRUNCATE and INSERT targets. A migration without SQL (code), SQL the parser cannot read or
 * a statement of another kind makes `cannotTell` say why.
 */
export async function findTouchedRelations(migrations: Migration[]): Promise<TouchedRelations> {
  await loadSqlParser();
  const relations = new Set<string>();
  let destroysData = false;
  const add = (name: string | undefined) => {
    if (name) relations.add(name);
  };
  for (const migration of migrations) {
    if (migration.sql === undefined) return { relations: [], destroysData: true, cannotTell: `"${migration.id}" is code, not SQL` };
    const split = splitStatements(migration.sql);
    if (split.parseError) return { relations: [], destroysData: true, cannotTell: `PostgreSQL's parser cannot read "${migration.id}"` };
    for (const statement of split.statements) {
      const node = (statement.node ?? {}) as Node;
      switch (statement.kind) {
        case "AlterTableStmt": {
          add(rangeName(node.relation));
          const commands = ((node.cmds as Node[] | undefined) ?? []).map((command) => command?.AlterTableCmd?.subtype as string);
          if (commands.some((subtype) => subtype === "AT_DropColumn" || subtype === "AT_AlterColumnType")) destroysData = true;
          break;
        }
        case "DropStmt": {
          const type = node.removeType as string;
          if (type === "OBJECT_SCHEMA") return { relations: [], destroysData: true, cannotTell: `"${migration.id}" drops a schema` };
          if (type === "OBJECT_TABLE" || type === "OBJECT_INDEX") {
            for (const object of (node.objects as Node[] | undefined) ?? []) add(listName(object));
            if (type === "OBJECT_TABLE") destroysData = true;
          }
          break;
        }
        case "RenameStmt":
        case "IndexStmt":
        case "CreateTrigStmt":
        case "InsertStmt":
          add(rangeName(node.relation));
          break;
        case "UpdateStmt":
        case "DeleteStmt":
          add(rangeName(node.relation));
          destroysData = true;
          break;
        case "TruncateStmt":
          for (const relation of (node.relations as Node[] | undefined) ?? []) add(rangeName(relation?.RangeVar));
          destroysData = true;
          break;
        default:
          if (!statement.kind || !HARMLESS.has(statement.kind)) {
            return {
              relations: [],
              destroysData: true,
              cannotTell: `"${migration.id}" line ${statement.line} is a ${statement.kind ?? "statement"} the snapshot cannot place`,
            };
          }
      }
    }
  }
  return { relations: [...relations].sort(), destroysData };
}
