// The dashboard in a real headless Chromium against the real stack (PostgreSQL, coordinator, server
// with its local worker scaler running real worker processes), walking the seed's Demo Guide: create 50
// tasks and watch them complete, scale to 1 then 5 workers, kill a busy worker while its task still
// completes elsewhere, open that task's page and read its timeline, and survive a server restart.
// Screenshots in both themes go to test-results/dashboard/ (git-ignored).
//
// Runs whenever Chromium is installed (CHROMIUM_PATH, default /usr/bin/chromium: Debian's `chromium`
// package). Without it the suite is skipped, except in CI (CI=true or 1), where that is a failure.
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type ConsoleMessage, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort, type TestDb, useTestDatabase } from "../prisma/testing.ts";
import { eventually, killAll, repoRoot, type RunningProcess, startProcess } from "./_process.ts";

const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
/** CI=true (GitHub Actions, GitLab, ...) or CI=1. */
const IN_CI = ["true", "1"].includes((process.env["CI"] ?? "").toLowerCase());
const SCREENSHOTS = join(repoRoot, "test-results", "dashboard");
const WEB = join(repoRoot, "web");

/** Generous waits: the machine runs Chromium, PostgreSQL and up to seven Node processes on two cores. */
const LONG = 90_000;

/** The newest modification time under `dir` (skipping `dist` and tests), in ms. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules" || /_test\.tsx?$/.test(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds web/dist with Vite when it is missing or older than web/ or shared/. */
async function ensureWebBuild(): Promise<void> {
  const index = join(WEB, "dist", "index.html");
  const sources = Math.max(newestSource(WEB), newestSource(join(repoRoot, "shared")));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const { build } = await import("vite");
  // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
  const nodeEnv = process.env["NODE_ENV"];
  process.env["NODE_ENV"] = "production";
  try {
    await build({ configFile: join(WEB, "vite.config.ts"), mode: "production", logLevel: "warn" });
  } finally {
    process.env["NODE_ENV"] = nodeEnv;
  }
}

const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

if (!HAVE_CHROMIUM && IN_CI) {
  describe("dashboard in a real browser", () => {
    test("Chromium is installed (CI must run the browser tests, not skip them)", () => {
      throw new Error(
        `No Chromium at ${CHROMIUM_PATH}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH; ` +
          "in CI a skipped browser test is a failure.",
      );
    });
  });
} else {
  describe.skipIf(!HAVE_CHROMIUM)(`dashboard in a real browser (${CHROMIUM_PATH})`, () => {
    let db: TestDb;
    let coordinator: RunningProcess;
    let server: RunningProcess;
    let serverEnv: Record<string, string>;
    let baseUrl: string;
    let browser: Browser;
    let page: Page;
    /** Console errors and uncaught exceptions, with whether they happened while the server was down. */
    const consoleErrors: { text: string; serverDown: boolean }[] = [];
    let serverDown = false;

    beforeAll(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const [, database, port] = await Promise.all([ensureWebBuild(), useTestDatabase(), freePort()]);
      db = database;
      // Heartbeats every 500 ms; a worker is presumed dead after 10 misses (5 s), not 3, so that a busy
      // two-core machine does not make a live worker look lost (killed workers are marked offline at
      // once by the server's scaler, whatever this says).
      const timing = { HEARTBEAT_INTERVAL_MS: "500", HEARTBEAT_MISSES: "10" };
      coordinator = await startProcess("coordinator", {
        DATABASE_URL: db.url,
        COORDINATOR_PORT: "0",
        LEASE_MS: "5000",
        ...timing,
      });
      serverEnv = {
        DATABASE_URL: db.url,
        SCHEDULER_PORT: String(port),
        WORKERS: "3",
        WORKER_SCALER: "local",
        COORDINATOR: `127.0.0.1:${coordinator.ready["port"]}`,
        WORKER_ADDRESS: "127.0.0.1",
        TASK_PROCESS_TIME: "1000",
        WORKER_STOP_TIMEOUT_MS: "15000",
        ...timing,
      };
      server = await startProcess("server", serverEnv, { readyTimeoutMs: 60_000 });
      baseUrl = `http://127.0.0.1:${port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs });
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: "light" });
      page = await context.newPage();
      page.setDefaultTimeout(LONG);
      page.on("console", (msg: ConsoleMessage) => {
        if (msg.type() === "error") consoleErrors.push({ text: msg.text(), serverDown });
      });
      page.on("pageerror", (error) => consoleErrors.push({ text: `uncaught: ${error.message}`, serverDown }));
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      // SIGTERM first: the server stops the worker processes it started.
      await server?.stop("SIGTERM");
      await killAll();
      await db?.close();
    }, 90_000);

    const region = (name: string) => page.getByRole("region", { name, exact: true });
    const workerCards = () => region("Workers").locator("li[data-worker]:not([data-starting])");
    const stat = (label: string) => page.locator(`[data-stat="${label}"]`);
    const rows = () => page.locator("tr[data-task]");
    const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

    /** Waits for the Completed card to read `count`; on failure, says which tasks did not complete and why. */
    async function completedOnScreen(count: number): Promise<void> {
      try {
        await expect.poll(() => stat("Completed").textContent(), { timeout: LONG }).toBe(String(count));
      } catch (error) {
        const stuck = await db.prisma.task.findMany({
          where: { status: { not: "COMPLETED" } },
          select: { id: true, status: true, attempt: true, workerId: true, attempts: { select: { attempt: true, workerId: true, outcome: true, error: true } } },
        });
        const text = JSON.stringify(stuck, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 1);
        throw new Error(`${(error as Error).message}\nTasks not completed in the database:\n${text}`);
      }
    }

    async function createBatch(count: string): Promise<void> {
      const form = page.getByRole("form", { name: "Create a batch of tasks" });
      await form.getByLabel("Count (1-1,000)").fill(count);
      await form.getByRole("button", { name: "Create tasks" }).click();
    }

    test("opens live, with the stats and the three workers the server started", async () => {
      await page.goto(baseUrl);
      await expect.poll(() => page.title()).toBe("TaskMaster");
      await page.locator('[data-connection="live"]').waitFor();
      await expect.poll(() => workerCards().count(), { timeout: LONG }).toBe(3);
      await expect.poll(() => stat("Workers online").textContent(), { timeout: LONG }).toBe("3");
      await expect.poll(() => stat("Total").textContent()).toBe("0");
      expect(await page.getByRole("alert").filter({ hasText: "No worker is online" }).count()).toBe(0);
    }, 120_000);

    test("the batch form says what is wrong before sending, then 50 tasks run and all complete on screen", async () => {
      await createBatch("0");
      await page.getByText("Count must be a whole number from 1 to 1000; got 0.").waitFor();
      await createBatch("1001");
      await page.getByText("Count must be a whole number from 1 to 1000; got 1001.").waitFor();
      expect(await stat("Total").textContent()).toBe("0");

      await createBatch("50");
      await page.getByText("Scheduled 50 tasks.").waitFor();
      await expect.poll(() => rows().count(), { timeout: LONG }).toBe(50);
      // Progress is live: rows go RUNNING (with a worker and a progress bar) before they complete.
      await page.locator('tr[data-status="RUNNING"]').first().waitFor();
      await expect.poll(() => page.locator('tr[data-status="COMPLETED"]').count(), { timeout: LONG }).toBe(50);
      await completedOnScreen(50);
      expect(await stat("Pending").textContent()).toBe("0");
      // The activity log shows the lifecycle, newest first.
      const log = region("Activity log");
      await log.getByText(/completed on Worker-\d+/).first().waitFor();
      await log.getByText("Scheduled 50 tasks", { exact: true }).waitFor();
      // Each worker took a share (round-robin) and counts it.
      const completedByWorkers = async () =>
        (await workerCards().locator("[data-completed]").allTextContents()).reduce((sum, n) => sum + Number(n), 0);
      await expect.poll(completedByWorkers, { timeout: LONG }).toBe(50);
    }, 150_000);

    test("screenshots of the dashboard in both themes (and on a phone)", async () => {
      await page.locator('[data-connection="live"]').waitFor();
      await shoot("dashboard-light");
      await page.getByRole("button", { name: "Switch to dark theme" }).click();
      await expect.poll(() => page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(true);
      await shoot("dashboard-dark");
      await page.setViewportSize({ width: 390, height: 844 });
      await shoot("dashboard-phone-dark");
      await page.setViewportSize({ width: 1440, height: 1000 });
      // The choice survives a reload.
      await page.reload();
      await page.locator('[data-connection="live"]').waitFor();
      expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(true);
      await page.getByRole("button", { name: "Switch to light theme" }).click();
    }, 90_000);

    test("scaling to 1 and then to 5 workers: the worker panel follows", async () => {
      const controls = region("Worker controls");
      await controls.getByRole("button", { name: "1 worker", exact: true }).click();
      await controls.getByText("Scaled to 1 worker").waitFor();
      await expect.poll(() => workerCards().count(), { timeout: LONG }).toBe(1);
      await expect.poll(() => stat("Workers online").textContent(), { timeout: LONG }).toBe("1");
      expect(await controls.getByRole("button", { name: "1 worker", exact: true }).getAttribute("aria-pressed")).toBe("true");

      await controls.getByRole("button", { name: "5 workers", exact: true }).click();
      await expect.poll(() => workerCards().count(), { timeout: LONG }).toBe(5);
      await expect.poll(() => stat("Workers online").textContent(), { timeout: LONG }).toBe("5");
      await region("Activity log").getByText(/Worker-\d+ joined/).first().waitFor();
    }, 200_000);

    let sleepTaskId = "";
    let victim = "";

    test("killing a busy worker: it leaves the panel and its task completes on another worker", async () => {
      const create = region("Create tasks");
      await create.getByRole("button", { name: "One task" }).click();
      const form = page.getByRole("form", { name: "Create one task" });
      await form.getByLabel("Command").fill("sleep");
      await form.getByLabel("Payload (JSON, optional)").fill('{"ms": 12000');
      await form.getByRole("button", { name: "Schedule task" }).click();
      await form.getByText(/Payload must be valid JSON/).waitFor();
      await form.getByLabel("Payload (JSON, optional)").fill('{"ms": 12000}');
      await form.getByRole("button", { name: "Schedule task" }).click();
      const link = form.getByRole("link", { name: /^task [0-9a-f]{8}$/ });
      await link.waitFor();
      const href = await link.getAttribute("href");
      sleepTaskId = href!.replace("/tasks/", "");

      // Other work keeps every worker busy meanwhile.
      await create.getByRole("button", { name: "Batch" }).click();
      await createBatch("30");

      const row = page.locator(`tr[data-task="${sleepTaskId}"]`);
      await page.locator(`tr[data-task="${sleepTaskId}"][data-status="RUNNING"]`).waitFor();
      victim = (await row.locator("td").nth(3).textContent())!.trim();
      expect(victim).toMatch(/^Worker-\d+$/);
      await region("Workers").getByRole("button", { name: `Kill ${victim}` }).click();
      // Killed mid-task (the task sleeps 12 s): its attempt is LOST and it runs again elsewhere.
      await eventually(
        async () => (await db.prisma.taskAttempt.findFirst({ where: { taskId: sleepTaskId, attempt: 1 } }))?.outcome === "LOST",
        { timeoutMs: 30_000, what: "the killed worker's attempt to end LOST" },
      );

      await expect.poll(() => region("Workers").locator(`li[data-worker="${victim}"]`).count(), { timeout: LONG }).toBe(0);
      await expect.poll(() => workerCards().count(), { timeout: LONG }).toBe(4);
      await region("Activity log").getByText(`${victim} lost`).first().waitFor();
      // Its task was retried elsewhere and completes; so does everything else.
      await expect.poll(() => row.getAttribute("data-status"), { timeout: LONG }).toBe("COMPLETED");
      expect((await row.locator("td").nth(3).textContent())!.trim()).not.toBe(victim);
      await completedOnScreen(81);
      expect(await stat("Pending").textContent()).toBe("0");
      expect(await stat("Running").textContent()).toBe("0");
    }, 200_000);

    test("the task page shows the killed attempt and the one that completed, with payload and result", async () => {
      await page.locator(`tr[data-task="${sleepTaskId}"]`).getByRole("link").click();
      await expect.poll(() => new URL(page.url()).pathname).toBe(`/tasks/${sleepTaskId}`);
      await page.getByRole("heading", { level: 1, name: `Task ${sleepTaskId.slice(0, 8)}` }).waitFor();
      const timeline = region("Timeline");
      const first = timeline.locator('li[data-attempt="1"]');
      const second = timeline.locator('li[data-attempt="2"]');
      await second.waitFor();
      expect(await first.getAttribute("data-outcome")).toBe("LOST");
      await first.getByText(`Picked by ${victim}`).waitFor();
      expect(await second.getAttribute("data-outcome")).toBe("COMPLETED");
      for (const step of ["requeued", "picked", "started", "completed"]) {
        expect(await second.locator(`li[data-step="${step}"]`).count()).toBe(1);
      }
      await region("Payload").getByText('"ms": 12000').waitFor();
      await region("Result").getByText('"slept_ms": 12000').waitFor();
      await page.getByRole("button", { name: "Run again" }).waitFor();
      await shoot("task-page-light");
      await page.getByRole("button", { name: "Switch to dark theme" }).click();
      await shoot("task-page-dark");
      await page.getByRole("button", { name: "Switch to light theme" }).click();

      // Keyboard: back to the dashboard with the link, by Enter.
      await page.getByRole("link", { name: "← Dashboard" }).focus();
      await page.keyboard.press("Enter");
      await expect.poll(() => new URL(page.url()).pathname).toBe("/");
    }, 90_000);

    /** Each test starts from the dashboard, whatever the one before left on screen. */
    async function onDashboard(): Promise<void> {
      if (new URL(page.url()).pathname !== "/") await page.goto(baseUrl);
      await page.locator('[data-connection="live"]').waitFor();
    }

    test("one task due in an hour: cancelled from its page, then retried, it runs at once", async () => {
      await onDashboard();
      const create = region("Create tasks");
      await create.getByRole("button", { name: "One task" }).click();
      const form = page.getByRole("form", { name: "Create one task" });
      await form.getByLabel("Command").fill("later-job");
      await form.getByLabel("Payload (JSON, optional)").fill("");
      const inAnHour = new Date(Date.now() + 3_600_000);
      const pad = (n: number) => String(n).padStart(2, "0");
      const local = `${inAnHour.getFullYear()}-${pad(inAnHour.getMonth() + 1)}-${pad(inAnHour.getDate())}T${pad(inAnHour.getHours())}:${pad(inAnHour.getMinutes())}`;
      await form.getByLabel("Run at (empty: now)").fill(local);
      await form.getByLabel("Priority").fill("5");
      await form.getByRole("button", { name: "Schedule task" }).click();
      const link = form.getByRole("link", { name: /^task [0-9a-f]{8}$/ });
      await expect.poll(async () => (await link.getAttribute("href")) !== `/tasks/${sleepTaskId}`).toBe(true);
      await link.click();
      const status = page.locator("[data-task-status]");
      await expect.poll(() => status.getAttribute("data-task-status")).toBe("SCHEDULED");
      await region("Details").getByText("5", { exact: true }).waitFor();

      await page.getByRole("button", { name: "Cancel task" }).click();
      await page.getByText("Cancelled (it was SCHEDULED).").waitFor();
      await expect.poll(() => status.getAttribute("data-task-status")).toBe("CANCELLED");

      await page.getByRole("button", { name: "Retry", exact: true }).click();
      await page.getByText("Back in the queue (it was CANCELLED).").waitFor();
      await expect.poll(() => status.getAttribute("data-task-status"), { timeout: LONG }).toBe("COMPLETED");
      await region("Timeline").locator('li[data-attempt="1"][data-outcome="COMPLETED"]').waitFor();
      await page.getByRole("link", { name: "← Dashboard" }).click();
      await completedOnScreen(82);
      await create.getByRole("button", { name: "Batch" }).click();
    }, 120_000);

    test("reconnects by itself when the server restarts", async () => {
      await onDashboard();
      serverDown = true;
      await server.stop("SIGTERM");
      await page.locator('[data-connection="reconnecting"]').waitFor();
      server = await startProcess("server", serverEnv, { readyTimeoutMs: 60_000 });
      await page.locator('[data-connection="live"]').waitFor({ timeout: LONG });
      serverDown = false;
      // New data reaches the open page without a reload.
      const res = await fetch(`${baseUrl}/api/schedule/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command: "after-restart", count: 5 }),
      });
      expect(res.status).toBe(200);
      await expect.poll(() => stat("Total").textContent(), { timeout: LONG }).toBe("87");
      await expect.poll(() => workerCards().count(), { timeout: LONG }).toBe(3);
      await completedOnScreen(87);
    }, 200_000);

    test("no errors in the browser console (beyond failed requests while the server was down)", () => {
      const unexpected = consoleErrors.filter(
        (e) => !(e.serverDown && /Failed to load resource|net::ERR_|EventSource/.test(e.text)),
      );
      expect(unexpected).toEqual([]);
    });

    test("every task completed: the database agrees with the screen", async () => {
      const counts = await db.prisma.task.groupBy({ by: ["status"], _count: { _all: true } });
      expect(counts.map((c) => [c.status, c._count._all])).toEqual([["COMPLETED", 87]]);
      await eventually(async () => (await db.prisma.taskAttempt.count({ where: { outcome: "LOST" } })) >= 1, {
        what: "the killed worker's attempt to be recorded as LOST",
      });
    });
  });
}
