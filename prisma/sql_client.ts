import { createHash } from "node:crypto";
import pg from "pg";

/** A piece of SQL written as a tagged template: its text around the values, and the values. */
export interface SqlFragment {
  readonly strings: readonly string[];
  readonly values: readonly unknown[];
}

/**
 * Writes a reusable piece of SQL (`sql\`... ${value} ...\``): its values become parameters when it
 * is run, and a fragment used as a value inside another is spliced in as SQL, not as a parameter.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  return { strings: [...strings], values };
}

function isFragment(value: unknown): value is SqlFragment {
  return typeof value === "object" && value !== null && "strings" in value && "values" in value &&
    Array.isArray((value as SqlFragment).strings);
}

/** A fragment's text with `$1..$n` placeholders and the parameters, nested fragments spliced in. */
export function toQuery(fragment: SqlFragment): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const build = (f: SqlFragment): string => {
    let text = f.strings[0] ?? "";
    f.values.forEach((value, i) => {
      if (isFragment(value)) text += build(value);
      else {
        values.push(value);
        text += `$${values.length}`;
      }
      text += f.strings[i + 1] ?? "";
    });
    return text;
  };
  return { text: build(fragment), values };
}

/**
 * Raw SQL on a pool of `pg` connections, for hot paths: every statement is a tagged template whose
 * values are sent as parameters (never spliced into the text). Rows come back as `pg` parses them,
 * except `bigint` columns, which are JavaScript bigints (as Prisma returns them).
 */
export interface SqlClient {
  /** The rows of a statement. */
  query<Row>(strings: TemplateStringsArray | SqlFragment, ...values: unknown[]): Promise<Row[]>;
  /** A statement's affected row count. */
  execute(strings: TemplateStringsArray | SqlFragment, ...values: unknown[]): Promise<number>;
  /** Closes every connection. */
  end(): Promise<void>;
}

/** Options for {@linkcode createSqlClient}. */
export interface SqlClientOptions {
  /** Most connections. Default 10. */
  poolSize?: number;
  /** Shown in `pg_stat_activity`. */
  applicationName?: string;
  /** Called when an idle pooled connection fails (e.g. PostgreSQL restarted); the pool replaces it. */
  onPoolError?: (error: Error) => void;
}

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
const parseInt8Array = pg.types.getTypeParser(INT8_ARRAY_OID as Parameters<typeof pg.types.getTypeParser>[0]);
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8_OID) return (text: string) => BigInt(text);
    if (oid === INT8_ARRAY_OID) return (text: string) => (parseInt8Array(text) as (string | null)[]).map((v) => (v === null ? null : BigInt(v)));
    return pg.types.getTypeParser(oid, format ?? "text");
  }) as typeof pg.types.getTypeParser,
};

/** An array element written bare in an array literal: letters, digits, `_` and `-` (ids, UUIDs), never the word NULL. */
const BARE_ELEMENT = /^[0-9A-Za-z_-]+$/;

/**
 * `value` as pg would send it, made cheaper for the arrays of the hot statements (task ids, attempts,
 * worker ids, times in ms): an array of numbers, bigints, nulls and bare words (UUIDs) becomes its
 * literal `{a,b,NULL}` in one join, instead of pg quoting and escaping each element with two regular
 * expressions (3% of the coordinator's CPU). PostgreSQL reads both the same. Anything else is left to pg.
 */
export function plainArrayLiteral(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  for (const element of value) {
    if (element === null || typeof element === "bigint") continue;
    if (typeof element === "number" ? Number.isFinite(element) : typeof element === "string" && BARE_ELEMENT.test(element) && element.toUpperCase() !== "NULL") continue;
    return value;
  }
  return `{${value.map((element) => (element === null ? "NULL" : String(element))).join(",")}}`;
}

/**
 * A {@linkcode SqlClient} on `databaseUrl`: a bounded pool that gives up on a dead server after 5 s
 * instead of hanging (statements then fail, and their callers retry).
 */
export function createSqlClient(databaseUrl: string, options: SqlClientOptions = {}): SqlClient {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
    types,
  });
  pool.on("error", (error) => (options.onPoolError ?? (() => {}))(error));
  // Every statement is prepared once per connection, under a name derived from its text: the hot
  // ones (claim, complete) run thousands of times, and planning them anew each time cost as much as
  // running them (0.8 ms of a 1-row claim's 2 ms). Texts are fixed (values are always parameters),
  // so the names stay few.
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) {
      name = `tm_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
  const run = (strings: TemplateStringsArray | SqlFragment, values: unknown[]) => {
    const query = toQuery(isFragment(strings) ? strings : { strings: [...strings], values });
    return pool.query({ name: nameOf(query.text), text: query.text, values: query.values.map(plainArrayLiteral) });
  };
  return {
    query: async <Row>(strings: TemplateStringsArray | SqlFragment, ...values: unknown[]) => (await run(strings, values)).rows as Row[],
    execute: async (strings, ...values) => (await run(strings, values)).rowCount ?? 0,
    end: () => pool.end(),
  };
}
