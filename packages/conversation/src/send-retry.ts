import { PlatformError, type ChannelSender, type ConversationRef, type Reply, type SendContext } from "@cb/core";
import { platformSendRetries } from "@cb/observability";

// Retryable failures are tried again in place while the waits add up to no more than this; a longer
// wait (a Retry-After of minutes) goes back to the job queue at once.
const MAX_INLINE_WAIT_MS = 30_000;
const INLINE_ATTEMPTS = 5;

/**
 * Sends one reply, trying a retryable failure again in place: after the platform's Retry-After
 * when it gave one, else after 1, 2, 4… s. A platform's "wait" is also shared: the sender blocked
 * the key it names in every process (platformLimiter), so this conversation's and every other
 * sender's next call under that key waits for it, while unrelated conversations keep sending.
 * Waiting here holds only this conversation, whose next reply must wait anyway to keep its order.
 */
export async function sendWithRetry(
  sender: ChannelSender,
  to: ConversationRef,
  reply: Reply,
  context: SendContext,
): ReturnType<ChannelSender["send"]> {
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await sender.send(to, reply, context);
    } catch (err) {
      const wait = err instanceof PlatformError && err.retryable ? (err.retryAfterMs ?? 500 * 2 ** attempt) : undefined;
      if (wait === undefined || waited + wait > MAX_INLINE_WAIT_MS || attempt >= INLINE_ATTEMPTS) throw err;
      waited += wait;
      platformSendRetries.inc({ channel: sender.channel ?? "unknown" });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
