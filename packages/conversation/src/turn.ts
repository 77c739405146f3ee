import { responsesFor, type InboundMessage, type IntentResponse, type Reply } from "@cb/core";
import type { Db, Pool } from "@cb/db";
import type { NewEvent } from "@cb/event-webhooks";
import type { AccountDirectory } from "./accounts.ts";
import { handleOptKeywords, type OptSettings } from "./opt-out.ts";
import { sendReplies } from "./outbound.ts";
import { findIntent, finishTurn, loadInbound, recordFulfillment } from "./turn-store.ts";
import type { ApplyContexts, DialogContext, Fulfill, TenantInfo, Understand, Understanding } from "./ports.ts";
import type { TurnFulfillment, TurnFulfillmentCall, TurnOutcome, TurnRecord } from "./turn-record.ts";

export interface TurnDeps {
  db: Db;
  /** The pool under db: the turn's own reads and writes are plain SQL (turn-store.ts). */
  pool: Pool;
  accounts: AccountDirectory;
  understand: Understand;
  fulfill: Fulfill;
  applyContexts: ApplyContexts;
  /** Told what each turn did, once it is recorded (the worker logs it at debug). */
  onTurn?: (turn: { tenantId: string; conversationId: string; messageId: string; record: TurnRecord }) => void;
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
interface Chosen {
  replies: Reply[];
  contexts?: DialogContext[];
  failures: { endpointId: string; intent: string; error: string; httpStatus?: number }[];
  fulfillment: TurnFulfillment;
}

async function chooseReplies(
  deps: TurnDeps,
  input: TurnInput,
  understanding: Understanding,
  depth = 0,
): Promise<Chosen> {
  if (understanding.prompt)
    return {
      replies: [{ type: "text", text: understanding.prompt }],
      failures: [],
      fulfillment: { status: "prompt", responses: 0, calls: [] },
    };

  const intent = await findIntent(deps.pool, input.tenant.id, understanding.intent);
  const staticReplies = responsesFor((intent?.responses ?? []) as IntentResponse[], input.message.channel);
  const responses = staticReplies.length;
  if (!intent) return { replies: [], failures: [], fulfillment: { status: "no intent", responses, calls: [] } };
  if (!intent.endpoint)
    return { replies: staticReplies, failures: [], fulfillment: { status: "none", responses, calls: [] } };

  const { endpoint } = intent;
  const outcome = await deps.fulfill({
    ...input,
    intent: { id: intent.id, name: intent.name },
    understanding,
    endpoint,
  });
  const call: TurnFulfillmentCall = {
    intent: intent.name,
    ok: outcome.ok,
    ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
    latencyMs: Math.round(outcome.latencyMs),
    ...(outcome.ok ? {} : { error: outcome.error }),
  };
  await recordFulfillment(deps.pool, {
    tenantId: input.tenant.id,
    messageId: input.messageId,
    endpointId: endpoint.id,
    intent: intent.name,
    ok: call.ok,
    httpStatus: call.httpStatus ?? null,
    latencyMs: call.latencyMs,
    error: call.error ?? null,
  });
  if (!outcome.ok)
    return {
      replies: staticReplies,
      failures: [
        {
          endpointId: endpoint.id,
          intent: intent.name,
          error: outcome.error,
          ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
        },
      ],
      fulfillment: { status: "failed", responses, calls: [call] },
    };
  if (outcome.followupEvent && depth < MAX_FOLLOWUPS) {
    const next = await chooseReplies(
      deps,
      input,
      {
        ...understanding,
        intent: outcome.followupEvent.name,
        parameters: { ...understanding.parameters, ...outcome.followupEvent.parameters },
      },
      depth + 1,
    );
    return {
      replies: [...outcome.replies, ...next.replies],
      failures: next.failures,
      ...((next.contexts ?? outcome.contexts) ? { contexts: next.contexts ?? outcome.contexts } : {}),
      fulfillment: { status: "ok", responses, calls: [call, ...next.fulfillment.calls] },
    };
  }
  // A backend that answers nothing leaves the intent's own response standing.
  return {
    replies: outcome.replies.length ? outcome.replies : staticReplies,
    failures: [],
    ...(outcome.contexts ? { contexts: outcome.contexts } : {}),
    fulfillment: { status: "ok", responses, calls: [call] },
  };
}

/**
 * One turn: understand the stored inbound message, fulfill it, send the replies, and keep the
 * dialog state. Idempotent: a job run again after a crash skips what is already done.
 */
export async function handleMessage(deps: TurnDeps, messageId: string): Promise<TurnResult> {
  const { db, pool } = deps;
  const started = performance.now();
  const stored = await loadInbound(pool, messageId);
  if (!stored || stored.status === "processed") return { replies: 0, skipped: "already processed" };
  const message = stored.content as InboundMessage;
  const conversation = stored.conversation;
  const tenant: TenantInfo = {
    id: stored.tenant.id,
    language: stored.tenant.language,
    timezone: stored.tenant.timezone,
    nluSettings: stored.tenant.nluSettings as TenantInfo["nluSettings"],
    trainingRevision: stored.tenant.trainingRevision,
  };

  const base = { conversationId: conversation.id, channelAccountId: stored.channelAccountId, channel: message.channel };
  const events: NewEvent[] = [{ type: "message.received", data: { ...base, messageId, message } }];
  if (stored.first)
    events.unshift({ type: "conversation.started", data: { ...base, externalId: conversation.externalId } });

  const finish = async (outcome: TurnOutcome, state?: unknown) => {
    const record: TurnRecord = { ...outcome, latencyMs: Math.round(performance.now() - started) };
    await finishTurn(pool, {
      tenantId: tenant.id,
      messageId,
      conversationId: conversation.id,
      ...(state !== undefined ? { state } : {}),
      events,
      record,
    });
    deps.onTurn?.({ tenantId: tenant.id, conversationId: conversation.id, messageId, record });
  };

  if (message.addressedToBot === false) {
    await finish({ skipped: "not addressed to the bot", replies: 0 });
    return { replies: 0, skipped: "not addressed to the bot" };
  }
  if (!message.text && !message.postback) {
    await finish({ skipped: "nothing to answer", replies: 0 });
    return { replies: 0, skipped: "nothing to answer" };
  }

  const sender = await deps.accounts.sender(stored.channelAccountId);
  const target = {
    tenantId: tenant.id,
    channelAccountId: stored.channelAccountId,
    conversationId: conversation.id,
    to: message.conversation,
  };

  // Keywords are plain words; commands such as Telegram's /start are not opt-outs or opt-ins.
  if (message.text && !message.postback && !message.command) {
    const confirmation = await handleOptKeywords(db, {
      tenantId: tenant.id,
      channelAccountId: stored.channelAccountId,
      externalId: message.conversation.externalId,
      text: message.text,
      settings: stored.tenant.notificationSettings as OptSettings,
    });
    if (confirmation) {
      await sendReplies(pool, sender, target, [{ type: "text", text: confirmation }], {
        key: messageId,
        context: { inReplyTo: message },
      });
      await finish({ skipped: "opt-out keyword", replies: 1 });
      return { replies: 1 };
    }
  }

  const understanding = await deps.understand({ tenant, message, state: conversation.state });
  events.push({
    type: "intent.matched",
    data: {
      ...base,
      messageId,
      intent: understanding.intent,
      confidence: understanding.confidence,
      parameters: understanding.parameters,
    },
  });
  const input: TurnInput = { tenant, conversationId: conversation.id, messageId, message, raw: stored.raw };
  const { replies, contexts, failures, fulfillment } = await chooseReplies(deps, input, understanding);
  for (const failure of failures) events.push({ type: "fulfillment.failed", data: { ...base, messageId, ...failure } });

  const outbound = await sendReplies(pool, sender, target, replies, {
    key: messageId,
    context: { inReplyTo: message },
  });
  for (const [n, result] of outbound.entries()) {
    events.push({
      type: result.status === "sent" ? "message.sent" : "message.failed",
      data: {
        ...base,
        messageId: result.id,
        inReplyTo: messageId,
        reply: replies[n],
        platformMessageId: result.platformMessageId,
        ...(result.error ? { error: result.error } : {}),
      },
    });
  }
  // Answering a button press only stops the client's spinner; failing to do so loses nothing.
  if (message.postback) await sender.acknowledge?.(message).catch(() => {});

  const after = contexts
    ? deps.applyContexts(understanding.state, contexts)
    : { state: understanding.state, contexts: understanding.contexts };
  await finish(
    {
      intent: understanding.intent,
      confidence: understanding.confidence,
      parameters: understanding.parameters,
      contexts: after.contexts.map(({ name, lifespanCount }) => ({ name, lifespanCount })),
      fulfillment,
      replies: replies.length,
    },
    after.state,
  );
  return { intent: understanding.intent, replies: replies.length };
}
