import { defaultLogger, type Logger } from "@cb/logging";
import { LRUCache } from "lru-cache";
import OpenAI from "openai";
import type { IntentDefinition } from "./model.ts";
import { normalizeText } from "./text.ts";

/** Where an OpenAI-compatible model is: OpenAI itself, a local model server, a proxy. */
export interface LlmOptions {
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  model: string;
  /** The whole call; past it the offline answer stands. */
  timeoutMs?: number;
  /** Where failed calls are reported. */
  logger?: Logger;
}

export interface LlmChoice {
  intent: string;
  confidence: number;
  parameters: Record<string, unknown>;
}

const NONE = "none";

function schema(intents: IntentDefinition[]) {
  return {
    type: "object",
    properties: {
      intent: { type: "string", enum: [...intents.map((i) => i.name), NONE] },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      parameters: { type: "object", description: "values of the chosen intent's parameters found in the message" },
    },
    required: ["intent", "confidence", "parameters"],
    additionalProperties: false,
  };
}

function prompt(intents: IntentDefinition[]): string {
  const lines = intents
    .filter((i) => !i.isFallback)
    .map((i) => {
      const params = (i.parameters ?? []).map((p) => `${p.name} (${p.entity})`).join(", ");
      return `- ${i.name}: e.g. ${i.examples
        .slice(0, 5)
        .map((e) => JSON.stringify(e))
        .join(", ")}${params ? `; parameters: ${params}` : ""}`;
    });
  return [
    "You classify one customer message for a business chatbot.",
    `Choose exactly one of these intents, or "${NONE}" when none fits:`,
    ...lines,
    "Extract only the chosen intent's parameters that the message states. Answer with the JSON object the schema describes.",
  ].join("\n");
}

/**
 * Intent choice by an OpenAI-compatible model with structured output (a JSON schema whose intent
 * is an enum of the tenant's intents). Anything else the model says (an intent the tenant does not
 * have, malformed JSON, a timeout, an error) yields null, and the caller keeps its offline answer;
 * failures are logged. Answers are cached per normalized text.
 */
export function createLlmClassifier(options: LlmOptions) {
  const client = new OpenAI({
    baseURL: options.baseURL ?? null,
    apiKey: options.apiKey ?? "unset",
    timeout: options.timeoutMs ?? 3000,
    maxRetries: 0,
  });
  const logger = options.logger ?? defaultLogger();
  const cache = new LRUCache<string, { choice: LlmChoice | null }>({ max: 10_000, ttl: 60 * 60_000 });

  return {
    async classify(text: string, intents: IntentDefinition[]): Promise<LlmChoice | null> {
      const key = `${intents.map((i) => i.name).join("|")}\u0000${normalizeText(text).trim()}`;
      const cached = cache.get(key);
      if (cached) return cached.choice;
      let choice: LlmChoice | null = null;
      try {
        const completion = await client.chat.completions.create({
          model: options.model,
          temperature: 0,
          messages: [
            { role: "system", content: prompt(intents) },
            { role: "user", content: text },
          ],
          response_format: {
            type: "json_schema",
            json_schema: { name: "intent_choice", strict: false, schema: schema(intents) },
          },
        });
        const content = completion.choices[0]?.message?.content ?? "";
        const parsed = JSON.parse(content) as { intent?: unknown; confidence?: unknown; parameters?: unknown };
        const known = intents.some((i) => i.name === parsed.intent);
        if (known && parsed.intent !== NONE) {
          choice = {
            intent: parsed.intent as string,
            confidence: typeof parsed.confidence === "number" ? Math.max(0, Math.min(1, parsed.confidence)) : 0.5,
            parameters:
              parsed.parameters && typeof parsed.parameters === "object" && !Array.isArray(parsed.parameters)
                ? (parsed.parameters as Record<string, unknown>)
                : {},
          };
        }
        // A definite answer (even "none") is worth remembering; failures below are not.
        cache.set(key, { choice });
        return choice;
      } catch (err) {
        // The message text stays out of the log: it is the customer's.
        logger.warn({ err, model: options.model }, "LLM classification failed; the offline answer stands");
        return null;
      }
    },
  };
}

export type LlmClassifier = ReturnType<typeof createLlmClassifier>;
