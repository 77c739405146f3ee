import { setTimeout as sleep } from "node:timers/promises";
import Fastify, { type FastifyInstance } from "fastify";
import { checkHtml } from "./html.ts";

/**
 * A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), strict where the
 * real one is: unknown tokens get 401, missing or invalid fields 400 with Telegram's descriptions,
 * texts over 4096 characters, malformed HTML, over-long callback data and non-HTTPS webhooks are
 * refused. Tests and the demo's terminal chat read what the bot sent from `sent`.
 */
export interface SentCall {
  token: string;
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The message object answered for send* methods. */
  result: unknown;
}

/**
 * Platform trouble to inject, as a chaos benchmark needs: a share of the send* calls answered 429
 * (with `retry_after`) or 500 instead of being accepted, and every call's answer held back.
 */
export interface Faults {
  /** Share (0–1) of send* calls answered 429 Too Many Requests. */
  rate429?: number;
  /** Seconds the 429 answers ask to wait (`parameters.retry_after`); default 1. */
  retryAfter?: number;
  /** Share (0–1) of send* calls answered 500 Internal Server Error. */
  rate500?: number;
  /** Milliseconds every answer waits; an accepted call is recorded first, as the real API delivers before it answers. */
  delayMs?: number;
}

function checkFaults(faults: Faults): Faults {
  const { rate429 = 0, rate500 = 0, retryAfter = 1, delayMs = 0 } = faults;
  const share = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;
  if (!share(rate429) || !share(rate500) || rate429 + rate500 > 1)
    throw new Error("fault rates are shares between 0 and 1, and together at most 1");
  if (!Number.isInteger(retryAfter) || retryAfter < 1) throw new Error("retryAfter is a whole number of seconds, ≥ 1");
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error("delayMs is a number of milliseconds, ≥ 0");
  return { rate429, rate500, retryAfter, delayMs };
}

export interface FakeTelegram {
  url: string;
  /** Every accepted method call, in order. */
  calls: SentCall[];
  /** Registers a bot token (`<id>:<secret>`) the fake accepts. */
  addBot(token: string, info?: { username?: string; firstName?: string }): void;
  /** The next call of `method` fails with this Telegram error (e.g. 429 with retry_after). */
  failNext(method: string, error: { status: number; description: string; retryAfter?: number }): void;
  /** Replaces the injected faults (`{}`: none). */
  setFaults(faults: Faults): void;
  /** How many send* calls were refused by injected faults so far. */
  injected: { tooManyRequests: number; serverErrors: number };
  /** Resolves when a call matching `predicate` has been made (or rejects after timeoutMs). */
  waitFor(predicate: (call: SentCall) => boolean, timeoutMs?: number): Promise<SentCall>;
  webhookOf(token: string): { url: string; secretToken?: string } | undefined;
  close(): Promise<void>;
}

interface Bot {
  id: number;
  username: string;
  firstName: string;
  webhook?: { url: string; secretToken?: string; allowedUpdates?: string[] };
  nextMessageId: number;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
  }
}

function requireField(params: Record<string, unknown>, name: string): unknown {
  const value = params[name];
  if (value === undefined || value === null || value === "") throw new BadRequest(400, `Bad Request: ${name} is empty`);
  return value;
}

function parseJsonField(params: Record<string, unknown>, name: string): unknown {
  const value = params[name];
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new BadRequest(400, `Bad Request: can't parse ${name} JSON object`);
  }
}

function checkText(text: unknown, parseMode: unknown, field: "text" | "caption", max: number): void {
  if (typeof text !== "string" || text.trim() === "")
    throw new BadRequest(400, `Bad Request: message ${field} is empty`);
  let visible = text;
  if (parseMode === "HTML") {
    try {
      visible = checkHtml(text);
    } catch (err) {
      throw new BadRequest(400, (err as Error).message);
    }
  } else if (parseMode !== undefined) throw new BadRequest(400, `Bad Request: unsupported parse_mode`);
  if ([...visible].length > max) throw new BadRequest(400, `Bad Request: message is too long`);
}

function checkReplyMarkup(markup: unknown): void {
  if (markup === undefined) return;
  const m = markup as { inline_keyboard?: unknown };
  if (!Array.isArray(m.inline_keyboard)) throw new BadRequest(400, "Bad Request: unsupported reply_markup");
  for (const row of m.inline_keyboard) {
    if (!Array.isArray(row))
      throw new BadRequest(
        400,
        'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
      );
    for (const button of row as Record<string, unknown>[]) {
      if (typeof button.text !== "string" || button.text === "")
        throw new BadRequest(400, "Bad Request: text buttons are unallowed in the inline keyboard");
      const kinds = ["callback_data", "url"].filter((k) => button[k] !== undefined);
      if (kinds.length !== 1) throw new BadRequest(400, "Bad Request: BUTTON_TYPE_INVALID");
      if (button.callback_data !== undefined) {
        const bytes = Buffer.byteLength(String(button.callback_data));
        if (bytes < 1 || bytes > 64) throw new BadRequest(400, "Bad Request: BUTTON_DATA_INVALID");
      }
      if (button.url !== undefined && !/^(https?|tg):\/\//.test(String(button.url)))
        throw new BadRequest(400, "Bad Request: BUTTON_URL_INVALID");
    }
  }
}

export async function startFakeTelegram(
  options: { port?: number; host?: string; faults?: Faults } = {},
): Promise<FakeTelegram> {
  let faults = checkFaults(options.faults ?? {});
  const injected = { tooManyRequests: 0, serverErrors: 0 };
  const bots = new Map<string, Bot>();
  const failures = new Map<string, { status: number; description: string; retryAfter?: number }[]>();
  const calls: SentCall[] = [];
  const waiters: { predicate: (c: SentCall) => boolean; resolve: (c: SentCall) => void }[] = [];

  function record(call: SentCall): void {
    calls.push(call);
    for (const w of [...waiters]) {
      if (w.predicate(call)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(call);
      }
    }
  }

  function messageFor(
    bot: Bot,
    params: Record<string, unknown>,
    extra: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      message_id: bot.nextMessageId++,
      from: { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username },
      chat: { id: Number(params.chat_id), type: Number(params.chat_id) < 0 ? "group" : "private" },
      date: Math.floor(Date.now() / 1000),
      ...extra,
    };
  }

  function handle(bot: Bot, method: string, params: Record<string, unknown>): unknown {
    switch (method) {
      case "getMe":
        return { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username, can_join_groups: true };
      case "setWebhook": {
        const url = String(requireField(params, "url"));
        if (!url.startsWith("https://"))
          throw new BadRequest(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
        const secret = params.secret_token;
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(String(secret))) {
          throw new BadRequest(400, "Bad Request: secret token contains unallowed characters");
        }
        bot.webhook = { url, ...(secret !== undefined ? { secretToken: String(secret) } : {}) };
        return true;
      }
      case "deleteWebhook":
        delete bot.webhook;
        return true;
      case "getWebhookInfo":
        return { url: bot.webhook?.url ?? "", has_custom_certificate: false, pending_update_count: 0 };
      case "answerCallbackQuery":
        requireField(params, "callback_query_id");
        if (params.text !== undefined && String(params.text).length > 200)
          throw new BadRequest(400, "Bad Request: MESSAGE_TOO_LONG");
        return true;
      case "sendMessage": {
        requireField(params, "chat_id");
        checkText(params.text, params.parse_mode, "text", 4096);
        checkReplyMarkup(parseJsonField(params, "reply_markup"));
        return messageFor(bot, params, { text: params.text });
      }
      case "sendPhoto": {
        requireField(params, "chat_id");
        requireField(params, "photo");
        if (params.caption !== undefined) checkText(params.caption, params.parse_mode, "caption", 1024);
        checkReplyMarkup(parseJsonField(params, "reply_markup"));
        return messageFor(bot, params, {
          photo: [{ file_id: `photo-${bot.nextMessageId}`, width: 800, height: 600 }],
          caption: params.caption,
        });
      }
      case "sendLocation":
        requireField(params, "chat_id");
        requireField(params, "latitude");
        requireField(params, "longitude");
        return messageFor(bot, params, { location: { latitude: params.latitude, longitude: params.longitude } });
      default:
        throw new BadRequest(404, "Not Found: method not found");
    }
  }

  function injectedFault(method: string): { status: number; description: string; retryAfter?: number } | undefined {
    if (!method.startsWith("send")) return undefined;
    const draw = Math.random();
    if (draw < faults.rate429!) {
      injected.tooManyRequests++;
      return {
        status: 429,
        description: `Too Many Requests: retry after ${faults.retryAfter}`,
        retryAfter: faults.retryAfter!,
      };
    }
    if (draw < faults.rate429! + faults.rate500!) {
      injected.serverErrors++;
      return { status: 500, description: "Internal Server Error" };
    }
    return undefined;
  }

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 50 * 1024 * 1024 });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.all<{ Params: { token: string; method: string } }>("/bot:token/:method", async (request, reply) => {
    const { token, method } = request.params;
    const bot = bots.get(token);
    if (!bot) return reply.code(401).send({ ok: false, error_code: 401, description: "Unauthorized" });
    const params = {
      ...(request.query as Record<string, unknown>),
      ...((request.body as Record<string, unknown> | undefined) ?? {}),
    };
    try {
      const failure = failures.get(method)?.shift() ?? injectedFault(method);
      if (failure) throw new BadRequest(failure.status, failure.description, failure.retryAfter);
      const result = handle(bot, method, params);
      record({ token, method, params, at: Date.now(), result });
      if (faults.delayMs) await sleep(faults.delayMs);
      return { ok: true, result };
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      if (faults.delayMs) await sleep(faults.delayMs);
      return reply.code(err.status).send({
        ok: false,
        error_code: err.status,
        description: err.message,
        ...(err.retryAfter !== undefined ? { parameters: { retry_after: err.retryAfter } } : {}),
      });
    }
  });

  // Inspection for other processes (the demo's terminal chat): calls from index `since` on, waiting
  // up to `wait` ms for the first one. Not part of the Bot API.
  app.get<{ Querystring: { since?: string; wait?: string } }>("/__calls", async (request) => {
    const since = Number(request.query.since ?? 0);
    const wait = Math.min(Number(request.query.wait ?? 0), 30_000);
    if (calls.length <= since && wait > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        waiters.push({
          predicate: () => true,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return {
      calls: calls.slice(since).map(({ token, ...call }) => ({ ...call, botId: token.split(":")[0] })),
      next: calls.length,
    };
  });

  const url = await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });

  return {
    url,
    calls,
    addBot(token, info = {}) {
      const id = Number(token.split(":")[0]);
      if (!Number.isInteger(id) || !token.includes(":"))
        throw new Error("a bot token looks like <numeric id>:<secret>");
      bots.set(token, {
        id,
        username: info.username ?? `bot${id}`,
        firstName: info.firstName ?? "Bot",
        nextMessageId: 1,
      });
    },
    setFaults(next) {
      faults = checkFaults(next);
    },
    injected,
    failNext(method, error) {
      const list = failures.get(method) ?? [];
      list.push(error);
      failures.set(method, list);
    },
    waitFor(predicate, timeoutMs = 10_000) {
      const found = calls.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (c: SentCall) => {
            clearTimeout(timer);
            resolve(c);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching Bot API call within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    webhookOf(token) {
      return bots.get(token)?.webhook;
    },
    close: () => app.close(),
  };
}
