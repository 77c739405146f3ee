// `cb evaluation`: the model report as a person reads it.
import { render, field, type Row } from "./output.ts";

export interface Evaluation {
  status: "current" | "computing" | "failed";
  trainingRevision: string;
  evaluatedRevision: string | null;
  error: string | null;
  report: {
    folds: number;
    tested: number;
    accuracy: number | null;
    intents: Row[];
    confusions: Row[];
    tooFewExamples: { intent: string; examples: number }[];
  } | null;
}

const percent = (share: unknown) => (typeof share === "number" ? `${(share * 100).toFixed(1)}%` : "n/a");
const page = (data: Row[]) => ({ data, nextCursor: null });

export function renderEvaluation(evaluation: Evaluation): string {
  const { status, trainingRevision, evaluatedRevision, report } = evaluation;
  const out = [
    status === "current"
      ? `Model report of training data version ${trainingRevision} (current).`
      : status === "failed"
        ? `The report of training data version ${trainingRevision} failed: ${evaluation.error}`
        : `Computing the report of training data version ${trainingRevision}${report ? `; this one is of version ${evaluatedRevision}` : ""} (--wait waits for it).`,
  ];
  if (!report) return out.join("\n");
  out.push(
    `${report.folds}-fold cross-validation on the tenant's examples: ${report.tested} tested, accuracy ${percent(report.accuracy)}.`,
    render(page(report.intents), [
      field("intent"),
      field("examples"),
      field("tested"),
      { header: "accuracy", value: (r) => percent(r.accuracy) },
    ]),
  );
  if (report.confusions.length)
    out.push(
      "Most often confused:",
      render(page(report.confusions), [
        field("intent"),
        { header: "taken for", value: (r) => r.predicted ?? "(no intent: fallback)" },
        field("count", "times"),
        { header: "e.g.", value: (r) => (r.phrases as string[]).join(" | ") },
      ]),
    );
  if (report.tooFewExamples.length)
    out.push(
      `Too few examples (fewer than 5): ${report.tooFewExamples.map((i) => `${i.intent} (${i.examples})`).join(", ")}.`,
    );
  return out.join("\n");
}
