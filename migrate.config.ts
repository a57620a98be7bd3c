import { defineConfig } from "@polymigrate/cli";

// The examples as one company would run them: one config, one `migrate` across every stack, each project on its own
// database through its own direct-URL variable. `npm run demo` sets these variables; set them yourself to run
// `pnpm exec migrate status` from the repository root.
export default defineConfig({
  projects: [
    { name: "sql-app", stack: "sql", dir: "examples/sql-app/migrations", urlEnv: "SQL_APP_DIRECT_URL" },
    { name: "prisma-app", stack: "prisma", dir: "examples/prisma-app", urlEnv: "PRISMA_APP_DIRECT_URL" },
    { name: "drizzle-app", stack: "drizzle", dir: "examples/drizzle-app", urlEnv: "DRIZZLE_APP_DIRECT_URL" },
    { name: "alembic-app", stack: "alembic", dir: "examples/alembic-app", urlEnv: "ALEMBIC_APP_DIRECT_URL" },
  ],
});
