import { describe, expect, test } from "vitest";
import { filterStatuses, parseTaskFilter, withTaskFilter } from "./task_filter.ts";

describe("task monitor filter in the URL", () => {
  test("parseTaskFilter() reads status, command and worker, ignoring bad values", () => {
    expect(parseTaskFilter(new URLSearchParams("status=running&command=%20sleep%20&worker=Worker-7"))).toEqual({
      status: "RUNNING",
      command: "sleep",
      workerId: 7,
    });
    expect(parseTaskFilter(new URLSearchParams("status=BOGUS&worker=0&command="))).toEqual({});
    expect(parseTaskFilter(new URLSearchParams("worker=99999999999"))).toEqual({});
  });

  test("withTaskFilter() round-trips and keeps other parameters", () => {
    const params = withTaskFilter(new URLSearchParams("theme=dark&status=FAILED"), { command: "x", workerId: 3 });
    expect(params.toString()).toBe("theme=dark&command=x&worker=3");
    expect(parseTaskFilter(params)).toEqual({ command: "x", workerId: 3 });
  });

  test("a status group filters by several statuses", () => {
    const filter = parseTaskFilter(new URLSearchParams("status=active"));
    expect(filter).toEqual({ status: "active" });
    expect(filterStatuses(filter)).toEqual(["PICKED", "RUNNING"]);
    expect(filterStatuses({ status: "DEAD" })).toEqual(["DEAD"]);
    expect(filterStatuses({})).toBeUndefined();
    expect(withTaskFilter(new URLSearchParams(), { status: "unsuccessful" }).toString()).toBe("status=unsuccessful");
  });
});
