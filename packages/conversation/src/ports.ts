import type { FollowupSchedule } from "@cb/fulfillment";
import type { InboundMessage, Reply } from "@cb/core";
import type { ErrorClass, Exchange } from "@cb/fulfillment";

/**
 * What the turn needs from understanding and fulfillment, as narrow as possible: the NLU and
 * fulfillment packages are adapted to these in ./adapters, and nothing else in the turn knows them.
 */
export interface TenantInfo {
  id: string;
  language: string;
  timezone: string;
  nluSettings?: { mode?: "offline" | "hybrid"; model?: string };
  /** The tenant's training revision, when read along with the message (spares the model store reading it). */
  trainingRevision?: string;
}

/** A Dialogflow-style context: a name, how many more turns it lives, and its parameters. */
export interface DialogContext {
  name: string;
  lifespanCount: number;
  parameters?: Record<string, unknown>;
}

export interface Understanding {
  /** The matched intent's name; the fallback intent's when nothing matched confidently. */
  intent: string;
  confidence: number;
  parameters: Record<string, unknown>;
  /** The text each parameter was read from (`$param.original`). */
  parameterSpans?: Record<string, string>;
  allRequiredParamsPresent: boolean;
  /** A question to ask instead of fulfilling (a required parameter is missing). */
  prompt?: string;
  /** Active contexts after this turn. */
  contexts: DialogContext[];
  /** Dialog state to keep for the conversation's next turn. */
  state: unknown;
}

export type Understand = (input: {
  tenant: TenantInfo;
  message: InboundMessage;
  state: unknown;
}) => Promise<Understanding>;

export interface FulfillmentEndpointRef {
  id: string;
  url: string;
  timeoutMs: number;
  /** Sealed JSON of credentials, opened by the adapter only. */
  secrets: string | null;
}

export interface FulfillmentInput {
  /** The same for every attempt of one call (retries of the turn), so a backend can deduplicate. */
  responseId: string;
  tenant: TenantInfo;
  conversationId: string;
  message: InboundMessage;
  raw: unknown;
  /** The intent, its action and its declared parameters. */
  intent: { id: string; name: string; action: string; parameters: { name: string; isList?: boolean }[] };
  understanding: Understanding;
  /** The intent's own responses, placeholders resolved; while a parameter is prompted for, the prompt. */
  responses: Reply[];
  endpoint: FulfillmentEndpointRef;
}

export type FulfillmentOutcome = {
  latencyMs: number;
  httpStatus?: number;
  /** What was sent and received, kept with the call for webhook health (credentials redacted). */
  exchange?: Exchange;
} & (
  | {
      ok: true;
      replies: Reply[];
      /** Output contexts the backend set (replace the NLU's when present). */
      contexts?: DialogContext[];
      /** A follow-up event the backend asked for (Dialogflow followupEventInput). */
      followupEvent?: { name: string; parameters?: Record<string, unknown> };
      /** The backend asked for a human agent (`payload.handoff: true`). */
      handoff?: boolean;
      /** A message or event into the conversation later (`payload.schedule`). */
      schedule?: FollowupSchedule;
    }
  | { ok: false; error: string; errorClass?: ErrorClass }
);

export type Fulfill = (input: FulfillmentInput) => Promise<FulfillmentOutcome>;

/** Puts contexts a fulfillment backend set into the dialog state: the new state, and the contexts now active. */
export type ApplyContexts = (
  state: unknown,
  contexts: DialogContext[],
) => { state: unknown; contexts: DialogContext[] };

/**
 * Slot filling for an intent a backend's event triggered (followupEventInput), as a matched intent
 * gets it: the question for its first required parameter the event left missing, and the dialog
 * state awaiting the answer; null when none is missing. `intent.parameters` as the Intent row keeps them.
 */
export type AskForMissing = (
  state: unknown,
  intent: { name: string; parameters: unknown },
  parameters: Record<string, unknown>,
) => { prompt: string; state: unknown } | null;
