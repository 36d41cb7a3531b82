// `npm run studio`: Prisma Studio on the database `npm start` uses (DATABASE_URL, else POSTGRES_*,
// else the embedded server, started for as long as Studio runs). Ctrl-C stops both.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { portSetting } from "../shared/mod.ts";
import { cliSettings, parseSettingsOrExit, runWithDatabase } from "./_cli.ts";
import { repoRoot } from "./_database.ts";
import { assertPortsFree } from "./_ports.ts";
import { whenParentExits } from "./_signals.ts";

const settings = parseSettingsOrExit({ ...cliSettings, STUDIO_PORT: portSetting(5555) });

await runWithDatabase("studio", settings, async ({ database, log, stopRequested }) => {
  await assertPortsFree([{ port: settings.STUDIO_PORT, setting: "STUDIO_PORT", env: process.env }]);
  const studio = spawn(
    join(repoRoot, "node_modules", ".bin", "prisma"),
    ["studio", "--config", "prisma/prisma.config.ts", "--port", String(settings.STUDIO_PORT), "--browser", "none"],
    {
      cwd: repoRoot,
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        // The CLI looks for its native schema engine first (it cannot be downloaded here); Studio
        // never runs it, so any existing file satisfies the check.
        PRISMA_SCHEMA_ENGINE_BINARY: process.env["PRISMA_SCHEMA_ENGINE_BINARY"] ?? join(repoRoot, "package.json"),
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
      },
    },
  );
  const exited = new Promise<string>((resolve) =>
    studio.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`)),
  );
  console.log(`Prisma Studio on http://localhost:${settings.STUDIO_PORT} for ${database.displayUrl} (Ctrl-C stops it)`);
  let parentGone!: () => void;
  whenParentExits(() => parentGone());
  const stop = await Promise.race([
    exited.then((how) => ({ how })),
    stopRequested.then((signal) => ({ signal })),
    new Promise<{ signal: string }>((resolve) => (parentGone = () => resolve({ signal: "parent exited" }))),
  ]);
  if ("how" in stop) throw new Error(`Prisma Studio exited (${stop.how})`);
  log.info(`stopping Prisma Studio (${stop.signal})`);
  if (studio.exitCode === null && studio.signalCode === null) studio.kill("SIGTERM");
  await exited;
});
