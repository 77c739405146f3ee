import { type Channel, type ChannelSender, PlatformError } from "@cb/core";
import { withLogContext } from "@cb/logging";
import { contextFromTraceparent, inSpan, platformSends, SpanKind, turnDuration, turnsTotal } from "@cb/observability";

/** The message a turn answers, as the drain reads it. */
export interface TurnSubject {
  id: string;
  tenantId: string;
  conversationId: string;
  channel: string;
  /** Stored with the message by the webhook that brought it (tracing on). */
  traceparent?: string | null;
}

/**
 * Runs a turn inside its message's trace (a child of the webhook's span, through the stored
 * traceparent), with the tenant, conversation and message ids on every line it logs, and counts
 * it: total latency and outcome. Stages (understand, fulfill, send) are timed where they run.
 */
export function observeTurn<T>(subject: TurnSubject, run: () => Promise<T>): Promise<T> {
  const ids = { tenantId: subject.tenantId, conversationId: subject.conversationId, messageId: subject.id };
  return withLogContext(ids, () =>
    inSpan(
      "turn",
      {
        kind: SpanKind.CONSUMER,
        parent: contextFromTraceparent(subject.traceparent),
        attributes: {
          "cb.tenant_id": subject.tenantId,
          "cb.conversation_id": subject.conversationId,
          "cb.message_id": subject.id,
          "cb.channel": subject.channel,
        },
      },
      async () => {
        const started = performance.now();
        try {
          const result = await run();
          turnsTotal.inc({ outcome: "ok" });
          return result;
        } catch (err) {
          turnsTotal.inc({ outcome: "failed" });
          throw err;
        } finally {
          turnDuration.observe({ stage: "total" }, (performance.now() - started) / 1000);
        }
      },
    ),
  );
}

/** A send's outcome label: a 429 (or a platform's throttling code, which carries a wait), another retryable failure, or a permanent one. */
export function sendOutcome(err: unknown): "rate_limited" | "retryable" | "failed" {
  if (!(err instanceof PlatformError)) return "failed";
  if (err.retryAfterMs !== undefined || err.code === "429" || err.code === "rate_limited") return "rate_limited";
  return err.retryable ? "retryable" : "failed";
}

/** A sender whose every send is a span and counted by channel and outcome, and timed as the turn's send stage. */
export function observeSender(channel: Channel, sender: ChannelSender): ChannelSender {
  return {
    ...(sender.reportsDelivery !== undefined ? { reportsDelivery: sender.reportsDelivery } : {}),
    channel,
    ...(sender.acknowledge ? { acknowledge: sender.acknowledge.bind(sender) } : {}),
    send: (to, reply, context) =>
      inSpan(
        "platform.send",
        { kind: SpanKind.CLIENT, attributes: { "cb.channel": channel, "cb.reply_type": reply.type } },
        async (span) => {
          const started = performance.now();
          try {
            const sent = await sender.send(to, reply, context);
            platformSends.inc({ channel, outcome: "sent" });
            return sent;
          } catch (err) {
            const outcome = sendOutcome(err);
            platformSends.inc({ channel, outcome });
            span.setAttribute("cb.send_outcome", outcome);
            throw err;
          } finally {
            turnDuration.observe({ stage: "send" }, (performance.now() - started) / 1000);
          }
        },
      ),
  };
}
