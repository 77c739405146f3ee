import { api, type Body, ok } from "../api/client";
import { ErrorNote, Json, ms, percent } from "../components";
import { useLoad } from "../load";

type Message = Body<"/v1/conversations/{id}/messages", "get">["data"][number];
type Turn = NonNullable<Message["turn"]>;
type Call = Body<"/v1/fulfillment-endpoints/{id}/calls", "get">["data"][number];
// A turn's calls are made within its time limit of the message's arrival.
const TURN_SPAN_MS = 5 * 60_000;

/** The recorded fulfillment calls of one message, with their request and response (credentials redacted). */
function useCallsOf(message: Message, wanted: boolean) {
  return useLoad(async (): Promise<Call[]> => {
    if (!wanted) return [];
    const from = message.createdAt;
    const to = new Date(new Date(from).getTime() + TURN_SPAN_MS).toISOString();
    const endpoints = await ok(api.GET("/v1/fulfillment-endpoints", { params: { query: { limit: 200 } } }));
    const pages = await Promise.all(
      endpoints.data.map((endpoint) =>
        ok(
          api.GET("/v1/fulfillment-endpoints/{id}/calls", {
            params: { path: { id: endpoint.id }, query: { from, to, limit: 200 } },
          }),
        ),
      ),
    );
    return pages
      .flatMap((page) => page.data)
      .filter((call) => call.messageId === message.id)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }, [message.id, wanted]);
}

/** Why the bot answered as it did: what the turn recorded, and the fulfillment calls it made. */
export function Why({ message, turn }: { message: Message; turn: Turn }) {
  const calls = turn.fulfillment?.calls ?? [];
  const recorded = useCallsOf(message, calls.length > 0);
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
      {turn.stages ? (
        <>
          <h4>Stage times</h4>
          <ul className="stages" aria-label="Stage times">
            <li>
              Understanding <strong>{ms(turn.stages.understandMs)}</strong>
            </li>
            <li>
              Choosing replies (fulfillment included) <strong>{ms(turn.stages.fulfillMs)}</strong>
            </li>
            {turn.stages.sendMs !== undefined ? (
              <li>
                Sending <strong>{ms(turn.stages.sendMs)}</strong>
              </li>
            ) : null}
          </ul>
        </>
      ) : null}
      {calls.map((call, i) => {
        const full = recorded.data?.find((c) => c.id === call.id) ?? (call.id ? undefined : recorded.data?.[i]);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: calls are a fixed record of the turn
          <div key={i} className="call">
            <h4>
              Fulfillment call: {call.intent} — {call.ok ? "ok" : "failed"}
              {call.httpStatus ? ` (HTTP ${call.httpStatus})` : ""} in {ms(call.latencyMs)}
            </h4>
            {call.error ? <p className="error">{call.error}</p> : null}
            {full ? (
              <details>
                <summary>Request and response</summary>
                <h4>Request</h4>
                <Json value={pretty(full.request.body)} label="Fulfillment request" />
                <h4>Response</h4>
                <Json value={pretty(full.response.body)} label="Fulfillment response" />
              </details>
            ) : null}
          </div>
        );
      })}
      <ErrorNote error={recorded.error} />
    </section>
  );
}

/** A JSON body indented; anything else as it came. */
export function pretty(body: string | null): string {
  if (body === null) return "(none)";
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
