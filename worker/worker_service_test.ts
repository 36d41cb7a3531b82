import { describe, expect, it } from "vitest";
import type { TaskRequest__Output } from "../proto/mod.ts";
import { MAX_PAYLOAD_BYTES, plainlyValid, taskRequest } from "./worker_service.ts";

const valid: TaskRequest__Output = {
  task_id: "0190b6d2-7f3a-7c11-8a2b-3c4d5e6f7a8b",
  data: "noop",
  attempt: 1,
  payload_json: '{"n":1}',
  timeout_ms: 0,
  start_on_arrival: true,
} as TaskRequest__Output;

describe("plainlyValid", () => {
  it("accepts only what the schema accepts, and returns what it returns", () => {
    const variants: object[] = [
      valid,
      { ...valid, payload_json: "", timeout_ms: 2_147_483_647, attempt: 4_294_967_295, start_on_arrival: false },
      { ...valid, task_id: "" },
      { ...valid, task_id: "has space" },
      { ...valid, task_id: "x".repeat(201) },
      { ...valid, data: "c".repeat(1001) },
      { ...valid, attempt: -1 },
      { ...valid, attempt: 2.5 },
      { ...valid, timeout_ms: 2_147_483_648 },
      { ...valid, start_on_arrival: "yes" },
      { ...valid, payload_json: "é".repeat(MAX_PAYLOAD_BYTES / 2) }, // 1 MiB of UTF-8 in 2-byte characters: allowed
      { ...valid, payload_json: "é".repeat(MAX_PAYLOAD_BYTES / 2 + 1) }, // one byte too many
      { ...valid, extra: "dropped" },
    ];
    for (const raw of variants) {
      const plain = plainlyValid(raw as unknown as TaskRequest__Output);
      const schema = taskRequest.safeParse(raw);
      if (plain) {
        expect(schema.success, JSON.stringify(raw).slice(0, 100)).toBe(true);
        if (schema.success) expect(plain).toEqual(schema.data);
      }
    }
    expect(plainlyValid(valid)).toEqual(taskRequest.parse(valid));
  });
});
