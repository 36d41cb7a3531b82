// `npm run build`: compiles the coordinator, server and worker into .build/<role>/main.js (what
// `npm start`, the server's local workers and the Docker image run on plain node), each when missing
// or older than its sources; `--force` rebuilds all three. The dashboard is built by `npm run build:web`.
import { BUILD_DIR, buildEntry, type ProcessRole } from "../server/mod.ts";

const force = process.argv.includes("--force");
const roles: ProcessRole[] = ["coordinator", "server", "worker"];
try {
  for (const built of await Promise.all(roles.map((role) => buildEntry(`${role}/main.ts`, { force })))) {
    console.log(built.built ? `built ${built.entry} into ${BUILD_DIR}/ (${built.reason})` : `${built.entry}: ${BUILD_DIR}/ is current`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
