import { type ReactNode, useId } from "react";
import { ui } from "./styles.ts";

/** Props of {@linkcode Panel}. */
export interface PanelProps {
  title: string;
  /** Shown right of the title (counts, controls). */
  aside?: ReactNode;
  /** Element id, e.g. for skip links. */
  id?: string;
  className?: string;
  children: ReactNode;
}

/** A titled section; its title is its accessible name (a landmark screen readers list). */
export function Panel({ title, aside, id, className, children }: PanelProps) {
  const headingId = useId();
  return (
    <section id={id} aria-labelledby={headingId} className={`${ui.panel} min-w-0 ${className ?? ""}`}>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={headingId} className={ui.panelTitle}>
          {title}
        </h2>
        {aside}
      </div>
      {children}
    </section>
  );
}
