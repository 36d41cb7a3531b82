import { useCallback, useEffect, useState } from "react";

/** The dashboard's colour theme. */
export type Theme = "light" | "dark";

/** Where the chosen theme is remembered. */
export const THEME_STORAGE_KEY = "taskmaster-theme";

/** The stored choice when valid, else the system's preference. */
export function initialTheme(stored: string | null, prefersDark: boolean): Theme {
  if (stored === "light" || stored === "dark") return stored;
  return prefersDark ? "dark" : "light";
}

function readTheme(): Theme {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(THEME_STORAGE_KEY);
  } catch {
    // storage blocked: follow the system
  }
  return initialTheme(stored, matchMedia("(prefers-color-scheme: dark)").matches);
}

/** Puts `theme` on `<html>` (index.html does the same before the first paint). */
export function applyTheme(theme: Theme): void {
  document.documentElement.classList.toggle("dark", theme === "dark");
  document.documentElement.style.colorScheme = theme;
}

/** The current theme and a setter that applies and remembers it. */
export function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setThemeState] = useState<Theme>(readTheme);
  useEffect(() => applyTheme(theme), [theme]);
  const setTheme = useCallback((next: Theme) => {
    try {
      localStorage.setItem(THEME_STORAGE_KEY, next);
    } catch {
      // not remembered, still applied
    }
    setThemeState(next);
  }, []);
  return [theme, setTheme];
}
