import { randomUUID } from "node:crypto";
import type { ChannelSender, InboundMessage } from "@cb/core";
import { transaction, type Pool, type Sql } from "@cb/db";
import { emitEvents, type NewEvent } from "@cb/event-webhooks";
import { addJob } from "@cb/jobs";
import { DEFAULT_FALLBACK } from "@cb/nlu";
import { CONVERSATION_QUEUE_PREFIX } from "./expand.ts";
import { sendReplies, type OutboundResult, type OutboundTarget } from "./outbound.ts";

/**
 * Human handoff. A conversation is answered by the bot (`bot`), waits for an agent (`pending`), or
 * is with one (`human`, its assignee named). While not `bot`, the turn stores and announces the
 * customer's messages but does not answer them, except for one waiting notice per handoff.
 */
export type Mode = "bot" | "pending" | "human";
/** What started a handoff: a handoff intent, a fulfillment answer, the fallback limit, or an operator. */
export type HandoffReason = "intent" | "fulfillment" | "fallback" | "operator";

/** Tenant.handoffSettings. */
export interface HandoffSettings {
  waitingMessage?: string;
  /** Fallback intents matched in a row that hand the conversation over; absent: never. */
  fallbackLimit?: number;
  /** Minutes without a message from either side after which the bot takes the conversation back. */
  idleMinutes?: number;
}

export const DEFAULT_WAITING_MESSAGE = "Thanks for your patience: an agent will be with you shortly.";
export const DEFAULT_IDLE_MINUTES = 60;
/** The job that returns an idle handoff to the bot; payload { conversationId, handoffId }. */
export const HANDOFF_IDLE = "handoff-idle";

interface Locked {
  id: string;
  tenantId: string;
  channelAccountId: string;
  channel: string;
  mode: Mode;
  assignee: string | null;
  handoffId: string | null;
  handoffActivityAt: Date | null;
  settings: HandoffSettings;
}

// The row is locked for the transaction: transitions from the API, the turn and the idle job
// serialize on it, so each event is emitted exactly once.
const LOCK = `
SELECT c.id, c."tenantId", c."channelAccountId", a.channel, c.mode, c.assignee, c."handoffId",
  c."handoffActivityAt", t."handoffSettings" AS settings
FROM "Conversation" c JOIN "ChannelAccount" a ON a.id = c."channelAccountId" JOIN "Tenant" t ON t.id = c."tenantId"
WHERE c.id = $1::uuid AND ($2::uuid IS NULL OR c."tenantId" = $2::uuid)
FOR UPDATE OF c`;

async function lock(sql: Sql, conversationId: string, tenantId: string | null): Promise<Locked | null> {
  const { rows } = await sql.query<Record<string, unknown>>({ text: LOCK, values: [conversationId, tenantId] });
  const row = rows[0];
  if (!row) return null;
  return {
    ...(row as unknown as Locked),
    handoffActivityAt: row.handoffActivityAt ? new Date(row.handoffActivityAt as string) : null,
  };
}

const idleMs = (settings: HandoffSettings) => (settings.idleMinutes ?? DEFAULT_IDLE_MINUTES) * 60_000;

function scheduleIdle(sql: Sql, c: Pick<Locked, "id" | "handoffId">, runAt: Date): Promise<void> {
  return addJob(
    sql,
    HANDOFF_IDLE,
    { conversationId: c.id, handoffId: c.handoffId },
    { runAt, jobKey: `${HANDOFF_IDLE}:${c.id}`, queueName: `${CONVERSATION_QUEUE_PREFIX}${c.id}` },
  );
}

const base = (c: Locked) => ({
  conversationId: c.id,
  channelAccountId: c.channelAccountId,
  channel: c.channel,
  handoffId: c.handoffId,
});

export interface HandoffState {
  mode: Mode;
  assignee: string | null;
  handoffId: string | null;
}
const stateOf = (c: Locked): HandoffState => ({ mode: c.mode, assignee: c.assignee, handoffId: c.handoffId });

/**
 * Hands the conversation to an agent, in the caller's transaction: from `bot` it becomes `pending`
 * (or `human` when an assignee is given) under a new handoff id, with `handoff.requested` (and
 * `handoff.assigned`) and its idle job; already in a handoff, an assignee different from the
 * current one is assigned (`handoff.assigned`), anything else changes nothing. Null: no such
 * conversation (of that tenant).
 */
export async function requestHandoff(
  sql: Sql,
  input: { conversationId: string; tenantId?: string; reason: HandoffReason; assignee?: string; messageId?: string },
): Promise<HandoffState | null> {
  const c = await lock(sql, input.conversationId, input.tenantId ?? null);
  if (!c) return null;
  const assignee = input.assignee ?? null;
  const events: NewEvent[] = [];
  if (c.mode === "bot") {
    c.mode = assignee ? "human" : "pending";
    c.assignee = assignee;
    c.handoffId = randomUUID();
    await sql.query({
      text: `UPDATE "Conversation" SET mode = $2, assignee = $3, "handoffId" = $4::uuid, "handoffReason" = $5,
               "handoffAt" = now(), "handoffActivityAt" = now(), "fallbackStreak" = 0 WHERE id = $1::uuid`,
      values: [c.id, c.mode, assignee, c.handoffId, input.reason],
    });
    await scheduleIdle(sql, c, new Date(Date.now() + idleMs(c.settings)));
    events.push({
      type: "handoff.requested",
      data: { ...base(c), reason: input.reason, ...(input.messageId ? { messageId: input.messageId } : {}) },
    });
    if (assignee) events.push({ type: "handoff.assigned", data: { ...base(c), assignee } });
  } else if (assignee && assignee !== c.assignee) {
    const previous = c.assignee;
    c.mode = "human";
    c.assignee = assignee;
    await sql.query({
      text: `UPDATE "Conversation" SET mode = 'human', assignee = $2, "handoffActivityAt" = now() WHERE id = $1::uuid`,
      values: [c.id, assignee],
    });
    events.push({ type: "handoff.assigned", data: { ...base(c), assignee, previousAssignee: previous } });
  }
  await emitEvents(sql, c.tenantId, events);
  return stateOf(c);
}

/**
 * Gives the conversation back to the bot (`handoff.ended`), in the caller's transaction. With
 * `handoffId`, only that handoff is ended (a late idle job leaves a newer one alone). Already
 * `bot`: nothing changes. Null: no such conversation (of that tenant).
 */
export async function endHandoff(
  sql: Sql,
  input: { conversationId: string; tenantId?: string; reason: "agent" | "idle"; handoffId?: string },
): Promise<HandoffState | null> {
  const c = await lock(sql, input.conversationId, input.tenantId ?? null);
  if (!c) return null;
  if (c.mode === "bot" || (input.handoffId && input.handoffId !== c.handoffId)) return stateOf(c);
  await sql.query({
    text: `UPDATE "Conversation" SET mode = 'bot', assignee = NULL, "handoffReason" = NULL, "handoffAt" = NULL,
             "handoffActivityAt" = NULL WHERE id = $1::uuid`,
    values: [c.id],
  });
  await emitEvents(sql, c.tenantId, [
    { type: "handoff.ended", data: { ...base(c), reason: input.reason, assignee: c.assignee } },
  ]);
  return { mode: "bot", assignee: null, handoffId: c.handoffId };
}

/**
 * The idle job: ends the handoff once nothing was said in it for the tenant's idle time, else
 * comes back when that time would be up. Run again, or late, it changes nothing more.
 */
export async function returnIdleHandoff(
  pool: Pool,
  payload: { conversationId: string; handoffId: string },
  now = () => new Date(),
): Promise<void> {
  await transaction(pool, async (sql) => {
    const c = await lock(sql, payload.conversationId, null);
    if (!c || c.mode === "bot" || c.handoffId !== payload.handoffId) return;
    const due = new Date((c.handoffActivityAt ?? now()).getTime() + idleMs(c.settings));
    if (due > now()) return scheduleIdle(sql, c, due);
    await endHandoff(sql, { conversationId: c.id, reason: "idle", handoffId: c.handoffId ?? undefined });
  });
}

/** What the turn knows of the conversation and tenant, for the handoff checks. */
export interface HandoffContext {
  pool: Pool;
  sender: ChannelSender;
  target: OutboundTarget;
  message: InboundMessage;
  messageId: string;
  settings: HandoffSettings;
  /** The turn's events: the waiting notice's message.sent / message.failed join them. */
  events: NewEvent[];
  base: Record<string, unknown>;
}

/** Sends the handoff's one waiting notice; 1 when this call sent it, 0 when an earlier one had. */
async function sendWaitingNotice(ctx: HandoffContext, handoffId: string): Promise<number> {
  const key = `handoff:${handoffId}`;
  const { rows } = await ctx.pool.query({
    name: "handoff-notice-sent",
    text: `SELECT 1 FROM "Message" WHERE "channelAccountId" = $1::uuid AND direction = 'out' AND "dedupeKey" = $2`,
    values: [ctx.target.channelAccountId, `${key}:0`],
  });
  if (rows.length) return 0;
  const reply = { type: "text" as const, text: ctx.settings.waitingMessage ?? DEFAULT_WAITING_MESSAGE };
  const [result] = await sendReplies(ctx.pool, ctx.sender, ctx.target, [reply], {
    key,
    context: { inReplyTo: ctx.message },
  });
  if (result) ctx.events.push(sentEvent(ctx, result, reply));
  return 1;
}

function sentEvent(ctx: HandoffContext, result: OutboundResult, reply: unknown): NewEvent {
  return {
    type: result.status === "sent" ? "message.sent" : "message.failed",
    data: {
      ...ctx.base,
      messageId: result.id,
      inReplyTo: ctx.messageId,
      reply,
      platformMessageId: result.platformMessageId,
      ...(result.error ? { error: result.error } : {}),
    },
  };
}

/**
 * A customer's message while the conversation is with (or waiting for) an agent: the bot stays
 * silent but for the handoff's waiting notice; the message keeps the handoff from going idle.
 * Returns the replies sent (0 or 1).
 */
export async function answerDuringHandoff(ctx: HandoffContext, handoffId: string): Promise<number> {
  await ctx.pool.query({
    name: "handoff-activity",
    text: `UPDATE "Conversation" SET "handoffActivityAt" = now() WHERE id = $1::uuid AND mode <> 'bot'`,
    values: [ctx.target.conversationId],
  });
  return sendWaitingNotice(ctx, handoffId);
}

// Whether the matched intent hands over, and the fallback streak after this turn (written only
// when it changes).
const CHECK_TURN = `
WITH i AS (SELECT handoff, "isFallback" FROM "Intent" WHERE "tenantId" = $1::uuid AND name = $2),
fallback AS (SELECT COALESCE((SELECT "isFallback" FROM i), $2 = $4) AS yes),
streak AS (
  UPDATE "Conversation" SET "fallbackStreak" = CASE WHEN (SELECT yes FROM fallback) THEN "fallbackStreak" + 1 ELSE 0 END
  WHERE id = $3::uuid AND ((SELECT yes FROM fallback) OR "fallbackStreak" <> 0)
  RETURNING "fallbackStreak"
)
SELECT COALESCE((SELECT handoff FROM i), false) AS handoff, COALESCE((SELECT "fallbackStreak" FROM streak), 0) AS streak`;

/**
 * Whether this turn hands the conversation over: the intent is a handoff intent, the fulfillment
 * answer asked for it, or the fallback matched the tenant's limit of times in a row (the streak is
 * counted here). Null: the bot keeps it. `known`: the intent as the turn read it and the streak as
 * its message was loaded; when the intent is no fallback and the streak is 0 there is nothing to
 * write, and no statement (the usual turn). A conversation's turns run one at a time, so the streak
 * cannot have moved meanwhile.
 */
export async function handoffReason(
  pool: Pool,
  turn: {
    tenantId: string;
    conversationId: string;
    intent: string;
    fulfillmentAsked: boolean;
    settings: HandoffSettings;
    known?: { intent: { handoff: boolean; isFallback: boolean } | null; streak: number };
  },
): Promise<Exclude<HandoffReason, "operator"> | null> {
  const { known } = turn;
  const fallback = known && (known.intent ? known.intent.isFallback : turn.intent === DEFAULT_FALLBACK);
  const check =
    known && !fallback && known.streak === 0
      ? { handoff: known.intent?.handoff ?? false, streak: 0 }
      : await checkTurn(pool, turn);
  const limit = turn.settings.fallbackLimit;
  if (check.handoff) return "intent";
  if (turn.fulfillmentAsked) return "fulfillment";
  return limit && check.streak >= limit ? "fallback" : null;
}

async function checkTurn(
  pool: Pool,
  turn: { tenantId: string; conversationId: string; intent: string },
): Promise<{ handoff: boolean; streak: number }> {
  const { rows } = await pool.query<{ handoff: boolean; streak: number }>({
    name: "handoff-check-turn",
    text: CHECK_TURN,
    values: [turn.tenantId, turn.intent, turn.conversationId, DEFAULT_FALLBACK],
  });
  return rows[0] ?? { handoff: false, streak: 0 };
}

/**
 * Hands the conversation over once the turn's replies are out, then sends the waiting notice.
 * Run again (a retried turn), it changes nothing more. Returns the notices sent (0 or 1).
 */
export async function handOver(ctx: HandoffContext, reason: Exclude<HandoffReason, "operator">): Promise<number> {
  const state = await transaction(ctx.pool, (sql) =>
    requestHandoff(sql, { conversationId: ctx.target.conversationId, reason, messageId: ctx.messageId }),
  );
  return state?.handoffId && state.mode !== "bot" ? sendWaitingNotice(ctx, state.handoffId) : 0;
}
