import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * Every metric of the process, in one registry: each process (web or worker) exposes its own at
 * /metrics and Prometheus scrapes them all (`instance` tells them apart). Labels are bounded: a
 * channel, an outcome, a stage, a status class, an error code of our own; never a tenant, a user,
 * an endpoint URL or free text, so a deployment with thousands of tenants keeps a few hundred series.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "cb_" });

// Latency buckets in seconds: a turn or a backend call is tens of milliseconds to seconds.
const LATENCY = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const webhooksReceived = new Counter({
  name: "cb_webhooks_received_total",
  help: "Webhook requests received, by channel.",
  labelNames: ["channel"] as const,
  registers: [registry],
});

export const webhooksRejected = new Counter({
  name: "cb_webhooks_rejected_total",
  help: "Webhook requests answered 4xx or 5xx, by channel and reason (the error code answered).",
  labelNames: ["channel", "reason"] as const,
  registers: [registry],
});

export const webhooksAcknowledged = new Counter({
  name: "cb_webhooks_acknowledged_total",
  help: "Webhook requests answered 2xx (their events committed), by channel.",
  labelNames: ["channel"] as const,
  registers: [registry],
});

export const ingestDuration = new Histogram({
  name: "cb_ingest_duration_seconds",
  help: "From a verified webhook's events handed to the ingestor to their commit, by where they went (direct or inbox).",
  labelNames: ["store"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const turnDuration = new Histogram({
  name: "cb_turn_duration_seconds",
  help: "Turn latency by stage: understand (NLU), fulfill (backend call), send (one platform send), total (the whole turn).",
  labelNames: ["stage"] as const,
  buckets: LATENCY,
  registers: [registry],
});

export const turnsTotal = new Counter({
  name: "cb_turns_total",
  help: "Turns finished, by outcome (ok, failed: the turn threw and its message is retried).",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const nluOutcomes = new Counter({
  name: "cb_nlu_outcomes_total",
  help: "Understanding results: matched, prompt (a required parameter asked for), low_confidence (an intent scored below the threshold), fallback; llm says whether the LLM was asked.",
  labelNames: ["outcome", "llm"] as const,
  registers: [registry],
});

export const nluSentenceEncoder = new Counter({
  name: "cb_nlu_sentence_encoder_total",
  help: "Turns of models that learnt from the sentence encoder: used (the message's vector classified it), skipped (the n-gram model was sure: nothing embedded), failed (no vector in time: the n-gram model alone).",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const fulfillmentCalls = new Counter({
  name: "cb_fulfillment_calls_total",
  help: "Fulfillment backend calls by outcome (ok, or the error class webhook health counts: timeout, connection, http_4xx, http_5xx, invalid_response, circuit_open) and HTTP status class.",
  labelNames: ["outcome", "status_class"] as const,
  registers: [registry],
});

export const fulfillmentDuration = new Histogram({
  name: "cb_fulfillment_duration_seconds",
  help: "Fulfillment backend call latency (retry included), by outcome.",
  labelNames: ["outcome"] as const,
  buckets: LATENCY,
  registers: [registry],
});

export const platformSends = new Counter({
  name: "cb_platform_sends_total",
  help: "Platform API send attempts, by channel and outcome (sent, rate_limited: 429, retryable: 5xx or network, failed: permanent).",
  labelNames: ["channel", "outcome"] as const,
  registers: [registry],
});

export const platformSendRetries = new Counter({
  name: "cb_platform_send_retries_total",
  help: "Sends tried again in place after a retryable failure, by channel.",
  labelNames: ["channel"] as const,
  registers: [registry],
});

export const eventDeliveries = new Counter({
  name: "cb_event_deliveries_total",
  help: "Event webhook delivery attempts, by outcome (succeeded, failed, gone: the endpoint answered 410 and is disabled).",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const notificationsTotal = new Counter({
  name: "cb_notifications_total",
  help: "Order-event notifications, by outcome (sent, failed, skipped, deferred: quiet hours).",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

/** 2xx, 4xx, 5xx, or none when no answer came. */
export const statusClass = (status: number | undefined) => (status ? `${Math.floor(status / 100)}xx` : "none");

/** The Prometheus text of every metric of the process. */
export const metricsText = () => registry.metrics();
