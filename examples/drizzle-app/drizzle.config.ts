import { defineConfig } from "drizzle-kit";

// Migrations go over the direct URL (DIRECT_URL), never through the pooler: drizzle-kit and migrate both read this
// file, and migrate takes the URL from DIRECT_URL itself. The application queries through DATABASE_URL.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  dbCredentials: { url: process.env.DIRECT_URL! },
});
