import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema.js";

/**
 * The application's database: the pooled URL (DATABASE_URL), as a serverless app would use it. Migrations never go
 * through it: they use DIRECT_URL (see drizzle.config.ts).
 */
export function connectApp() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("Set DATABASE_URL to the application's (pooled) database URL.");
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return { db: drizzle(pool, { schema }), close: () => pool.end() };
}
