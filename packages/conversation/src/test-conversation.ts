import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { Channel, InboundMessage, Reply } from "@cb/core";
import type { Sql } from "@cb/db";
import { chooseReplies, type TurnDeps } from "./turn.ts";
import type { TenantInfo } from "./ports.ts";

/** One turn of a conversation test: what the customer says (or an event), and what the bot should do. */
export interface TestTurn {
  user?: string;
  event?: string;
  intent?: string;
  /** Each listed parameter must have this value; others are not checked. */
  parameters?: Record<string, unknown>;
  /** The text of the bot's replies, one a line, exactly. */
  reply?: string;
  /** A regular expression (JavaScript, `u` flag) the text of the bot's replies must match somewhere. */
  replyMatches?: string;
  /** Contexts that must be active after the turn. */
  contexts?: string[];
}

export interface TestConversation {
  name: string;
  /** The channel the conversation pretends to be on (its platform's responses apply). Default telegram. */
  channel?: Channel;
  turns: TestTurn[];
}

export interface TestFailure {
  field: "intent" | "parameters" | "reply" | "replyMatches" | "contexts";
  expected: unknown;
  actual: unknown;
}

export interface TestTurnResult {
  said: string;
  intent: string;
  confidence: number;
  parameters: Record<string, unknown>;
  replies: string[];
  contexts: string[];
  fulfillment: { status: string; calls: { ok: boolean; httpStatus?: number; latencyMs: number; error?: string }[] };
  /** The fulfillment backend asked for a human agent (not acted on in a test). */
  handoff: boolean;
  failures: TestFailure[];
}

export interface TestConversationResult {
  name: string;
  passed: boolean;
  turns: TestTurnResult[];
  /** Why the turns after the last one reported were not run. */
  stopped?: "time limit";
}

/** The words a reply shows, as a test compares them: a text's (or buttons') text, an image's caption, a card's title. */
function textOf(reply: Reply): string[] {
  switch (reply.type) {
    case "text":
    case "buttons":
      return [reply.text];
    case "image":
      return reply.caption ? [reply.caption] : [];
    case "cards":
      return reply.cards.map((c) => c.title);
    default:
      return [];
  }
}

function check(turn: TestTurn, result: Omit<TestTurnResult, "failures">): TestFailure[] {
  const failures: TestFailure[] = [];
  if (turn.intent !== undefined && turn.intent !== result.intent)
    failures.push({ field: "intent", expected: turn.intent, actual: result.intent });
  if (turn.parameters) {
    const actual = Object.fromEntries(Object.keys(turn.parameters).map((k) => [k, result.parameters[k] ?? null]));
    if (!isDeepStrictEqual(actual, turn.parameters))
      failures.push({ field: "parameters", expected: turn.parameters, actual });
  }
  const text = result.replies.join("\n");
  if (turn.reply !== undefined && turn.reply.trim() !== text.trim())
    failures.push({ field: "reply", expected: turn.reply, actual: text });
  if (turn.replyMatches !== undefined && !new RegExp(turn.replyMatches, "u").test(text))
    failures.push({ field: "replyMatches", expected: turn.replyMatches, actual: text });
  const missing = (turn.contexts ?? []).filter((c) => !result.contexts.includes(c));
  if (missing.length) failures.push({ field: "contexts", expected: turn.contexts, actual: result.contexts });
  return failures;
}

/**
 * Runs a conversation test against the tenant's live configuration: each turn is understood and
 * answered by the real engine (the tenant's model, slot filling, contexts, its fulfillment backends
 * called as in a real turn), in a conversation that exists only here. Nothing is stored and nothing
 * sent: the dialog state is carried from turn to turn in memory, the replies are collected instead of
 * going to a platform, and no real conversation (state, contexts, handoff) is read or touched.
 */
export async function runTestConversation(
  deps: Pick<TurnDeps, "understand" | "fulfill" | "applyContexts" | "askForMissing"> & { pool: Sql },
  tenant: TenantInfo,
  test: TestConversation,
  /** Ends the run: turns not yet started are not run, and the conversation fails. */
  signal?: AbortSignal,
): Promise<TestConversationResult> {
  const conversationId = randomUUID();
  const channel = test.channel ?? "telegram";
  const chat = { externalId: `test:${conversationId}`, type: "private" as const };
  let state: unknown;
  const turns: TestTurnResult[] = [];
  for (const [n, turn] of test.turns.entries()) {
    if (signal?.aborted) return { name: test.name, passed: false, turns, stopped: "time limit" };
    const messageId = randomUUID();
    const message: InboundMessage = {
      channel,
      platformEventId: `${conversationId}:${n}`,
      conversation: chat,
      sender: { externalId: "test-user", name: "Conversation test" },
      sentAt: new Date().toISOString(),
      ...(turn.user !== undefined ? { text: turn.user } : {}),
      ...(turn.event !== undefined ? { event: { name: turn.event, parameters: {} } } : {}),
    };
    const understanding = await deps.understand({ tenant, message, state });
    const chosen = await chooseReplies(
      deps,
      { tenant, conversationId, messageId, message, raw: { test: true }, unrecorded: true },
      understanding,
      message.event,
    );
    state = chosen.after.state;
    const result = {
      said: turn.user ?? `event ${turn.event}`,
      intent: understanding.intent,
      confidence: understanding.confidence,
      parameters: understanding.parameters,
      replies: chosen.replies.flatMap(textOf),
      contexts: chosen.after.contexts.map((c) => c.name),
      fulfillment: {
        status: chosen.fulfillment.status,
        calls: chosen.fulfillment.calls.map(({ ok, httpStatus, latencyMs, error }) => ({
          ok,
          latencyMs,
          ...(httpStatus !== undefined ? { httpStatus } : {}),
          ...(error !== undefined ? { error } : {}),
        })),
      },
      handoff: chosen.handoff === true,
    };
    turns.push({ ...result, failures: check(turn, result) });
  }
  return { name: test.name, passed: turns.every((t) => t.failures.length === 0), turns };
}
