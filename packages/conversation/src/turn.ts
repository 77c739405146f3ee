import { randomUUID } from "node:crypto";
import { responsesFor, type InboundMessage, type IntentResponse, type Reply } from "@cb/core";
import type { Db, Pool, Sql } from "@cb/db";
import type { NewEvent } from "@cb/event-webhooks";
import type { FollowupSchedule } from "@cb/fulfillment";
import type { AccountDirectory } from "./accounts.ts";
import { answerDuringHandoff, handOver, handoffReason, type HandoffContext, type HandoffSettings } from "./handoff.ts";
import { handleOptKeywords, type OptSettings } from "./opt-out.ts";
import { sendReplies, sendStoredReplies, type StoredReply } from "./outbound.ts";
import { renderReplies, type PlaceholderScope } from "./placeholders.ts";
import { cancelFollowupsOnReply, scheduleFollowup } from "./scheduled.ts";
import {
  findIntent,
  findIntentByEvent,
  finishTurn,
  loadInbound,
  recordFulfillment,
  savePlan,
  type IntentToFulfill,
  type TurnPlan,
} from "./turn-store.ts";
import type {
  ApplyContexts,
  AskForMissing,
  DialogContext,
  Fulfill,
  TenantInfo,
  Understand,
  Understanding,
} from "./ports.ts";
import type { TurnFulfillment, TurnFulfillmentCall, TurnOutcome, TurnRecord } from "./turn-record.ts";
import { welcomeEvents } from "./welcome.ts";

export interface TurnDeps {
  db: Db;
  /** The pool under db: the turn's own reads and writes are plain SQL (turn-store.ts). */
  pool: Pool;
  accounts: AccountDirectory;
  understand: Understand;
  fulfill: Fulfill;
  applyContexts: ApplyContexts;
  askForMissing: AskForMissing;
  /** Told what each turn did, once it is recorded (the worker logs it at debug). */
  onTurn?: (turn: { tenantId: string; conversationId: string; messageId: string; record: TurnRecord }) => void;
}

export interface TurnResult {
  intent?: string;
  replies: number;
  skipped?: "already processed" | "not addressed to the bot" | "nothing to answer" | "with an agent";
}

export interface TurnInput {
  tenant: TenantInfo;
  conversationId: string;
  messageId: string;
  message: InboundMessage;
  raw: unknown;
  /** A conversation test's turn (test-conversation.ts): no stored message, so its fulfillment calls are not recorded. */
  unrecorded?: boolean;
}

// A backend's followupEventInput may trigger an intent whose backend does the same: bounded.
const MAX_FOLLOWUPS = 3;

/**
 * The `responseId` (and so the `webhook-id`) of a turn's fulfillment call: the same on every retry of
 * the message's job, so a backend can tell a retry from a new request; one per follow-up depth.
 */
export const responseIdFor = (messageId: string, depth: number) => `${messageId}-${depth}`;

/**
 * The replies for an understood message: the intent's fulfillment backend when it has one (its
 * attempt recorded), else, or when it fails, the intent's own static responses (or, while a required
 * parameter is missing, its prompt); and the dialog state after them.
 */
export interface Chosen {
  /** The understood intent as stored (null: the tenant has none of that name), not a follow-up's. */
  matched: IntentToFulfill | null;
  replies: Reply[];
  after: { state: unknown; contexts: DialogContext[] };
  failures: { endpointId: string; intent: string; error: string; httpStatus?: number }[];
  fulfillment: TurnFulfillment;
  /** A fulfillment answer asked for a human agent (`payload.handoff: true`). */
  handoff?: boolean;
  /** A fulfillment answer scheduled a follow-up into the conversation (`payload.schedule`). */
  schedule?: FollowupSchedule;
}

/** An intent's output contexts as set when it completes: full lifespan, its parameters and their text. */
function outputContexts(intent: IntentToFulfill, understanding: Understanding): DialogContext[] {
  const originals = Object.fromEntries(
    Object.entries(understanding.parameterSpans ?? {}).map(([k, v]) => [`${k}.original`, v]),
  );
  return intent.outputContexts.map((o) => ({
    name: o.name,
    lifespanCount: o.lifespan,
    parameters: { ...understanding.parameters, ...originals },
  }));
}

export async function chooseReplies(
  // A conversation test's turn reads intents through Prisma (the admin API has no pool of its own).
  deps: Pick<TurnDeps, "fulfill" | "applyContexts" | "askForMissing"> & { pool: Sql },
  input: TurnInput,
  understanding: Understanding,
  event?: { name: string; parameters: Record<string, unknown> },
  depth = 0,
): Promise<Chosen> {
  const intent = await findIntent(deps.pool, input.tenant.id, understanding.intent);
  const stored = responsesFor((intent?.responses ?? []) as IntentResponse[], input.message.channel);
  const prompting = understanding.prompt !== undefined;
  const responses = prompting ? 0 : stored.length;
  const scope: PlaceholderScope = {
    parameters: understanding.parameters,
    ...(understanding.parameterSpans ? { originals: understanding.parameterSpans } : {}),
    contexts: [
      ...understanding.contexts,
      ...(event ? [{ name: event.name, lifespanCount: 1, parameters: event.parameters }] : []),
    ],
  };
  const own = renderReplies(
    prompting ? [{ type: "text", text: understanding.prompt! }] : stored,
    scope,
    `${input.messageId}:${depth}`,
  );
  const before = { state: understanding.state, contexts: understanding.contexts };
  const status = prompting ? "prompt" : "none";
  if (!intent)
    return {
      matched: null,
      replies: own,
      after: before,
      failures: [],
      fulfillment: { status: prompting ? "prompt" : "no intent", responses, calls: [] },
    };
  // While slot filling, the backend is called only for intents that ask for it (Dialogflow's webhookForSlotFilling).
  if (!intent.endpoint || (prompting && !intent.webhookForSlotFilling))
    return {
      matched: intent,
      replies: own,
      after: before,
      failures: [],
      fulfillment: { status, responses, calls: [] },
    };

  const { endpoint } = intent;
  const outcome = await deps.fulfill({
    ...input,
    responseId: responseIdFor(input.messageId, depth),
    intent: { id: intent.id, name: intent.name, action: intent.action, parameters: intent.parameters },
    understanding,
    responses: own,
    endpoint,
  });
  const call: TurnFulfillmentCall = {
    id: randomUUID(),
    intent: intent.name,
    ok: outcome.ok,
    ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
    latencyMs: Math.round(outcome.latencyMs),
    ...(outcome.ok ? {} : { error: outcome.error }),
  };
  if (!input.unrecorded)
    await recordFulfillment(deps.pool, {
      id: call.id!,
      tenantId: input.tenant.id,
      messageId: input.messageId,
      endpointId: endpoint.id,
      intent: intent.name,
      ok: call.ok,
      httpStatus: call.httpStatus ?? null,
      latencyMs: call.latencyMs,
      error: call.error ?? null,
      errorClass: outcome.ok ? null : (outcome.errorClass ?? null),
      exchange: outcome.exchange,
    });
  if (!outcome.ok)
    return {
      matched: intent,
      replies: own,
      after: before,
      failures: [
        {
          endpointId: endpoint.id,
          intent: intent.name,
          error: outcome.error,
          ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
        },
      ],
      fulfillment: { status: prompting ? "prompt" : "failed", responses, calls: [call] },
    };
  const after = outcome.contexts ? deps.applyContexts(understanding.state, outcome.contexts) : before;
  const done = prompting ? "prompt" : "ok";
  if (outcome.followupEvent && depth < MAX_FOLLOWUPS) {
    // As Dialogflow: the backend's messages are dropped; the event triggers the intent that lists it.
    const next = await findIntentByEvent(
      deps.pool,
      input.tenant.id,
      outcome.followupEvent.name,
      after.contexts.map((c) => c.name),
    );
    if (next) {
      const parameters = { ...understanding.parameters, ...outcome.followupEvent.parameters };
      // As a matched intent (Dialogflow ES): a required parameter the event left missing is asked
      // for, and the intent's output contexts wait for its completion on the answer.
      const asking = deps.askForMissing(after.state, next, parameters);
      const triggered: Understanding = {
        intent: next.name,
        confidence: 1,
        parameters,
        allRequiredParamsPresent: !asking,
        ...(asking ? { prompt: asking.prompt } : {}),
        contexts: after.contexts,
        state: asking ? asking.state : after.state,
      };
      const outputs = asking ? [] : outputContexts(next, triggered);
      const entered = outputs.length ? deps.applyContexts(after.state, outputs) : triggered;
      const chosen = await chooseReplies(
        deps,
        input,
        { ...triggered, ...entered },
        { name: outcome.followupEvent.name, parameters: outcome.followupEvent.parameters ?? {} },
        depth + 1,
      );
      const schedule = chosen.schedule ?? outcome.schedule;
      return {
        ...chosen,
        matched: intent,
        ...(outcome.handoff ? { handoff: true } : {}),
        ...(schedule ? { schedule } : {}),
        fulfillment: { status: done, responses, calls: [call, ...chosen.fulfillment.calls] },
      };
    }
  }
  // A backend that answers nothing leaves the intent's own response standing.
  return {
    matched: intent,
    replies: outcome.replies.length ? outcome.replies : own,
    after,
    failures: [],
    ...(outcome.handoff ? { handoff: true } : {}),
    ...(outcome.schedule ? { schedule: outcome.schedule } : {}),
    fulfillment: { status: done, responses, calls: [call] },
  };
}

/**
 * One turn: understand the stored inbound message, fulfill it, send the replies, and keep the
 * dialog state. Idempotent: the replies chosen are stored with the turn's plan (its record, state and
 * events) before any is sent, so a job run again after a failure sends only what is still pending of
 * that plan, without understanding or calling a backend again; a processed message is skipped.
 */
export async function handleMessage(
  deps: TurnDeps,
  messageId: string,
  /** Told, once the turn is finished, whether another message of its conversation was waiting then. */
  onFinished?: (finished: { waiting: boolean }) => void,
): Promise<TurnResult> {
  const { db, pool } = deps;
  const started = performance.now();
  const stored = await loadInbound(pool, messageId);
  // Processed, or failed for good after its last attempt (drain.ts).
  if (stored?.status !== "received") return { replies: 0, skipped: "already processed" };
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

  const finish = async (outcome: TurnOutcome, state?: unknown, turnEvents = events) => {
    const record: TurnRecord = { ...outcome, latencyMs: Math.round(performance.now() - started) };
    const finished = await finishTurn(pool, {
      tenantId: tenant.id,
      messageId,
      conversationId: conversation.id,
      ...(state !== undefined ? { state } : {}),
      events: turnEvents,
      record,
    });
    onFinished?.(finished);
    deps.onTurn?.({ tenantId: tenant.id, conversationId: conversation.id, messageId, record });
  };

  if (message.addressedToBot === false) {
    await finish({ skipped: "not addressed to the bot", replies: 0 });
    return { replies: 0, skipped: "not addressed to the bot" };
  }
  // A message without text may still fire a welcome (Slack's first visit to the app's Messages tab).
  if (!message.text && !message.postback && !welcomeEvents(message).length) {
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

  // With (or waiting for) an agent, the bot does not answer (handoff.ts).
  const handoffContext = (turnEvents: NewEvent[]): HandoffContext => ({
    pool,
    sender,
    target,
    message,
    messageId,
    settings: stored.tenant.handoffSettings as HandoffSettings,
    events: turnEvents,
    base,
  });

  // Sends what is pending of the turn's plan, then finishes the turn with the state it decided.
  const sendPlan = async (plan: TurnPlan, stored?: StoredReply[]): Promise<TurnResult> => {
    const sending = performance.now();
    const outbound = await sendStoredReplies(pool, sender, target, {
      key: messageId,
      count: plan.outcome.replies,
      context: { inReplyTo: message },
      ...(stored ? { stored } : {}),
    });
    const turnEvents = [...plan.events];
    for (const result of outbound) {
      turnEvents.push({
        type: result.status === "sent" ? "message.sent" : "message.failed",
        data: {
          ...base,
          messageId: result.id,
          inReplyTo: messageId,
          reply: result.reply,
          platformMessageId: result.platformMessageId,
          ...(result.error ? { error: result.error } : {}),
        },
      });
    }
    // Answering a button press only stops the client's spinner; failing to do so loses nothing.
    if (message.postback) await sender.acknowledge?.(message).catch(() => {});
    // A turn that hands over does so once its replies are out, then sends the waiting notice.
    const notices =
      "handoff" in plan.outcome && plan.outcome.handoff
        ? await handOver(handoffContext(turnEvents), plan.outcome.handoff)
        : 0;
    const stages =
      "stages" in plan.outcome && plan.outcome.stages
        ? { stages: { ...plan.outcome.stages, sendMs: Math.round(performance.now() - sending) } }
        : {};
    const outcome = { ...plan.outcome, ...stages, replies: plan.outcome.replies + notices };
    await finish(outcome, plan.state, turnEvents);
    return { ...("intent" in outcome ? { intent: outcome.intent } : {}), replies: outcome.replies };
  };
  if (stored.plan) return sendPlan(stored.plan);

  // The customer wrote: follow-ups marked so are no longer wanted (a follow-up's own event is not the customer).
  if (!message.event && stored.cancelsFollowups) await cancelFollowupsOnReply(pool, conversation.id, messageId);

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

  if (conversation.mode !== "bot" && conversation.handoffId) {
    const replies = await answerDuringHandoff(handoffContext(events), conversation.handoffId);
    await finish({ skipped: "with an agent", replies });
    return { replies, skipped: "with an agent" };
  }

  const understandFrom = performance.now();
  const read = await deps.understand({ tenant, message, state: conversation.state });
  const understood = performance.now();
  // A follow-up's event (understand selects the intent listing it) brings its parameters, as Dialogflow's events do.
  const understanding = message.event
    ? { ...read, parameters: { ...read.parameters, ...message.event.parameters } }
    : read;
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
  // The intent's output contexts are set when it completes (understanding sets them), so they are
  // active for its responses, its fulfillment and the turns after.
  const {
    matched,
    replies,
    after,
    failures,
    fulfillment,
    handoff: asked,
    schedule,
  } = await chooseReplies(deps, input, understanding, message.event);
  const stages = {
    understandMs: Math.round(understood - understandFrom),
    fulfillMs: Math.round(performance.now() - understood),
  };
  for (const failure of failures) events.push({ type: "fulfillment.failed", data: { ...base, messageId, ...failure } });
  const handoff = await handoffReason(pool, {
    tenantId: tenant.id,
    conversationId: conversation.id,
    intent: understanding.intent,
    fulfillmentAsked: asked === true,
    settings: stored.tenant.handoffSettings as HandoffSettings,
    known: { intent: matched, streak: conversation.fallbackStreak },
  });
  const saved = await savePlan(pool, {
    messageId,
    target,
    replies,
    plan: {
      outcome: {
        intent: understanding.intent,
        confidence: understanding.confidence,
        parameters: understanding.parameters,
        contexts: after.contexts.map(({ name, lifespanCount }) => ({ name, lifespanCount })),
        fulfillment,
        ...(handoff ? { handoff } : {}),
        stages,
        replies: replies.length,
      },
      state: after.state,
      events,
    },
    // Scheduled with the plan, in its transaction: once, however often the job runs.
    ...(schedule
      ? {
          also: (sql: Sql) =>
            scheduleFollowup(sql, {
              tenant,
              conversationId: conversation.id,
              channelAccountId: stored.channelAccountId,
              externalId: conversation.externalId,
              messageId,
              schedule,
            }),
        }
      : {}),
  });
  if (!saved) return { replies: 0, skipped: "already processed" };
  return sendPlan(saved.plan, saved.replies);
}
