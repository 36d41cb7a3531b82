import { type ReactElement, cloneElement, useId } from "react";
import { ui } from "./styles.ts";

/** Props of {@linkcode FormField}. */
export interface FormFieldProps {
  label: string;
  /** What is wrong with the value, shown under it and announced. */
  error?: string | undefined;
  hint?: string;
  /** One input, select or textarea: gets the id, `aria-invalid` and `aria-describedby`. */
  children: ReactElement<{ id?: string; "aria-invalid"?: boolean; "aria-describedby"?: string }>;
  className?: string;
}

/** A labelled control with its hint and error wired up for screen readers. */
export function FormField({ label, error, hint, children, className }: FormFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={className}>
      <label htmlFor={id} className={ui.label}>
        {label}
      </label>
      <div className="mt-1">
        {cloneElement(children, { id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })}
      </div>
      {error ? (
        <p id={errorId} className={ui.fieldError}>
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={hintId} className={ui.hint}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}
