// A handler module for the idle-latency measurement (HANDLER_MODULES=bench/latency_handler.ts).
// `bench-latency` appends "<task id> <wall-clock ms>" to BENCH_LATENCY_FILE the moment it starts,
// then returns: the bench reads the file to get handler start times on the same clock as its own.
import { appendFileSync } from "node:fs";
import { defineHandler, type TaskHandler } from "../worker/mod.ts";
import { wallClockMs } from "./wall_clock.ts";

const file = process.env["BENCH_LATENCY_FILE"];
if (!file) throw new Error("bench/latency_handler.ts: BENCH_LATENCY_FILE must name the file to append start times to");
// One line to check the clocks agree in this process: Date.now() against the high-resolution clock.
appendFileSync(file, `# clock-check ${Date.now()} ${wallClockMs().toFixed(3)}\n`);

/** `bench-latency`: records its start time, returns at once. */
export const handlers: TaskHandler[] = [
  defineHandler("bench-latency", ({ taskId }) => {
    appendFileSync(file, `${taskId} ${wallClockMs().toFixed(3)}\n`);
    return undefined;
  }),
];
