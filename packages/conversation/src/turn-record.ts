// What a turn did with an inbound message, kept on the message (Message.turn) by the turn's last statement and
// logged at debug: why the bot answered as it did, or why it said nothing.

/** One call to a fulfillment endpoint, as FulfillmentCall records it. */
export interface TurnFulfillmentCall {
  /** Its FulfillmentCall row: the transcript reads the request and response there. */
  id?: string;
  intent: string;
  ok: boolean;
  httpStatus?: number;
  latencyMs: number;
  error?: string;
}

export interface TurnFulfillment {
  /**
   * `prompt`: a required parameter was missing and asked for, so nothing was fulfilled; `none`: the intent
   * has no fulfillment endpoint; `ok` / `failed`: its endpoint answered, or did not (the intent's own
   * responses stood in); `no intent`: no intent of that name is defined (a fallback the tenant never made).
   */
  status: "prompt" | "none" | "ok" | "failed" | "no intent";
  /** How many responses of its own the intent has. */
  responses: number;
  /** The calls made: the intent's, then those of follow-up events a backend asked for. */
  calls: TurnFulfillmentCall[];
}

export interface TurnUnderstood {
  intent: string;
  confidence: number;
  parameters: Record<string, unknown>;
  /** The contexts active after the turn, with the turns each has left. */
  contexts: { name: string; lifespanCount: number }[];
  fulfillment: TurnFulfillment;
  /** The turn handed the conversation to an agent, and why (handoff.ts). */
  handoff?: "intent" | "fulfillment" | "fallback";
  /** Where the turn's time went, in ms: understanding, choosing the replies (fulfillment calls included), sending them. */
  stages?: TurnStages;
}

/** The plan holds the first two (decided before sending); the record all three. */
export interface TurnStages {
  understandMs: number;
  fulfillMs: number;
  sendMs?: number;
}

export interface TurnSkipped {
  /** The message was handled without understanding it. */
  /** `with an agent`: the conversation is with (or waiting for) an agent; the bot stays silent. */
  skipped: "not addressed to the bot" | "nothing to answer" | "opt-out keyword" | "with an agent";
}

export type TurnOutcome = (TurnUnderstood | TurnSkipped) & {
  /** The replies chosen (0: the bot said nothing, and the rest of the record says why). */
  replies: number;
};

export type TurnRecord = TurnOutcome & {
  /** The turn's own time, from reading the message to its replies sent, in ms. */
  latencyMs: number;
};
