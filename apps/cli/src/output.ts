// What `cb` prints: tables by default (cli-table3), the API's JSON as it came with --json.
import Table from "cli-table3";

export type Row = Record<string, unknown>;

/** A column of a list's table: its header and what it shows of a row. */
export interface Column {
  header: string;
  value: (row: Row) => unknown;
}

export const field = (name: string, header = name): Column => ({ header, value: (row) => row[name] });

interface Page {
  data: Row[];
  nextCursor: string | null;
}

const isPage = (value: unknown): value is Page =>
  typeof value === "object" && value !== null && Array.isArray((value as Page).data) && "nextCursor" in value;

const WIDEST = 60;
// No colours: the output is read by scripts and tests as often as by people.
const plain = { style: { head: [], border: [], compact: true } };

const text = (value: unknown) =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

/** A list's cell: one line, long values cut (--json shows them whole). */
export const cell = (value: unknown) => {
  const shown = text(value).replaceAll("\n", " ");
  return shown.length > WIDEST ? `${shown.slice(0, WIDEST - 1)}…` : shown;
};

function pageTable(page: Page, columns: Column[] | undefined): string {
  if (!page.data.length) return "(none)";
  const shown = columns ?? [...new Set(page.data.flatMap((row) => Object.keys(row)))].map((name) => field(name));
  const table = new Table({ head: shown.map((c) => c.header), ...plain });
  for (const row of page.data) table.push(shown.map((c) => cell(c.value(row))));
  return `${table}${page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ""}`;
}

/** Nested objects as dotted names, so that `apiKey.key` stands on a line of its own. */
function flatten(value: Row, prefix = ""): [string, unknown][] {
  return Object.entries(value).flatMap(([name, v]) =>
    v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length
      ? flatten(v as Row, `${prefix}${name}.`)
      : [[`${prefix}${name}`, v] as [string, unknown]],
  );
}

/** One object, a field a line; nothing is cut (a key shown once must be whole). */
function recordTable(value: Row): string {
  const table = new Table(plain);
  for (const [name, v] of flatten(value)) table.push({ [name]: text(v) });
  return table.toString();
}

/** A page as a table of its rows (the columns given, else every field), an object a field a line. */
export function render(value: unknown, columns?: Column[]): string {
  if (isPage(value)) return pageTable(value, columns);
  if (value && typeof value === "object" && !Array.isArray(value)) return recordTable(value as Row);
  if (value === null || value === undefined) return "done";
  return text(value);
}
