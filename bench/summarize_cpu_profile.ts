// Where a process's CPU time went, from a V8 .cpuprofile written by `node --cpu-prof`.
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A share of the profiled process's busy time. */
export interface ProfileShare {
  name: string;
  ms: number;
  /** Percent of the busy time (idle excluded). */
  percent: number;
}

/** What {@linkcode summarizeCpuProfile} finds. */
export interface ProfileSummary {
  /** Busy (non-idle) time in the window (or the whole life of the process), ms. */
  busyMs: number;
  /** Busy time as a share of the window: 100 = one core kept busy all along. */
  busyPercentOfWindow: number;
  /** By where the code lives: a package, a node: internal area, a repository file, GC. */
  byArea: ProfileShare[];
  /** The functions with the most self time. */
  topFunctions: ProfileShare[];
}

/** Where `url` lives: `pkg:<name>` for node_modules, `node:<area>`, `repo:<path>`, or the V8 pseudo-frame. */
function areaOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg:${pkg[1]}`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/").slice(0, 2).join("/")}`;
  const repo = /\/(coordinator|worker|server|shared|prisma|proto)\/([^?]+)/.exec(url);
  if (repo) return `repo:${repo[1]}/${repo[2]}`;
  return url;
}

/**
 * `frame` as in the source: processes run bundles (`.build/<role>/main.js`, processCommand), whose
 * source map lies beside them (`main.js.map`); a frame in one is moved to the TypeScript file and line
 * it came from. Other frames, and bundles without a map, are returned as they are.
 */
function sourceFrame(frame: ProfileNode["callFrame"], maps: Map<string, SourceMap | null>): ProfileNode["callFrame"] {
  if (!/^file:.*\/\.build\/.*\.js$/.test(frame.url)) return frame;
  let map = maps.get(frame.url);
  if (map === undefined) {
    const mapPath = `${fileURLToPath(frame.url)}.map`;
    map = existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, "utf8"))) : null;
    maps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !("originalSource" in entry)) return frame;
  const url = pathToFileURL(fileURLToPath(new URL(entry.originalSource, frame.url))).href;
  return { ...frame, url, lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
}

/**
 * Sums self time by area and by function (sample-weighted by the time deltas), idle excluded. With
 * `window` (microseconds of CLOCK_MONOTONIC, the clock of V8's sample timestamps and of
 * `process.hrtime` in every process of the machine), only samples inside it count: the measurement,
 * not the process's start-up.
 */
export function summarizeCpuProfile(path: string, window?: { startUs: number; endUs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    const id = profile.samples[i]!;
    // A sample's weight is the time until the next sample.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  const maps = new Map<string, SourceMap | null>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    busyUs += us;
    const frame = sourceFrame(node.callFrame, maps);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(coordinator|worker|server|shared|prisma|proto)\//, "$1/")}:${frame.lineNumber + 1}` : "";
    const fn = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const shares = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / busyUs) * 1000) / 10 }));
  const spanUs = window ? window.endUs - window.startUs : profile.endTime - profile.startTime;
  return {
    busyMs: Math.round(busyUs / 1000),
    busyPercentOfWindow: Math.round((busyUs / spanUs) * 1000) / 10,
    byArea: shares(areas), topFunctions: shares(functions),
  };
}
