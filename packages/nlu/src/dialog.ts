import { extractEntities, type EntityMatch } from "./entities.ts";
import type { LlmClassifier } from "./llm.ts";
import type { IntentDefinition, NluModel, ParameterDefinition } from "./model.ts";

/** A Dialogflow-style context: a name, how many more turns it lives, and its parameters. */
export interface DialogContext {
  name: string;
  lifespanCount: number;
  parameters?: Record<string, unknown>;
}

/** What a conversation remembers between turns (kept as JSON in Conversation.state). */
export interface DialogState {
  contexts?: DialogContext[];
  /** An intent waiting for a required parameter (slot filling). */
  pending?: {
    intent: string;
    parameters: Record<string, unknown>;
    spans: Record<string, string>;
    missing: string;
    attempts: number;
  };
}

export interface UnderstandInput {
  text?: string;
  postbackPayload?: string;
  state: DialogState | null | undefined;
  model: NluModel;
  tenant: { timezone: string; region?: string };
  now?: Date;
  /**
   * Events the message fires, most specific first (Telegram's /start: TELEGRAM_WELCOME, WELCOME):
   * the first one an intent lists selects that intent; when none does, the text is understood.
   */
  events?: string[];
  /** The sentence encoder's vector of `text`, when the model has an encoder and the embedding came in time. */
  sentenceVector?: Float32Array;
  /** An intent already chosen elsewhere (the LLM in hybrid mode), with parameters it read. */
  chosen?: { intent: string; confidence: number; parameters?: Record<string, unknown> };
}

export interface Understanding {
  /** The matched intent; the fallback intent's name when nothing matched confidently. */
  intent: string;
  confidence: number;
  parameters: Record<string, unknown>;
  /** The text each parameter was read from. */
  parameterSpans: Record<string, string>;
  allRequiredParamsPresent: boolean;
  /** Ask this instead of fulfilling: a required parameter is missing. */
  prompt?: string;
  contexts: DialogContext[];
  state: DialogState;
}

const MAX_PROMPTS = 2;
/** How close to the best confidence an intent must be for its priority to weigh. */
export const PRIORITY_MARGIN = 0.1;
const NORMAL_PRIORITY = 500000;
export const DEFAULT_FALLBACK = "Default Fallback Intent";

/** Each turn ages every context by one; a context whose lifespan reaches zero is gone. */
function age(contexts: DialogContext[]): DialogContext[] {
  return contexts.map((c) => ({ ...c, lifespanCount: c.lifespanCount - 1 })).filter((c) => c.lifespanCount > 0);
}

function fill(
  intent: IntentDefinition,
  entities: EntityMatch[],
  known: Record<string, unknown> = {},
  knownSpans: Record<string, string> = {},
) {
  const parameters = { ...known };
  const spans = { ...knownSpans };
  const used = new Set<EntityMatch>();
  for (const p of intent.parameters ?? []) {
    if (parameters[p.name] !== undefined && parameters[p.name] !== "") continue;
    const matches = entities.filter((e) => e.entity === p.entity && !used.has(e));
    if (!matches.length) continue;
    const chosen = p.isList ? matches : [matches[0]!];
    for (const m of chosen) used.add(m);
    parameters[p.name] = p.isList ? chosen.map((m) => m.value) : chosen[0]!.value;
    spans[p.name] = chosen.map((m) => m.text).join(", ");
  }
  const missing = (intent.parameters ?? []).find(
    (p) => p.required && (parameters[p.name] === undefined || parameters[p.name] === ""),
  );
  return { parameters, spans, missing };
}

/**
 * The contexts after an intent completes: its output contexts, at their full lifespan, replace the
 * active ones of the same name and carry its parameters, each with its `.original` text as
 * Dialogflow keeps them (so `#context.param.original` reads it later).
 */
export function withOutputContexts(
  intent: Pick<IntentDefinition, "outputContexts" | "resetContexts">,
  active: DialogContext[],
  parameters: Record<string, unknown>,
  spans: Record<string, string>,
): DialogContext[] {
  // An intent with resetContexts clears the active contexts first.
  const contexts = intent.resetContexts ? [] : active;
  const outputs = intent.outputContexts ?? [];
  if (!outputs.length) return contexts;
  const originals = Object.fromEntries(Object.entries(spans).map(([k, v]) => [`${k}.original`, v]));
  return [
    ...contexts.filter((c) => !outputs.some((o) => o.name === c.name)),
    ...outputs
      .filter((o) => o.lifespan > 0)
      .map((o) => ({ name: o.name, lifespanCount: o.lifespan, parameters: { ...parameters, ...originals } })),
  ];
}

/** The question for a missing parameter: its prompts in turn, the last one again, else a generic one. */
function promptFor(parameter: ParameterDefinition, attempt: number): string {
  const prompts = parameter.prompts ?? [];
  return prompts[Math.min(attempt - 1, prompts.length - 1)] ?? `What is the ${parameter.name.replaceAll("_", " ")}?`;
}

/**
 * An intent selected with parameters already given (a fulfillment backend's followupEventInput): as
 * in Dialogflow ES, its first required parameter still missing is asked for, the state awaiting the
 * answer as a matched intent's does (the next message fills it); null when none is missing.
 */
export function awaitMissing(
  state: DialogState,
  intent: Pick<IntentDefinition, "name" | "parameters">,
  given: Record<string, unknown>,
): { prompt: string; state: DialogState } | null {
  const { parameters, spans, missing } = fill({ ...intent, examples: [] }, [], given);
  if (!missing) return null;
  return {
    prompt: promptFor(missing, 1),
    state: { ...state, pending: { intent: intent.name, parameters, spans, missing: missing.name, attempts: 1 } },
  };
}

function matched(
  intent: IntentDefinition,
  confidence: number,
  entities: EntityMatch[],
  contexts: DialogContext[],
  fromModel?: Record<string, unknown>,
): Understanding {
  let { parameters, spans, missing } = fill(intent, entities);
  if (missing && fromModel) {
    // Entities found in the text win; the model's reading fills only declared parameters they left open.
    const declared = new Set((intent.parameters ?? []).map((p) => p.name));
    const extra = Object.fromEntries(
      Object.entries(fromModel).filter(
        ([k, v]) => declared.has(k) && v !== null && v !== "" && parameters[k] === undefined,
      ),
    );
    ({ parameters, spans, missing } = fill(intent, [], { ...extra, ...parameters }, spans));
  }
  if (missing) {
    // As in Dialogflow, the output contexts wait for the intent to complete.
    return {
      intent: intent.name,
      confidence,
      parameters,
      parameterSpans: spans,
      allRequiredParamsPresent: false,
      prompt: promptFor(missing, 1),
      contexts,
      state: {
        contexts,
        pending: { intent: intent.name, parameters, spans, missing: missing.name, attempts: 1 },
      },
    };
  }
  const active = withOutputContexts(intent, contexts, parameters, spans);
  return {
    intent: intent.name,
    confidence,
    parameters,
    parameterSpans: spans,
    allRequiredParamsPresent: true,
    contexts: active,
    state: { contexts: active },
  };
}

/**
 * One turn of understanding, with Dialogflow ES semantics: the classifier picks the intent among
 * those whose input contexts are active; entities fill its parameters; a missing required one is
 * asked for (slot filling) and the answer on the next turn completes the intent, unless that
 * answer lacks the value asked for and clearly belongs to another intent.
 */
export function understand(input: UnderstandInput): Understanding {
  const { model } = input;
  const text = (input.text ?? input.postbackPayload ?? "").trim();
  // A context set with lifespan N gates the next N messages (Dialogflow's count); it ages after this one.
  const activeNames = new Set((input.state?.contexts ?? []).filter((c) => c.lifespanCount > 0).map((c) => c.name));
  const contexts = age(input.state?.contexts ?? []);
  const entities = text
    ? extractEntities(text, {
        timezone: input.tenant.timezone,
        ...(input.tenant.region ? { region: input.tenant.region } : {}),
        ...(input.now ? { now: input.now } : {}),
        types: model.entityTypes,
        wanted: new Set(model.intents.flatMap((i) => (i.parameters ?? []).map((p) => p.entity))),
      })
    : [];
  const fallback = model.intents.find((i) => i.isFallback)?.name ?? DEFAULT_FALLBACK;
  const byName = new Map(model.intents.map((i) => [i.name, i]));

  const byEvent = input.events
    ?.map((e) => model.intents.find((i) => i.events?.includes(e)))
    .find((i) => i !== undefined);
  if (byEvent) return matched(byEvent, 1, [], contexts);

  // An exact intent name as a button payload selects that intent directly.
  const direct = input.postbackPayload ? byName.get(input.postbackPayload) : undefined;
  const chosen = input.chosen && byName.has(input.chosen.intent) ? input.chosen : undefined;
  // A choice made elsewhere is trusted as is, whatever confidence it reports.
  const classification = chosen
    ? {
        intent: chosen.intent,
        confidence: chosen.confidence,
        ranking: [{ intent: chosen.intent, confidence: Math.max(chosen.confidence, model.threshold) }],
      }
    : model.classify(text, input.sentenceVector);
  const candidates = classification.ranking.filter((r) =>
    (byName.get(r.intent)?.inputContexts ?? []).every((c) => activeNames.has(c)),
  );
  const eligible = byPriority(candidates, byName, model.threshold);
  const confident = direct
    ? { intent: direct.name, confidence: 1 }
    : eligible && eligible.confidence >= model.threshold
      ? eligible
      : undefined;

  const pending = input.state?.pending;
  if (pending) {
    const intent = byName.get(pending.intent);
    const filled = intent && fill(intent, entities, pending.parameters, pending.spans);
    // A message holding the value asked for answers the question, whatever else it resembles.
    const answered = filled?.parameters[pending.missing] !== undefined;
    const movedOn =
      !answered && confident && confident.intent !== pending.intent && !byName.get(confident.intent)?.isFallback;
    if (intent && filled && !movedOn) {
      const { parameters, spans, missing } = filled;
      if (!missing) {
        const active = withOutputContexts(intent, contexts, parameters, spans);
        return {
          intent: intent.name,
          confidence: 1,
          parameters,
          parameterSpans: spans,
          allRequiredParamsPresent: true,
          contexts: active,
          state: { contexts: active },
        };
      }
      const attempts = missing.name === pending.missing ? pending.attempts + 1 : 1;
      if (attempts <= MAX_PROMPTS) {
        return {
          intent: intent.name,
          confidence: 1,
          parameters,
          parameterSpans: spans,
          allRequiredParamsPresent: false,
          prompt: promptFor(missing, attempts),
          contexts,
          state: { contexts, pending: { intent: intent.name, parameters, spans, missing: missing.name, attempts } },
        };
      }
      // Asked enough: let the fallback handle it rather than loop.
      return {
        intent: fallback,
        confidence: 0,
        parameters: {},
        parameterSpans: {},
        allRequiredParamsPresent: true,
        contexts,
        state: { contexts },
      };
    }
  }

  if (confident)
    return matched(
      byName.get(confident.intent)!,
      confident.confidence,
      entities,
      contexts,
      chosen?.intent === confident.intent ? chosen.parameters : undefined,
    );
  return {
    intent: fallback,
    confidence: classification.confidence,
    parameters: {},
    parameterSpans: {},
    allRequiredParamsPresent: true,
    contexts,
    state: { contexts },
  };
}

/**
 * Dialogflow's priorities, for a classifier whose confidences add up to one: intents the text
 * matches about equally well (within PRIORITY_MARGIN of the best) split the confidence between them.
 * When they differ in priority and together reach the threshold, the text surely means one of them,
 * and the one of highest priority is chosen, with their combined confidence. Otherwise (one clear
 * best, or equal priorities) the best match stands as it is.
 */
function byPriority(
  ranking: { intent: string; confidence: number }[],
  byName: Map<string, IntentDefinition>,
  threshold: number,
): { intent: string; confidence: number } | undefined {
  const best = ranking[0];
  if (!best) return undefined;
  const priority = (intent: string) => byName.get(intent)?.priority ?? NORMAL_PRIORITY;
  const close = ranking.filter((r) => r.confidence >= best.confidence - PRIORITY_MARGIN);
  const together = close.reduce((sum, r) => sum + r.confidence, 0);
  if (close.every((r) => priority(r.intent) === priority(best.intent)) || together < threshold) return best;
  const chosen = close.reduce((top, r) => (priority(r.intent) > priority(top.intent) ? r : top));
  return { intent: chosen.intent, confidence: together };
}

/** Output contexts a fulfillment backend set replace the active ones of the same name. */
export function applyOutputContexts(state: DialogState, contexts: DialogContext[]): DialogState {
  const names = new Set(contexts.map((c) => c.name));
  const kept = (state.contexts ?? []).filter((c) => !names.has(c.name));
  return { ...state, contexts: [...kept, ...contexts.filter((c) => c.lifespanCount > 0)] };
}

/**
 * Hybrid understanding: the offline model first; only when it finds no confident intent (and no
 * question is pending) is the LLM asked. Its failures leave the offline answer standing.
 */
export async function understandHybrid(input: UnderstandInput, llm: LlmClassifier | undefined): Promise<Understanding> {
  const text = input.text?.trim();
  if (
    !llm ||
    !text ||
    input.events?.length ||
    input.state?.pending ||
    input.postbackPayload ||
    input.model.classify(text, input.sentenceVector).intent !== null
  )
    return understand(input);
  const choice = await llm.classify(text, input.model.intents);
  return understand(choice ? { ...input, chosen: choice } : input);
}
