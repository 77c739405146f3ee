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
import {
  applyOutputContexts,
  createLlmClassifier,
  createModelStore,
  understandHybrid,
  type DialogState,
  type LlmClassifier,
  type ModelStore,
} from "@cb/nlu";
import type { Sealer } from "@cb/secrets";
import type { ApplyContexts, Fulfill, Understand } from "./ports.ts";
import { welcomeEvents } from "./welcome.ts";

/** The deployment's OpenAI-compatible endpoint; tenants choose the mode and the model. */
export interface LlmEndpoint {
  baseURL?: string | undefined;
  apiKey?: string | undefined;
}

/**
 * Understanding through the tenant's offline NLU model (trained and cached by the model store),
 * and, for tenants in hybrid mode, an LLM for the messages the model is unsure of.
 */
export function createUnderstand(
  db: Db,
  options: { store?: ModelStore; llm?: LlmEndpoint; pool?: Pool; logger?: Logger } = {},
): Understand {
  const { logger } = options;
  const store =
    options.store ??
    createModelStore(db, { ...(options.pool ? { pool: options.pool } : {}), ...(logger ? { logger } : {}) });
  const llms = new Map<string, LlmClassifier>();
  const llmFor = (model: string) => {
    let llm = llms.get(model);
    if (!llm) {
      llm = createLlmClassifier({ ...options.llm, model, ...(logger ? { logger } : {}) });
      llms.set(model, llm);
    }
    return llm;
  };
  return async ({ tenant, message, state }) => {
    const model = await store.load(
      tenant.id,
      tenant.trainingRevision !== undefined
        ? { revision: tenant.trainingRevision, language: tenant.language }
        : undefined,
    );
    const settings = tenant.nluSettings ?? {};
    const llm = options.llm && settings.mode === "hybrid" && settings.model ? llmFor(settings.model) : undefined;
    return understandHybrid(
      {
        ...(message.text !== undefined ? { text: message.text } : {}),
        ...(message.postback ? { postbackPayload: message.postback.payload } : {}),
        events: welcomeEvents(message),
        state: state as DialogState,
        model,
        tenant: { timezone: tenant.timezone },
      },
      llm,
    );
  };
}

export const applyContexts: ApplyContexts = (state, contexts) => {
  const next = applyOutputContexts((state ?? {}) as DialogState, contexts);
  return { state: next, contexts: next.contexts ?? [] };
};

/** Fulfillment through Dialogflow ES-compatible webhooks; credentials are opened only here. */
export function createFulfill(options: { sealer: Sealer; client: FulfillmentClient }): Fulfill {
  return async ({ responseId, tenant, conversationId, message, raw, intent, understanding, responses, endpoint }) => {
    const auth = endpoint.secrets ? options.sealer.openJson<EndpointAuth>(endpoint.secrets) : undefined;
    const request = buildWebhookRequest({
      responseId,
      projectId: tenant.id,
      sessionId: conversationId,
      queryText: message.text ?? message.postback?.payload ?? "",
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
        latencyMs: result.latencyMs,
        ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}),
      };
    const { response } = result;
    return {
      ok: true,
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
}
