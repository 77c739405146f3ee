// How the chat tells what a turn did, from the record the turn kept with its message (the admin API's
// `turn`, TurnRecord in packages/conversation): the /debug line under each answer, and why no answer came.
import type { TurnRecord } from "@cb/conversation";

/** An inbound message as the admin API's conversation messages list shows it. */
export interface ApiMessage {
  id: string;
  direction: string;
  status: string;
  content: { platformEventId?: string };
  turn: TurnRecord | null;
}

const call = (c: { ok: boolean; httpStatus?: number; latencyMs: number; error?: string }) =>
  `${c.ok ? "ok" : "failed"}${c.httpStatus ? ` ${c.httpStatus}` : ""} in ${c.latencyMs} ms${c.error ? ` (${c.error})` : ""}`;

/** One line: intent, confidence, parameters, contexts, fulfillment status and latency, the turn's time. */
export function debugLine(turn: TurnRecord): string {
  const parts: string[] = [];
  if ("skipped" in turn) parts.push(`skipped: ${turn.skipped}`);
  else {
    parts.push(`intent ${turn.intent} (${turn.confidence.toFixed(2)})`);
    parts.push(`parameters ${JSON.stringify(turn.parameters)}`);
    parts.push(`contexts ${turn.contexts.map((c) => `${c.name}(${c.lifespanCount})`).join(", ") || "none"}`);
    const { status, calls } = turn.fulfillment;
    parts.push(
      calls.length
        ? `fulfillment ${calls.map((c) => `${c.intent === turn.intent ? "" : `${c.intent} `}${call(c)}`).join(", then ")}`
        : `fulfillment ${status === "prompt" ? "none (asked for a missing parameter)" : status}`,
    );
  }
  parts.push(`${turn.replies} ${turn.replies === 1 ? "reply" : "replies"} in ${turn.latencyMs} ms`);
  return `     · ${parts.join(" · ")}`;
}

/** Why no answer reached the chat, as far as the turn's record tells. */
export function silence(message: ApiMessage | undefined): string {
  const turn = message?.turn;
  if (!message) return "(no answer, and the message is not in the admin API: is the demo running?)";
  if (!turn) return "(no answer yet: the message is stored, but no worker has handled it: is the worker running?)";
  if ("skipped" in turn) return `(no answer: ${turn.skipped})`;
  if (turn.replies > 0) return `(the bot chose ${turn.replies} replies, but none reached this chat)`;
  const { status, calls } = turn.fulfillment;
  const failed = calls.find((c) => !c.ok);
  if (status === "no intent")
    return `(no answer: nothing matched confidently, and there is no intent "${turn.intent}" to fall back to: define a fallback intent)`;
  if (failed)
    return `(no answer: the fulfillment of "${failed.intent}" failed${failed.error ? ` (${failed.error})` : ""}, and the intent has no responses)`;
  if (status === "ok")
    return `(no answer: the fulfillment of "${turn.intent}" answered nothing, and the intent has no responses)`;
  return `(no answer: the intent "${turn.intent}" has no responses and no fulfillment)`;
}
