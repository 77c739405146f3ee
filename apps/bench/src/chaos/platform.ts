// The messaging platform's side of the chaos benchmark: posts each update to its bot's webhook the
// way Telegram does, again after a non-2xx answer, a refused or reset connection or no answer in
// time (the same body: a redelivery), until acknowledged or, after a bounded time, given up. A
// conversation's next update is posted once the previous one was acknowledged or given up, so that
// the order of acknowledgement is the order of the messages.
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { updateBody, type Planned } from "./load.ts";

export interface Delivery {
  update: Planned;
  firstPostAt: number;
  acknowledged: boolean;
  posts: number;
}

export interface PlatformOptions {
  /** The webhook URL of a bot (by index). */
  webhookUrl(bot: number): string;
  secretToken: string;
  /** A post without an answer by then is abandoned and tried again. */
  attemptTimeoutMs?: number;
  /** An update not acknowledged this long after its first post is given up. */
  giveUpAfterMs?: number;
}

const MAX_BACKOFF_MS = 4000;

export function createPlatform(options: PlatformOptions) {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const giveUpAfterMs = options.giveUpAfterMs ?? 30_000;
  const agent = new Agent({ keepAlive: true });

  function post(url: string, body: string): Promise<number> {
    return new Promise((resolve) => {
      const req = request(
        url,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "x-telegram-bot-api-secret-token": options.secretToken,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.setTimeout(attemptTimeoutMs, () => req.destroy(new Error("no answer in time")));
      req.on("error", () => resolve(0));
      req.end(body);
    });
  }

  async function deliver(update: Planned): Promise<Delivery> {
    const body = updateBody(update);
    const firstPostAt = Date.now();
    for (let posts = 1; ; posts++) {
      const status = await post(options.webhookUrl(update.bot), body);
      if (status >= 200 && status < 300) return { update, firstPostAt, acknowledged: true, posts };
      if (Date.now() - firstPostAt >= giveUpAfterMs) return { update, firstPostAt, acknowledged: false, posts };
      await sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** (posts - 1)));
    }
  }

  return {
    /** Posts the load on its schedule from `startedAt` (epoch ms), each conversation in order. */
    async run(load: Planned[], startedAt: number): Promise<Delivery[]> {
      const previous = new Map<number, Promise<unknown>>();
      return Promise.all(
        load.map((update) => {
          const delivered = (previous.get(update.chat) ?? Promise.resolve()).then(async () => {
            await sleep(Math.max(0, startedAt + update.atMs - Date.now()));
            return deliver(update);
          });
          previous.set(update.chat, delivered);
          return delivered;
        }),
      );
    },
    close: () => agent.destroy(),
  };
}
