import type { InboundMessage, Reply } from "@cb/core";
import type { Db, Prisma } from "@cb/db";
import type { AccountDirectory } from "./accounts.ts";
import { sendReplies } from "./outbound.ts";
import type { Fulfill, TenantInfo, Understand, Understanding } from "./ports.ts";

export interface TurnDeps {
  db: Db;
  accounts: AccountDirectory;
  understand: Understand;
  fulfill: Fulfill;
}

export interface TurnResult {
  intent?: string;
  replies: number;
  skipped?: "already processed" | "not addressed to the bot" | "nothing to answer";
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

async function chooseReplies(deps: TurnDeps, input: { tenant: TenantInfo; conversationId: string; messageId: string; message: InboundMessage; raw: unknown; understanding: Understanding }) {
  const { db } = deps;
  const { understanding, tenant } = input;
  if (understanding.prompt) return { replies: [{ type: "text", text: understanding.prompt }] as Reply[], contexts: understanding.contexts };

  const intent = await db.intent.findUnique({
    where: { tenantId_name: { tenantId: tenant.id, name: understanding.intent } },
    include: { fulfillmentEndpoint: true },
  });
  const staticReplies = (intent?.responses ?? []) as unknown as Reply[];
  if (!intent?.fulfillmentEndpoint) return { replies: staticReplies, contexts: understanding.contexts };

  const endpoint = intent.fulfillmentEndpoint;
  const outcome = await deps.fulfill({
    tenant,
    conversationId: input.conversationId,
    message: input.message,
    raw: input.raw,
    intent: { id: intent.id, name: intent.name },
    understanding,
    endpoint: { id: endpoint.id, url: endpoint.url, timeoutMs: endpoint.timeoutMs, secrets: endpoint.secrets },
  });
  await db.fulfillmentCall.create({
    data: {
      tenantId: tenant.id,
      messageId: input.messageId,
      endpointId: endpoint.id,
      intent: intent.name,
      ok: outcome.ok,
      httpStatus: outcome.httpStatus ?? null,
      latencyMs: Math.round(outcome.latencyMs),
      error: outcome.ok ? null : outcome.error,
    },
  });
  if (!outcome.ok) return { replies: staticReplies, contexts: understanding.contexts };
  // A backend that answers nothing leaves the intent's own response standing.
  return { replies: outcome.replies.length ? outcome.replies : staticReplies, contexts: outcome.contexts ?? understanding.contexts };
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
  const tenant: TenantInfo = { id: stored.tenant.id, language: stored.tenant.language, timezone: stored.tenant.timezone };

  const markProcessed = (data: Prisma.ConversationUpdateInput = {}) =>
    db.$transaction([
      db.message.update({ where: { id: messageId }, data: { status: "processed" } }),
      db.conversation.update({ where: { id: conversation.id }, data }),
    ]);

  if (message.addressedToBot === false) {
    await markProcessed();
    return { replies: 0, skipped: "not addressed to the bot" };
  }
  if (!message.text && !message.postback && !message.command) {
    await markProcessed();
    return { replies: 0, skipped: "nothing to answer" };
  }

  const understanding = await deps.understand({ tenant, message, state: conversation.state });
  const { replies } = await chooseReplies(deps, { tenant, conversationId: conversation.id, messageId, message, raw: stored.raw, understanding });

  const sender = await deps.accounts.sender(stored.channelAccountId);
  const target = { tenantId: tenant.id, channelAccountId: stored.channelAccountId, conversationId: conversation.id, to: message.conversation };
  await sendReplies(db, sender, target, replies, { key: messageId, context: { inReplyTo: message } });
  if (message.postback) await sender.acknowledge?.(message).catch(() => {});

  await markProcessed({ state: json(understanding.state) });
  return { intent: understanding.intent, replies: replies.length };
}
