// Prisma CLI configuration (generate, studio). The URL comes from the environment: `npm run studio`
// resolves it the way every process does (DATABASE_URL, POSTGRES_*, or the embedded server).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "./schema.prisma",
  datasource: { url: process.env["DATABASE_URL"] ?? "postgresql://localhost/taskmaster" },
});
