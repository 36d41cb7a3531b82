import { describe, expect, test } from "vitest";
import { initialTheme } from "./theme.ts";

describe("initialTheme()", () => {
  test("uses the saved choice, else the system preference", () => {
    expect(initialTheme("dark", false)).toBe("dark");
    expect(initialTheme("light", true)).toBe("light");
    expect(initialTheme(null, true)).toBe("dark");
    expect(initialTheme("purple", false)).toBe("light");
  });
});

