import type { ReactNode } from "react";

export type Mode = "bot" | "pending" | "human";
const MODE_LABEL: Record<Mode, string> = { bot: "Bot", pending: "Waiting", human: "With agent" };

export function ModeBadge({ mode }: { mode: Mode }) {
  return <span className={`badge mode-${mode}`}>{MODE_LABEL[mode]}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.replace(/[^a-z_-]/gi, "")}`}>{status}</span>;
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  return error ? (
    <p role="alert" className="error">
      {error.message}
    </p>
  ) : null;
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <section aria-label={label}>
      <pre className="json">{typeof value === "string" ? value : JSON.stringify(value, null, 2)}</pre>
    </section>
  );
}

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
/** "3 min ago", with the exact time on hover. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const seconds = Math.round((new Date(at).getTime() - Date.now()) / 1000);
  const [value, unit] =
    Math.abs(seconds) < 60
      ? [seconds, "second"]
      : Math.abs(seconds) < 3600
        ? [Math.round(seconds / 60), "minute"]
        : Math.abs(seconds) < 86400
          ? [Math.round(seconds / 3600), "hour"]
          : [Math.round(seconds / 86400), "day"];
  return (
    <time dateTime={at} title={new Date(at).toLocaleString()}>
      {relative.format(value, unit as Intl.RelativeTimeFormatUnit)}
    </time>
  );
}

export const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? "—" : `${(value * 100).toFixed(value === 1 ? 0 : 1)}%`;
export const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? "—" : `${Math.round(value)} ms`;
