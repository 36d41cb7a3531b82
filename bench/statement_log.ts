// PostgreSQL's own account of the statements it ran (log_min_duration_statement = 0), parsed from its
// log output: the statement profile of `--diagnose`, and the exact SQL Prisma sends for the dashboard's
// queries (re-run through the bare driver as "the raw query").

/** One logged step of a statement, as PostgreSQL reports it. */
export interface LoggedStep {
  /** application_name of the session (the process: coordinator, server, ...). */
  app: string;
  pid: number;
  /** `statement` (simple protocol) or the extended protocol's `parse`, `bind`, `execute`. */
  phase: "statement" | "parse" | "bind" | "execute";
  ms: number;
  sql: string;
  /** Bound parameters as text (null for SQL NULL), from the DETAIL line, when logged. */
  params: (string | null)[];
  /** When PostgreSQL logged it (the step's end), epoch ms (ms precision; NaN unless the log is in UTC). */
  at: number;
}

/** A plan auto_explain logged for a slow statement (EXPLAIN ANALYZE output). */
export interface LoggedPlan {
  app: string;
  ms: number;
  /** The statement's text (Query Text). */
  sql: string;
  plan: string;
}

const PLAN = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/;
// Matches log_line_prefix '%m [%p] <%a> ' followed by the level.
const ENTRY = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+) \[(\d+)\] <([^>]*)> ([A-Z]+):\s+(.*)$/s;
const DURATION = /^duration: ([\d.]+) ms\s+(statement|parse|bind|execute)(?: [^:]*)?: (.*)$/s;
const PARAM = /\$(\d+) = (NULL|'((?:[^']|'')*)')/g;

/**
 * Collects the statement steps logged while it listens. The embedded server's stderr arrives in
 * chunks trimmed of surrounding whitespace (so a chunk boundary cannot be told from a line end):
 * a chunk starting with a log-line prefix starts a new entry; anything else continues the last one.
 */
export function createStatementLog(): {
  feed(chunk: string): void;
  take(): LoggedStep[];
  takeErrors(): string[];
  takePlans(): LoggedPlan[];
} {
  let steps: LoggedStep[] = [];
  let errors: string[] = [];
  let plans: LoggedPlan[] = [];
  let entry = "";
  const lastByPid = new Map<number, LoggedStep>();

  const finish = () => {
    const match = ENTRY.exec(entry);
    entry = "";
    if (!match) return;
    const pid = Number(match[2]);
    const level = match[4]!;
    const message = match[5]!;
    if (level === "LOG" && PLAN.test(message)) {
      const [, ms, text] = PLAN.exec(message)!;
      // The statement's text runs from "Query Text:" to the first plan node (the first line with "(cost=").
      const lines = text!.split("\n");
      const first = lines.findIndex((l) => l.includes("Query Text:"));
      const node = lines.findIndex((l) => /\((?:cost|actual)[ =]/.test(l));
      const query = first < 0 ? "" : [lines[first]!.replace(/^.*Query Text:\s*/, ""), ...lines.slice(first + 1, node < 0 ? undefined : node)].join("\n");
      plans.push({ app: match[3]!, ms: Number(ms), sql: query.trim(), plan: text!.trim() });
    } else if (level === "LOG") {
      const duration = DURATION.exec(message);
      if (!duration) return;
      const stamp = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) (UTC|GMT)$/.exec(match[1]!);
      const step: LoggedStep = {
        at: stamp ? Date.parse(`${stamp[1]}T${stamp[2]}Z`) : Number.NaN,
        app: match[3]!,
        pid,
        phase: duration[2] as LoggedStep["phase"],
        ms: Number(duration[1]),
        sql: duration[3]!,
        params: [],
      };
      steps.push(step);
      lastByPid.set(pid, step);
    } else if (level === "ERROR" || level === "FATAL") {
      errors.push(`<${match[3]}> ${level}: ${message.split("\n")[0]}`);
    } else if (level === "DETAIL" && message.startsWith("Parameters:")) {
      const step = lastByPid.get(pid);
      if (!step) return;
      for (const p of message.matchAll(PARAM)) {
        step.params[Number(p[1]) - 1] = p[2] === "NULL" ? null : p[3]!.replaceAll("''", "'");
      }
    }
  };

  return {
    feed(chunk) {
      for (const line of chunk.split("\n")) {
        if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} /.test(line)) {
          finish();
          entry = line;
        } else if (entry !== "") {
          entry += `\n${line}`;
        }
      }
    },
    take() {
      finish();
      const taken = steps;
      steps = [];
      lastByPid.clear();
      return taken;
    },
    /** Plans auto_explain logged since the last call. */
    takePlans() {
      finish();
      const taken = plans;
      plans = [];
      return taken;
    },
    /** ERROR and FATAL entries since the last call (first line each). */
    takeErrors() {
      finish();
      const taken = errors;
      errors = [];
      return taken;
    },
  };
}

/** A statement's shape: literals and parameters replaced, whitespace collapsed, cut to `max` characters. */
export function normalizeSql(sql: string, max = 160): string {
  const shape = sql
    .replace(/'(?:[^']|'')*'/g, "?")
    .replace(/\$\d+/g, "?")
    .replace(/\b\d+(?:\.\d+)?\b/g, "?")
    .replace(/\s+/g, " ")
    .trim();
  return shape.length > max ? `${shape.slice(0, max)}…` : shape;
}

/** Statements grouped by process and shape: how many ran, and PostgreSQL's time for all their steps. */
export interface StatementGroup {
  app: string;
  sql: string;
  /** Statements run (simple statements and extended-protocol executes). */
  count: number;
  /** Time PostgreSQL spent in their parse, bind and execute steps, ms. */
  totalMs: number;
}

/** Groups `steps` by process and statement shape, most time first. */
export function groupStatements(steps: readonly LoggedStep[]): StatementGroup[] {
  const groups = new Map<string, StatementGroup>();
  for (const step of steps) {
    const sql = normalizeSql(step.sql);
    const key = `${step.app}\u0000${sql}`;
    const group = groups.get(key) ?? { app: step.app, sql, count: 0, totalMs: 0 };
    if (step.phase === "statement" || step.phase === "execute") group.count++;
    group.totalMs += step.ms;
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.totalMs - a.totalMs);
}
