import { useEffect } from "react";
import { api, ok } from "../api/client";
import { ErrorNote, percent } from "../components";
import { useLoad } from "../load";

/** How soon the panel asks again while a worker computes the report (the API's Retry-After). */
const ASK_AGAIN_MS = 5000;

/**
 * The model report (GET /v1/nlu/evaluation): cross-validation on the tenant's own examples. While a
 * worker computes it (202) the panel says so, shows the previous report if any, and asks again.
 */
export function ModelReport({ trainingKey }: { trainingKey: string }) {
  const evaluation = useLoad(() => ok(api.GET("/v1/nlu/evaluation")), [trainingKey]);
  const data = evaluation.data;
  const computing = data?.status === "computing";
  // biome-ignore lint/correctness/useExhaustiveDependencies: each answer still computing (a new `data`) sets the next timer
  useEffect(() => {
    if (!computing) return;
    const timer = setTimeout(evaluation.reload, ASK_AGAIN_MS);
    return () => clearTimeout(timer);
  }, [computing, evaluation.reload, data]);
  const report = data?.report;
  return (
    <section className="card" aria-labelledby="report-title">
      <h2 id="report-title">Model report</h2>
      <ErrorNote error={evaluation.error} />
      {data ? (
        <p role="status" className="muted small">
          {data.status === "current"
            ? `Of the examples as they are (version ${data.trainingRevision}).`
            : data.status === "failed"
              ? `Computing the report failed: ${data.error}`
              : `Computing the report of version ${data.trainingRevision}…${report ? ` Showing version ${data.evaluatedRevision}'s.` : ""}`}
        </p>
      ) : null}
      {report ? (
        <>
          <p>
            {report.folds}-fold cross-validation on your examples: {report.tested} tested, accuracy{" "}
            {percent(report.accuracy)}.
          </p>
          <table className="table compact" aria-label="Accuracy per intent">
            <thead>
              <tr>
                <th scope="col">Intent</th>
                <th scope="col">Examples</th>
                <th scope="col">Accuracy</th>
              </tr>
            </thead>
            <tbody>
              {report.intents.map((i) => (
                <tr key={i.intent}>
                  <td>{i.intent}</td>
                  <td>{i.examples}</td>
                  <td>{percent(i.accuracy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {report.confusions.length ? (
            <table className="table compact" aria-label="Most often confused">
              <thead>
                <tr>
                  <th scope="col">Intent</th>
                  <th scope="col">Taken for</th>
                  <th scope="col">Times</th>
                  <th scope="col">For example</th>
                </tr>
              </thead>
              <tbody>
                {report.confusions.map((c) => (
                  <tr key={`${c.intent}→${c.predicted}`}>
                    <td>{c.intent}</td>
                    <td>{c.predicted ?? "no intent (fallback)"}</td>
                    <td>{c.count}</td>
                    <td>{c.phrases.join(" · ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {report.tooFewExamples.length ? (
            <p className="note">
              Too few examples (fewer than 5):{" "}
              {report.tooFewExamples.map((i) => `${i.intent} (${i.examples})`).join(", ")}.
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
