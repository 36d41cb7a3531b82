import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { plainArrayLiteral } from "./sql_client.ts";
import { type TestDb, useTestDatabase } from "./testing.ts";

let db: TestDb;
let raw: pg.Client;
beforeAll(async () => {
  db = await useTestDatabase();
  raw = new pg.Client({ connectionString: db.url });
  await raw.connect();
});
afterAll(async () => {
  await raw.end();
  await db.close();
});

describe("array parameters", () => {
  const cases: { type: string; value: unknown[]; literal: boolean }[] = [
    { type: "uuid[]", value: ["0192f0c4-7a3e-7b1c-9d2e-3f4a5b6c7d8e", "0192F0C4-7A3E-7B1C-9D2E-3F4A5B6C7D8F"], literal: true },
    { type: "int[]", value: [1, 0, -3, 2_147_483_647], literal: true },
    { type: "bigint[]", value: [4_294_967_295, 0n, 9_007_199_254_740_993n, null], literal: true },
    { type: "float8[]", value: [1_764_000_000_123, null, 0.5, -1e-7], literal: true },
    { type: "text[]", value: ["noop", "echo_2", "a-b"], literal: true },
    { type: "text[]", value: [], literal: true },
    // Left to pg: words PostgreSQL would not read bare, and anything that is not a plain value.
    { type: "text[]", value: ["NULL", "null"], literal: false },
    { type: "text[]", value: ["", "two words", 'quo"te', "back\\slash", "{braces}", "a,b", "ünï"], literal: false },
    { type: "float8[]", value: [1, Number.NaN], literal: false },
    { type: "text[]", value: ["a", undefined], literal: false },
    { type: "timestamptz[]", value: [new Date(0)], literal: false },
  ];

  test.each(cases)("$type $value: PostgreSQL reads what pg itself would send", async ({ type, value, literal }) => {
    const sent = plainArrayLiteral(value);
    expect(typeof sent === "string").toBe(literal);
    const ours = await raw.query(`SELECT $1::${type}::text AS v`, [sent]);
    const theirs = await raw.query(`SELECT $1::${type}::text AS v`, [value]);
    expect(ours.rows[0].v).toBe(theirs.rows[0].v);
  });

  test("the SQL client sends arrays this way, and a value that is not an array as it is", async () => {
    const ids = ["0192f0c4-7a3e-7b1c-9d2e-3f4a5b6c7d8e", "0192f0c4-7a3e-7b1c-9d2e-3f4a5b6c7d8f"];
    const rows = await db.sql.query<{ id: string; n: number }>`SELECT id::text, n FROM unnest(${ids}::uuid[], ${[7, null]}::int[]) AS x(id, n)`;
    expect(rows).toEqual([{ id: ids[0], n: 7 }, { id: ids[1], n: null }]);
    expect(plainArrayLiteral("{1,2}")).toBe("{1,2}");
    expect(plainArrayLiteral(5)).toBe(5);
  });
});
