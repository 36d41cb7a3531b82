// Tailwind class lists shared by the dashboard's controls, so every button and field looks and
// focuses alike.

const focusRing = "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500";
const buttonBase = `inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition-colors disabled:cursor-not-allowed disabled:opacity-50 ${focusRing}`;

/** Class lists for buttons, inputs and panels. */
export const ui = {
  primaryButton: `${buttonBase} bg-indigo-600 text-white hover:bg-indigo-500 dark:bg-indigo-500 dark:hover:bg-indigo-400`,
  secondaryButton: `${buttonBase} border border-zinc-300 bg-white text-zinc-800 hover:bg-zinc-100 aria-pressed:border-indigo-500 aria-pressed:bg-indigo-50 aria-pressed:text-indigo-800 dark:border-zinc-700 dark:bg-zinc-800 dark:text-zinc-100 dark:hover:bg-zinc-700 dark:aria-pressed:bg-indigo-950 dark:aria-pressed:text-indigo-200`,
  dangerButton: `${buttonBase} bg-red-600 text-white hover:bg-red-500 dark:bg-red-700 dark:hover:bg-red-600`,
  smallDangerButton: `inline-flex items-center rounded px-2 py-0.5 text-xs font-medium text-red-700 ring-1 ring-red-300 hover:bg-red-50 disabled:opacity-50 dark:text-red-300 dark:ring-red-800 dark:hover:bg-red-950 ${focusRing}`,
  input:
    "block w-full rounded-md border border-zinc-300 bg-white px-2.5 py-1.5 text-sm text-zinc-900 placeholder:text-zinc-400 focus:border-indigo-500 focus:outline-2 focus:outline-indigo-500/40 aria-invalid:border-red-500 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100 dark:placeholder:text-zinc-500",
  label: "block text-sm font-medium text-zinc-700 dark:text-zinc-300",
  fieldError: "mt-1 text-sm text-red-700 dark:text-red-400",
  hint: "mt-1 text-xs text-zinc-500 dark:text-zinc-400",
  panel: "rounded-xl border border-zinc-200 bg-white p-4 shadow-sm dark:border-zinc-800 dark:bg-zinc-900",
  panelTitle: "text-base font-semibold text-zinc-900 dark:text-zinc-50",
  muted: "text-zinc-500 dark:text-zinc-400",
  link: `rounded text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300 ${focusRing}`,
} as const;
