import { describe, expect, test } from "vitest";
import { ActivityList } from "./activity_list.tsx";
import { renderHtml } from "./testing.ts";

describe("<ActivityList>", () => {
  test("newest first as given, each with its time and level in words (not colour only)", () => {
    const html = renderHtml(
      <ActivityList
        lines={[
          { key: "e:2", id: 2, ts: "2030-01-01T00:00:02.000Z", level: "error", msg: "Worker-7 lost" },
          { key: "e:1", id: 1, ts: "2030-01-01T00:00:01.000Z", level: "success", msg: "Task 1a2b3c4d completed on Worker-7" },
        ]}
      />,
    );
    expect(html.indexOf("Worker-7 lost")).toBeLessThan(html.indexOf("completed on Worker-7"));
    expect(html).toContain('<span class="sr-only">error:</span>');
    expect(html).toContain('dateTime="2030-01-01T00:00:02.000Z"');
  });
});
