import type { InboundMessage, Reply } from "@cb/core";
import type { Db, Prisma } from "@cb/db";
import type { AccountDirectory } from "./accounts.ts";
import { sendReplies } from "./outbound.ts";
import type { ApplyContexts, DialogContext, Fulfill, TenantInfo, Understand, Understanding } from "./ports.ts";

export interface TurnDeps {
  db: Db;
  accounts: AccountDirectory;
  understand: Understand;
  fulfill: Fulfill;
  applyContexts: ApplyContexts;
}

export interface TurnResult {
  intent?: string;
  replies: number;
  skipped?: "already processed" | "not addressed to the bot" | "nothing to answer";
}

interface TurnInput {
  tenant: TenantInfo;
  conversationId: string;
  messageId: string;
  message: InboundMessage;
  raw: unknown;
}

// A backend's followupEventInput may name another intent, whose backend may do the same: bounded.
const MAX_FOLLOWUPS = 3;

/**
 * The replies for an understood message: the intent's fulfillment backend when it has one (its
 * attempt recorded), else, or when it fails, the intent's own static responses.
 */
async function chooseReplies(deps: TurnDeps, input: TurnInput, understanding: Understanding, depth = 0): Promise<{ replies: Reply[]; contexts?: DialogContext[] }> {
  const { db } = deps;
  if (understanding.prompt) return { replies: [{ type: "text", text: understanding.prompt }] };

  const intent = await db.intent.findUnique({
    where: { tenantId_name: { tenantId: input.tenant.id, name: understanding.intent } },
    include: { fulfillmentEndpoint: true },
  });
  const staticReplies = (intent?.responses ?? []) as unknown as Reply[];
  if (!intent?.fulfillmentEndpoint) return { replies: staticReplies };

  const endpoint = intent.fulfillmentEndpoint;
  const outcome = await deps.fulfill({
    ...input,
    intent: { id: intent.id, name: intent.name },
    understanding,
    endpoint: { id: endpoint.id, url: endpoint.url, timeoutMs: endpoint.timeoutMs, secrets: endpoint.secrets },
  });
  await db.fulfillmentCall.create({
    data: {
      tenantId: input.tenant.id,
      messageId: input.messageId,
      endpointId: endpoint.id,
      intent: intent.name,
      ok: outcome.ok,
      httpStatus: outcome.httpStatus ?? null,
      latencyMs: Math.round(outcome.latencyMs),
      error: outcome.ok ? null : outcome.error,
    },
  });
  if (!outcome.ok) return { replies: staticReplies };
  if (outcome.followupEvent && depth < MAX_FOLLOWUPS) {
    const next = await chooseReplies(
      deps,
      input,
      { ...understanding, intent: outcome.followupEvent.name, parameters: { ...understanding.parameters, ...outcome.followupEvent.parameters } },
      depth + 1,
    );
    return { replies: [...outcome.replies, ...next.replies], ...((next.contexts ?? outcome.contexts) ? { contexts: next.contexts ?? outcome.contexts } : {}) };
  }
  // A backend that answers nothing leaves the intent's own response standing.
  return { replies: outcome.replies.length ? outcome.replies : staticReplies, ...(outcome.contexts ? { contexts: outcome.contexts } : {}) };
}

/**
 * One turn: understand the stored inbound message, fulfill it, send the replies, and keep the
 * dialog state. Idempotent: a job run again after a crash skips what is already done.
 */
export async function handleMessage(deps: TurnDeps, messageId: string): Promise<TurnResult> {
  const { db } = deps;
  const stored = await db.message.findUnique({ where: { id: messageId }, include: { conversation: true, tenant: true } });
  if (!stored || stored.status === "processed") return { replies: 0, skipped: "already processed" };
  const message = stored.content as unknown as InboundMessage;
  const conversation = stored.conversation;
  const tenant: TenantInfo = { id: stored.tenant.id, language: stored.tenant.language, timezone: stored.tenant.timezone, nluSettings: stored.tenant.nluSettings as TenantInfo["nluSettings"] };

  const finish = (state?: unknown) =>
    db.$transaction([
      db.message.update({ where: { id: messageId }, data: { status: "processed" } }),
      ...(state === undefined ? [] : [db.conversation.update({ where: { id: conversation.id }, data: { state: state as Prisma.InputJsonValue } })]),
    ]);

  if (message.addressedToBot === false) {
    await finish();
    return { replies: 0, skipped: "not addressed to the bot" };
  }
  if (!message.text && !message.postback) {
    await finish();
    return { replies: 0, skipped: "nothing to answer" };
  }

  const understanding = await deps.understand({ tenant, message, state: conversation.state });
  const input: TurnInput = { tenant, conversationId: conversation.id, messageId, message, raw: stored.raw };
  const { replies, contexts } = await chooseReplies(deps, input, understanding);

  const sender = await deps.accounts.sender(stored.channelAccountId);
  const target = { tenantId: tenant.id, channelAccountId: stored.channelAccountId, conversationId: conversation.id, to: message.conversation };
  await sendReplies(db, sender, target, replies, { key: messageId, context: { inReplyTo: message } });
  // Answering a button press only stops the client's spinner; failing to do so loses nothing.
  if (message.postback) await sender.acknowledge?.(message).catch(() => {});

  await finish(contexts ? deps.applyContexts(understanding.state, contexts) : understanding.state);
  return { intent: understanding.intent, replies: replies.length };
}
