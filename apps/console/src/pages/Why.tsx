import type { Body } from "../api/client";
import { Json, ms, percent } from "../components";

type Turn = NonNullable<Body<"/v1/conversations/{id}/messages", "get">["data"][number]["turn"]>;

/** Why the bot answered as it did: what the turn recorded. */
export function Why({ turn }: { turn: Turn }) {
  const calls = turn.fulfillment?.calls ?? [];
  const stages = Object.entries((turn as { stages?: Record<string, number> }).stages ?? {});
  return (
    <section className="why" aria-label="Why">
      {turn.skipped ? <p>Not answered: {turn.skipped}.</p> : null}
      <dl className="facts">
        <dt>Intent</dt>
        <dd>{turn.intent ?? "—"}</dd>
        <dt>Confidence</dt>
        <dd>{percent(turn.confidence)}</dd>
        <dt>Replies</dt>
        <dd>{turn.replies}</dd>
        <dt>Turn time</dt>
        <dd>{ms(turn.latencyMs)}</dd>
        {turn.handoff ? (
          <>
            <dt>Handed over</dt>
            <dd>{turn.handoff}</dd>
          </>
        ) : null}
        <dt>Fulfillment</dt>
        <dd>{turn.fulfillment ? turn.fulfillment.status : "not called"}</dd>
      </dl>
      {turn.parameters && Object.keys(turn.parameters).length ? (
        <>
          <h4>Parameters</h4>
          <Json value={turn.parameters} label="Parameters" />
        </>
      ) : null}
      {turn.contexts?.length ? (
        <>
          <h4>Contexts</h4>
          <ul className="chips">
            {turn.contexts.map((c) => (
              <li key={c.name}>
                {c.name} <span className="muted">({c.lifespanCount} turns left)</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {stages.length ? (
        <>
          <h4>Stage times</h4>
          <dl className="facts">
            {stages.map(([stage, time]) => (
              <span key={stage} className="fact">
                <dt>{stage}</dt>
                <dd>{ms(time)}</dd>
              </span>
            ))}
          </dl>
        </>
      ) : null}
      {calls.map((call, i) => {
        const more = call as { request?: unknown; response?: unknown };
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: calls are a fixed record of the turn
          <div key={i} className="call">
            <h4>
              Fulfillment call: {call.intent} — {call.ok ? "ok" : "failed"}
              {call.httpStatus ? ` (HTTP ${call.httpStatus})` : ""} in {ms(call.latencyMs)}
            </h4>
            {call.error ? <p className="error">{call.error}</p> : null}
            {more.request !== undefined ? <Json value={more.request} label="Fulfillment request" /> : null}
            {more.response !== undefined ? <Json value={more.response} label="Fulfillment response" /> : null}
          </div>
        );
      })}
    </section>
  );
}
