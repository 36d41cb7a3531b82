import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*_test.ts", "**/*_test.tsx"],
    exclude: ["node_modules/**", "web/dist/**", ".data/**"],
    globalSetup: ["prisma/vitest_global_setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
