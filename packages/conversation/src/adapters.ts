import type { Db, Pool } from "@cb/db";
import type { Logger } from "@cb/logging";
import {
  buildWebhookRequest,
  contextShortName,
  toMessages,
  toReplies,
  type EndpointAuth,
  type FollowupSchedule,
  type FulfillmentClient,
} from "@cb/fulfillment";
import { inSpan, nluOutcomes, nluSentenceEncoder, SpanKind, turnDuration, type Span } from "@cb/observability";
import {
  applyOutputContexts,
  awaitMissing,
  createLlmClassifier,
  createModelStore,
  DEFAULT_FALLBACK,
  understandHybrid,
  type DialogState,
  type IntentDefinition,
  type LlmClassifier,
  type ModelStore,
  type NluModel,
  type SentenceEncoder,
} from "@cb/nlu";
import type { Sealer } from "@cb/secrets";
import type { ApplyContexts, AskForMissing, Fulfill, Understand, Understanding } from "./ports.ts";
import { welcomeEvents } from "./welcome.ts";

/** The deployment's OpenAI-compatible endpoint; tenants choose the mode and the model. */
export interface LlmEndpoint {
  baseURL?: string | undefined;
  apiKey?: string | undefined;
}

// Postbacks, events, "👍", "123": nothing for a sentence encoder to read.
const HAS_LETTER = /\p{L}/u;

/**
 * The sentence encoder's vector of a message, for a model that learnt from it and is unsure of the
 * message; undefined when the n-gram model is sure (`skipped`: its answer stands, nothing embedded),
 * the model has no encoder, or the encoder failed or was late (the n-gram model alone answers:
 * logged). Used, skipped and failed are counted and put on the span.
 */
async function sentenceVectorOf(
  model: NluModel,
  text: string | undefined,
  encoder: SentenceEncoder | undefined,
  span: Span,
  logger: Logger | undefined,
): Promise<Float32Array | undefined> {
  if (!model.encoder || !encoder || model.encoder !== encoder.name || !text || !HAS_LETTER.test(text)) return undefined;
  // Trimmed as understanding classifies it, so the model's n-gram classification is asked once.
  if (!model.needsSentenceVector(text.trim())) {
    nluSentenceEncoder.inc({ outcome: "skipped" });
    span.setAttribute("nlu.sentence_encoder", "skipped");
    return undefined;
  }
  try {
    const [vector] = await encoder.embed([text], "turn");
    nluSentenceEncoder.inc({ outcome: "used" });
    span.setAttribute("nlu.sentence_encoder", "used");
    return vector;
  } catch (err) {
    nluSentenceEncoder.inc({ outcome: "failed" });
    span.setAttribute("nlu.sentence_encoder", "failed");
    logger?.warn({ err }, "sentence encoder failed: the message is classified by the n-gram model alone");
    return undefined;
  }
}

/**
 * Understanding through the tenant's offline NLU model (trained by a job, loaded and cached by the model store),
 * and, for tenants in hybrid mode, an LLM for the messages the model is unsure of. A model that learnt
 * from the sentence encoder gets the message's vector from `encoder` (the worker's thread).
 */
export function createUnderstand(
  db: Db,
  options: { store?: ModelStore; llm?: LlmEndpoint; pool?: Pool; logger?: Logger; encoder?: SentenceEncoder } = {},
): Understand {
  const { logger } = options;
  const store = options.store ?? createModelStore(db, options.pool ? { pool: options.pool } : {});
  const llms = new Map<string, LlmClassifier>();
  const llmFor = (model: string) => {
    let llm = llms.get(model);
    if (!llm) {
      llm = createLlmClassifier({ ...options.llm, model, ...(logger ? { logger } : {}) });
      llms.set(model, llm);
    }
    return llm;
  };
  const understand = async ({ tenant, message, state }: Parameters<Understand>[0], span: Span) => {
    const model = await store.load(
      tenant.id,
      tenant.trainingRevision !== undefined
        ? { revision: tenant.trainingRevision, language: tenant.language }
        : undefined,
    );
    const settings = tenant.nluSettings ?? {};
    const hybrid = options.llm && settings.mode === "hybrid" && settings.model ? llmFor(settings.model) : undefined;
    // Whether this message was put to the LLM (the offline model was unsure), for the NLU metrics.
    let llmUsed = false;
    const llm = hybrid && {
      ...hybrid,
      classify: (...args: Parameters<LlmClassifier["classify"]>) => {
        llmUsed = true;
        return hybrid.classify(...args);
      },
    };
    const events = welcomeEvents(message);
    // An event selects its intent without the text being classified.
    const sentenceVector = events.length
      ? undefined
      : await sentenceVectorOf(model, message.text, options.encoder, span, logger);
    const understanding = await understandHybrid(
      {
        ...(message.text !== undefined ? { text: message.text } : {}),
        ...(sentenceVector ? { sentenceVector } : {}),
        ...(message.postback ? { postbackPayload: message.postback.payload } : {}),
        events,
        state: state as DialogState,
        model,
        tenant: { timezone: tenant.timezone },
      },
      llm,
    );
    const fallback = model.intents.find((i) => i.isFallback)?.name ?? DEFAULT_FALLBACK;
    nluOutcomes.inc({ outcome: nluOutcome(understanding, fallback), llm: llmUsed ? "used" : "not_used" });
    return understanding;
  };
  return (input) =>
    inSpan("nlu.understand", { kind: SpanKind.INTERNAL }, async (span) => {
      const started = performance.now();
      try {
        return await understand(input, span);
      } finally {
        turnDuration.observe({ stage: "understand" }, (performance.now() - started) / 1000);
      }
    });
}

/**
 * What understanding came to: an intent matched, a required parameter asked for, or the fallback,
 * either because the best intent scored below the threshold (low_confidence) or because nothing
 * resembled the message at all.
 */
export function nluOutcome(
  understanding: Understanding,
  fallback: string,
): "matched" | "prompt" | "low_confidence" | "fallback" {
  if (understanding.prompt !== undefined) return "prompt";
  if (understanding.intent !== fallback) return "matched";
  return understanding.confidence > 0 ? "low_confidence" : "fallback";
}

export const applyContexts: ApplyContexts = (state, contexts) => {
  const next = applyOutputContexts((state ?? {}) as DialogState, contexts);
  return { state: next, contexts: next.contexts ?? [] };
};

export const askForMissing: AskForMissing = (state, intent, parameters) =>
  awaitMissing(
    (state ?? {}) as DialogState,
    { name: intent.name, parameters: intent.parameters as IntentDefinition["parameters"] },
    parameters,
  );

/** Fulfillment through Dialogflow ES-compatible webhooks; credentials are opened only here. */
export function createFulfill(options: { sealer: Sealer; client: FulfillmentClient }): Fulfill {
  const fulfill: Fulfill = async ({
    responseId,
    tenant,
    conversationId,
    message,
    raw,
    intent,
    understanding,
    responses,
    endpoint,
  }) => {
    const auth = endpoint.secrets ? options.sealer.openJson<EndpointAuth>(endpoint.secrets) : undefined;
    const request = buildWebhookRequest({
      responseId,
      projectId: tenant.id,
      sessionId: conversationId,
      // An event's name for an event (a follow-up's), as Dialogflow ES's requests carry it.
      queryText: message.text ?? message.postback?.payload ?? message.event?.name ?? "",
      languageCode: tenant.language,
      intent: { id: intent.id, displayName: intent.name },
      action: intent.action,
      confidence: understanding.confidence,
      parameters: understanding.parameters,
      declared: intent.parameters,
      allRequiredParamsPresent: understanding.allRequiredParamsPresent,
      // Dialogflow's fulfillmentText is the first text response; the messages are all of them.
      fulfillmentText: responses.find((r) => r.type === "text")?.text ?? "",
      fulfillmentMessages: toMessages(responses),
      contexts: understanding.contexts,
      channel: message.channel,
      // As Dialogflow's integrations pass it: the platform's own payload under `data`; ours beside it.
      payload: { data: raw, message },
    });
    const result = await options.client.call(
      { id: endpoint.id, url: endpoint.url, timeoutMs: endpoint.timeoutMs, ...(auth ? { auth } : {}) },
      request,
    );
    if (!result.ok)
      return {
        ok: false,
        error: result.error,
        errorClass: result.errorClass,
        latencyMs: result.latencyMs,
        exchange: result.exchange,
        ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}),
      };
    const { response } = result;
    return {
      ok: true,
      exchange: result.exchange,
      ...(response.payload?.handoff === true ? { handoff: true } : {}),
      // Checked against the response schema's FollowupSchedule before it got here.
      ...(response.payload?.schedule ? { schedule: response.payload.schedule as FollowupSchedule } : {}),
      latencyMs: result.latencyMs,
      httpStatus: result.httpStatus,
      replies: toReplies(response, message.channel),
      ...(response.outputContexts
        ? {
            contexts: response.outputContexts.map((c) => ({
              name: contextShortName(c.name),
              lifespanCount: c.lifespanCount ?? 0,
              parameters: c.parameters ?? {},
            })),
          }
        : {}),
      ...(response.followupEventInput
        ? {
            followupEvent: {
              name: response.followupEventInput.name,
              ...(response.followupEventInput.parameters ? { parameters: response.followupEventInput.parameters } : {}),
            },
          }
        : {}),
    };
  };
  // The call itself is a span (fulfillment's call.ts), whose traceparent header the backend gets.
  return async (input) => {
    const started = performance.now();
    try {
      return await fulfill(input);
    } finally {
      turnDuration.observe({ stage: "fulfill" }, (performance.now() - started) / 1000);
    }
  };
}
