import { defineConfig } from "drizzle-kit";

// The PostgreSQL audit schema (storage.postgres, SPEC §8): its own migrations beside SQLite's.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/store/postgres/schema.ts",
  out: "./src/store/postgres/pg-migrations",
});
