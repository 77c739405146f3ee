import { isDatabaseUnavailable, transaction, untilDatabaseAnswers, type Pool } from "@cb/db";
import { eventParameters, withEvents } from "@cb/event-webhooks";
import { addJob } from "@cb/jobs";
import { CONVERSATION_QUEUE_PREFIX, HANDLE_MESSAGE, UNDER_WAY_PRIORITY } from "./expand.ts";
import { observeTurn } from "./observe.ts";
import { handleMessage, type TurnDeps } from "./turn.ts";

export interface AnswerOptions {
  /** Turns tried per message; after the last the message is failed and the next one answered (10). */
  maxAttempts?: number;
  /** How long to wait before trying a message again after its nth failed turn (1 s, doubling, at most 5 min). */
  retryDelayMs?: (failedAttempts: number) => number;
  /** No new turn is started after this long; a new job answers the rest (30 s, well within a job's time limit). */
  budgetMs?: number;
  /** The job's abortSignal: a turn still running when it fires counts as failed. */
  signal?: AbortSignal;
}

export interface AnswerResult {
  /** Messages answered (or skipped by their turn), in order. */
  answered: string[];
  /** Messages given up on after their last attempt, with the last error. */
  failed: { messageId: string; error: string }[];
  /** A message whose turn failed and waits for its retry (the conversation waits behind it). */
  retrying?: { messageId: string; attempts: number; retryAt: Date; error: string };
  /** Turns the database's absence failed, tried again once it answered (not counted as attempts). */
  outages?: { messageId: string; error: string }[];
}

const DEFAULTS = {
  maxAttempts: 10,
  retryDelayMs: (failed: number) => Math.min(1_000 * 2 ** (failed - 1), 5 * 60_000),
  budgetMs: 30_000,
};

/** Turns a call tries again after the database went away under them, before such a failure counts. */
const MAX_OUTAGES = 10;

/** At most one job per conversation waits for a retry (or a continuation): scheduling again moves it. */
const retryKey = (conversationId: string) => `answer:${conversationId}`;

interface Waiting {
  id: string;
  conversationId: string;
  tenantId: string;
  channelAccountId: string;
  channel: string;
  attempts: number;
  waitingUntil: Date | null;
  error: unknown;
  traceparent: string | null;
}

// The conversation's earliest message not yet answered: the order messages were stored in
// (`arrival`, expand.ts), which follows their acknowledgement. Messages stored by other means have
// no arrival and come after. In the same statement, when a turn of it is due ($2: the job may start
// one; attempts left; no retry waited for), its attempt is counted (`counted`).
const NEXT_WAITING = `
WITH next AS (
  SELECT m.id, m."conversationId", m."tenantId", m."channelAccountId", m.content->>'channel' AS channel, m.attempts, m.error, m.traceparent,
    CASE WHEN m."retryAt" > now() THEN m."retryAt" END AS "waitingUntil"
  FROM "Message" m
  WHERE m."conversationId" = (SELECT "conversationId" FROM "Message" WHERE id = $1::uuid)
    AND m.direction = 'in' AND m.status = 'received'
  ORDER BY m.arrival, m."createdAt", m.id
  LIMIT 1
), counted AS (
  UPDATE "Message" m SET attempts = m.attempts + 1 FROM next
  WHERE m.id = next.id AND $2::boolean AND next.attempts < $3::int AND next."waitingUntil" IS NULL
  RETURNING m.id
)
SELECT next.*, EXISTS (SELECT 1 FROM counted) AS counted FROM next`;

const FAIL_MESSAGE = withEvents([
  `failed AS (UPDATE "Message" SET status = 'failed', error = $6::jsonb, "retryAt" = NULL, "updatedAt" = now() WHERE id = $5::uuid AND status = 'received')`,
]);

/**
 * Answers a conversation's waiting messages one at a time, in the order they arrived, from the
 * earliest: the `handle-message` job of any of them answers whichever comes first. A failed turn
 * is counted on its message (in the database, so a crash counts too) and tried again after a
 * delay, through a job scheduled for then; until it succeeds, the conversation's later messages
 * wait. After `maxAttempts` the message is marked failed, with its error and a `message.failed`
 * event, and the next one is answered. A turn that failed because the database went away does not
 * count: it is tried again as soon as the database answers.
 */
export async function answerConversation(
  deps: TurnDeps,
  messageId: string,
  options: AnswerOptions = {},
): Promise<AnswerResult> {
  const { maxAttempts, retryDelayMs, budgetMs } = { ...DEFAULTS, ...options };
  const { pool } = deps;
  const until = performance.now() + budgetMs;
  const result: AnswerResult = { answered: [], failed: [] };
  for (;;) {
    // At least one turn per job, so that a conversation always gets somewhere.
    const mayStart = !result.answered.length || performance.now() <= until;
    const {
      rows: [next],
    } = await pool.query<Waiting & { counted: boolean } & Record<string, unknown>>({
      name: "answer-next-waiting",
      text: NEXT_WAITING,
      values: [messageId, mayStart, maxAttempts],
    });
    if (!next) return result;
    if (next.attempts >= maxAttempts) {
      // Its last attempt was cut short (a crash, a time limit) before its failure was recorded.
      const error = (next.error as { message?: string } | null)?.message ?? "its last attempt did not finish";
      await failMessage(pool, next, next.attempts, error);
      result.failed.push({ messageId: next.id, error });
      continue;
    }
    // Its retry job is scheduled for then; this job has nothing to do before.
    if (next.waitingUntil) return result;
    if (!next.counted) {
      await addJob(
        pool,
        HANDLE_MESSAGE,
        { messageId: next.id },
        // Under way: the conversation is being answered (a continuation, a retry).
        {
          queueName: CONVERSATION_QUEUE_PREFIX + next.conversationId,
          jobKey: retryKey(next.conversationId),
          priority: UNDER_WAY_PRIORITY,
        },
      );
      return result;
    }

    // Counted before the turn (by NEXT_WAITING), so that a turn that never ends (its worker killed) counts too.
    const attempts = next.attempts + 1;
    let waiting = true;
    try {
      await untilAborted(
        observeTurn(next, () => handleMessage(deps, next.id, (finished) => (waiting = finished.waiting))),
        options.signal,
      );
      result.answered.push(next.id);
      // Its turn's last statement looked: no message of the conversation waits (one stored since has its own job).
      if (!waiting) return result;
    } catch (err) {
      if (isDatabaseUnavailable(err) && (result.outages?.length ?? 0) < MAX_OUTAGES && !options.signal?.aborted) {
        // The database went away during the turn (a restart, a failover): no fault of the message's.
        // Once it answers, the attempt is given back and the turn tried again at once, rather than
        // after a retry's delay. (A turn is idempotent: what it had sent is not sent again.)
        result.outages = [...(result.outages ?? []), { messageId: next.id, error: (err as Error).message }];
        await untilDatabaseAnswers(pool, options.signal);
        await pool.query({
          name: "answer-give-back-attempt",
          text: `UPDATE "Message" SET attempts = attempts - 1 WHERE id = $1::uuid AND attempts > 0`,
          values: [next.id],
        });
        continue;
      }
      const error = err instanceof Error ? err.message : String(err);
      if (attempts >= maxAttempts) {
        await failMessage(pool, next, attempts, error);
        result.failed.push({ messageId: next.id, error });
        continue;
      }
      const retryAt = new Date(Date.now() + retryDelayMs(attempts));
      await transaction(pool, async (sql) => {
        await sql.query({
          name: "answer-defer",
          text: `UPDATE "Message" SET "retryAt" = $2, error = $3::jsonb, "updatedAt" = now() WHERE id = $1::uuid`,
          values: [next.id, retryAt, JSON.stringify({ message: error, attempts })],
        });
        await addJob(
          sql,
          HANDLE_MESSAGE,
          { messageId: next.id },
          {
            queueName: CONVERSATION_QUEUE_PREFIX + next.conversationId,
            runAt: retryAt,
            jobKey: retryKey(next.conversationId),
            priority: UNDER_WAY_PRIORITY,
          },
        );
      });
      result.retrying = { messageId: next.id, attempts, retryAt, error };
      return result;
    }
  }
}

/** The message given up on, with its error, and a `message.failed` event, in one statement. */
async function failMessage(pool: Pool, message: Waiting, attempts: number, error: string): Promise<void> {
  const { values } = eventParameters(message.tenantId, [
    {
      type: "message.failed",
      data: {
        conversationId: message.conversationId,
        channelAccountId: message.channelAccountId,
        channel: message.channel,
        messageId: message.id,
        direction: "in",
        attempts,
        error,
      },
    },
  ]);
  await pool.query({
    name: "answer-fail",
    text: FAIL_MESSAGE,
    values: [...values, message.id, JSON.stringify({ message: error, attempts })],
  });
}

/** The work's outcome, or the signal's reason if it fires first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}
