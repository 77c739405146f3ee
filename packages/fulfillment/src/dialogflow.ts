import { driverOf } from "@cb/channels";
import type { Channel } from "@cb/core";

/**
 * Dialogflow ES v2 webhook formats (https://cloud.google.com/dialogflow/es/docs/fulfillment-webhook),
 * so a fulfillment service written for Dialogflow ES works here unchanged.
 */
export interface Context {
  /** Full resource name: projects/<p>/agent/sessions/<s>/contexts/<name>. */
  name: string;
  lifespanCount?: number;
  parameters?: Record<string, unknown>;
}

export type Platform = "TELEGRAM" | "FACEBOOK" | "SLACK" | "PLATFORM_UNSPECIFIED" | string;

export interface Message {
  platform?: Platform;
  text?: { text?: string[] };
  image?: { imageUri?: string; accessibilityText?: string };
  quickReplies?: { title?: string; quickReplies?: string[] };
  card?: { title?: string; subtitle?: string; imageUri?: string; buttons?: { text?: string; postback?: string }[] };
  payload?: Record<string, unknown>;
}

export interface WebhookRequest {
  responseId: string;
  session: string;
  queryResult: {
    queryText: string;
    action: string;
    parameters: Record<string, unknown>;
    allRequiredParamsPresent: boolean;
    fulfillmentText: string;
    fulfillmentMessages: Message[];
    outputContexts: Context[];
    intent: { name: string; displayName: string };
    intentDetectionConfidence: number;
    diagnosticInfo: Record<string, unknown>;
    languageCode: string;
  };
  originalDetectIntentRequest: { source?: string; version?: string; payload: Record<string, unknown> };
}

export interface WebhookResponse {
  fulfillmentText?: string;
  fulfillmentMessages?: Message[];
  source?: string;
  payload?: Record<string, unknown>;
  outputContexts?: Context[];
  followupEventInput?: { name: string; parameters?: Record<string, unknown>; languageCode?: string };
}

/**
 * Dialogflow's names for a channel, from its driver: `source` in requests (none where Dialogflow
 * has no integration, as for WhatsApp: fulfillment libraries then answer with platform-independent
 * messages), the key of its custom payloads, and messages' `platform`. A channel no driver knows
 * goes by its own name.
 */
export const dialogflowSource = (channel: Channel): string | undefined => driverOf(channel)?.dialogflow.source;
export const payloadKey = (channel: Channel): string => driverOf(channel)?.dialogflow.payloadKey ?? channel;
export const platformOf = (channel: Channel): Platform =>
  driverOf(channel)?.dialogflow.platform ?? channel.toUpperCase();

export interface RequestInput {
  responseId: string;
  /** The tenant: Dialogflow's project. */
  projectId: string;
  /** The conversation: Dialogflow's session. */
  sessionId: string;
  queryText: string;
  languageCode: string;
  intent: { id: string; displayName: string };
  /** The intent's action ("" when it has none). */
  action?: string;
  confidence: number;
  parameters: Record<string, unknown>;
  /** The intent's declared parameters: those not filled are sent as "" ([] for lists), as Dialogflow does. */
  declared?: { name: string; isList?: boolean }[];
  allRequiredParamsPresent: boolean;
  /** The intent's own responses, placeholders resolved (or the prompt while slot filling). */
  fulfillmentText?: string;
  fulfillmentMessages?: Message[];
  diagnosticInfo?: Record<string, unknown>;
  contexts: { name: string; lifespanCount: number; parameters?: Record<string, unknown> }[];
  channel: Channel;
  /** The platform's own payload, as Dialogflow integrations pass it, plus our normalized message. */
  payload: Record<string, unknown>;
}

export function sessionName(projectId: string, sessionId: string): string {
  return `projects/${projectId}/agent/sessions/${sessionId}`;
}

export function buildWebhookRequest(input: RequestInput): WebhookRequest {
  const session = sessionName(input.projectId, input.sessionId);
  return {
    responseId: input.responseId,
    session,
    queryResult: {
      queryText: input.queryText,
      action: input.action ?? "",
      parameters: {
        ...Object.fromEntries((input.declared ?? []).map((p) => [p.name, p.isList ? [] : ""])),
        ...input.parameters,
      },
      allRequiredParamsPresent: input.allRequiredParamsPresent,
      fulfillmentText: input.fulfillmentText ?? "",
      fulfillmentMessages: input.fulfillmentMessages ?? [],
      outputContexts: input.contexts.map((c) => ({
        name: `${session}/contexts/${c.name}`,
        lifespanCount: c.lifespanCount,
        parameters: c.parameters ?? {},
      })),
      intent: {
        name: `projects/${input.projectId}/agent/intents/${input.intent.id}`,
        displayName: input.intent.displayName,
      },
      intentDetectionConfidence: input.confidence,
      diagnosticInfo: input.diagnosticInfo ?? {},
      languageCode: input.languageCode,
    },
    originalDetectIntentRequest: {
      ...(dialogflowSource(input.channel) ? { source: dialogflowSource(input.channel) } : {}),
      version: "2",
      payload: input.payload,
    },
  };
}

/** A context's short name from its resource name (or a short name as is). */
export function contextShortName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}
