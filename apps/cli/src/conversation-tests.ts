import { readFile } from "node:fs/promises";
import {
  testFileProblems,
  type ConversationTestFile,
  type TestFileProblem,
} from "@cb/admin-api/conversation-test-schemas";
import { isNode, LineCounter, parseDocument, type Document } from "yaml";

/** The line and column of what a JSON pointer names in the YAML (or of its nearest existing parent). */
function locate(doc: Document, lines: LineCounter, pointer: string): string {
  const path = pointer
    .split("/")
    .slice(1)
    .filter((p) => p !== "")
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  for (let n = path.length; n >= 0; n--) {
    const node = n ? doc.getIn(path.slice(0, n), true) : doc.contents;
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return "1:1";
}

/** `/conversations/0/turns/2/intent` as `conversations[0].turns[2].intent`, as a person reads the file. */
const readable = (pointer: string) =>
  pointer
    .split("/")
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i ? "." : ""}${p}`))
    .join("") || "(the file)";

/**
 * A conversation test file, read and checked against the API's own schema before anything is sent:
 * any problem is an error naming the file, the line and column, and the path inside it.
 */
export async function readTestFile(file: string): Promise<ConversationTestFile> {
  const lines = new LineCounter();
  const doc = parseDocument(await readFile(file, "utf8"), { lineCounter: lines, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lines.linePos(syntax.pos[0]);
    throw new Error(`${file}:${line}:${col}: not valid YAML: ${syntax.message.split("\n")[0]}`);
  }
  const value: unknown = doc.toJS();
  const problems: TestFileProblem[] = testFileProblems(value);
  if (problems.length)
    throw new Error(
      problems.map((p) => `${file}:${locate(doc, lines, p.path)}: ${readable(p.path)}: ${p.message}`).join("\n"),
    );
  return value as ConversationTestFile;
}

interface Report {
  passed: boolean;
  conversations: {
    name: string;
    passed: boolean;
    stopped?: string;
    turns: { said: string; failures: { field: string; expected: unknown; actual: unknown }[] }[];
  }[];
}

const show = (value: unknown) => JSON.stringify(value);

/** The report as a person reads it: each conversation passed or failed, and what differed where. */
export function renderReport(report: Report): string {
  const out: string[] = [];
  for (const conversation of report.conversations) {
    out.push(`${conversation.passed ? "✓" : "✗"} ${conversation.name}`);
    conversation.turns.forEach((turn, n) => {
      if (!turn.failures.length) return;
      out.push(`    turn ${n + 1}: ${show(turn.said)}`);
      for (const f of turn.failures) out.push(`      ${f.field}: expected ${show(f.expected)}, got ${show(f.actual)}`);
    });
    if (conversation.stopped)
      out.push(`    stopped after turn ${conversation.turns.length}: the server's ${conversation.stopped} ran out`);
  }
  const failed = report.conversations.filter((c) => !c.passed).length;
  out.push(
    `${report.conversations.length} conversations: ${report.conversations.length - failed} passed, ${failed} failed`,
  );
  return out.join("\n");
}
