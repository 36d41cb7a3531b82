// Vite for the dashboard: `npm run dev` (:5173, proxying the API to the server on :8081) and
// `npm run build:web` (into web/dist, which the server serves on :8081).
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** Where `npm run dev` sends /trpc and /api; TASKMASTER_API overrides (e.g. http://localhost:9000). */
const api = process.env["TASKMASTER_API"] ?? "http://localhost:8081";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  server: {
    port: 5173,
    strictPort: true,
    // Regular expressions, so that the dashboard's own modules (/trpc.ts, /trpc_client.ts) are not proxied.
    proxy: {
      "^/trpc/": { target: api, changeOrigin: true },
      "^/api/": { target: api, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    rolldownOptions: {
      // shared/ modules only declare things: one whose exports the dashboard does not use (the
      // configuration parser, with zod) is left out of the bundle.
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]shared[\\/][^\\/]+\.ts$/.test(id) },
    },
  },
});
