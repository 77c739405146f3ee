import Fastify from "fastify";

/**
 * The Slack Web API as far as this project uses it, as strict as Slack: a bot token in the
 * Authorization header, JSON or form bodies (the WebClient sends form with `blocks` as a JSON
 * string), `channel` and `text` or `blocks` required, Block Kit limits enforced; errors answered
 * as Slack does, HTTP 200 with `{ ok: false, error }`, or 429 with Retry-After.
 */
export interface SlackCall {
  method: string;
  args: Record<string, any>;
  ts: string;
  /** When the call arrived (Date.now()), to check rate limits. */
  at: number;
}

export interface FakeSlack {
  url: string;
  calls: SlackCall[];
  addToken(token: string, info?: { teamId?: string; botUserId?: string }): void;
  /** An OAuth app: oauth.v2.access with its id and secret turns code "code-<teamId>" into a bot token. */
  addOAuthApp(clientId: string, clientSecret: string): void;
  failNext(method: string, failure: { status?: number; error?: string; retryAfter?: number }): void;
  waitFor(predicate: (call: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  close(): Promise<void>;
}

function blocksError(blocks: any[]): string | null {
  if (blocks.length > 50) return "invalid_blocks";
  for (const b of blocks) {
    if (b.type === "section" && (typeof b.text?.text !== "string" || b.text.text.length > 3000))
      return "invalid_blocks";
    if (b.type === "actions") {
      if (!Array.isArray(b.elements) || b.elements.length < 1 || b.elements.length > 25) return "invalid_blocks";
      for (const e of b.elements) {
        if (
          e.type === "button" &&
          (!e.text?.text || e.text.text.length > 75 || (e.value !== undefined && e.value.length > 2000))
        )
          return "invalid_blocks";
      }
      if (new Set(b.elements.map((e: any) => e.action_id)).size !== b.elements.length) return "invalid_blocks";
    }
    if (
      b.type === "image" &&
      (!/^https?:\/\//.test(b.image_url ?? "") ||
        !b.alt_text ||
        [...b.alt_text].length > 2000 ||
        (b.title !== undefined && [...b.title.text].length > 2000))
    )
      return "invalid_blocks";
    if (b.accessory?.type === "image" && (!b.accessory.alt_text || [...b.accessory.alt_text].length > 2000))
      return "invalid_blocks";
  }
  return null;
}

export async function startFakeSlack(options: { port?: number } = {}): Promise<FakeSlack> {
  const tokens = new Map<string, { teamId: string; botUserId: string }>();
  const failures = new Map<string, { status?: number; error?: string; retryAfter?: number }[]>();
  const calls: SlackCall[] = [];
  const oauthApps = new Map<string, string>();
  const waiters: { predicate: (c: SlackCall) => boolean; resolve: (c: SlackCall) => void }[] = [];
  let clock = 1_700_000_000;
  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.post<{ Params: { method: string } }>("/api/:method", async (request, reply) => {
    const { method } = request.params;
    const failure = failures.get(method)?.shift();
    if (failure) {
      if (failure.retryAfter) reply.header("retry-after", String(failure.retryAfter));
      return reply.code(failure.status ?? 200).send({ ok: false, error: failure.error ?? "ratelimited" });
    }
    if (method === "oauth.v2.access") {
      // Client credentials come as HTTP basic auth or in the form (the SDK uses the form).
      const args = request.body as Record<string, string>;
      if (oauthApps.get(args.client_id ?? "") !== args.client_secret) return { ok: false, error: "invalid_client_id" };
      const teamId = /^code-(T\w+)$/.exec(args.code ?? "")?.[1];
      if (!teamId) return { ok: false, error: "invalid_code" };
      const token = `xoxb-${teamId}-installed`;
      tokens.set(token, { teamId, botUserId: `U${teamId}BOT` });
      return {
        ok: true,
        access_token: token,
        token_type: "bot",
        scope: "chat:write,im:history,app_mentions:read",
        bot_user_id: `U${teamId}BOT`,
        app_id: "A0FAKE",
        team: { id: teamId, name: `Team ${teamId}` },
        enterprise: null,
        is_enterprise_install: false,
        authed_user: { id: "U0INSTALLER" },
      };
    }
    const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
    const bot = tokens.get(token);
    if (!token.startsWith("xoxb-") || !bot) return { ok: false, error: "invalid_auth" };
    const args = { ...(request.body as Record<string, any>) };
    if (typeof args.blocks === "string") {
      try {
        args.blocks = JSON.parse(args.blocks);
      } catch {
        return { ok: false, error: "invalid_blocks_format" };
      }
    }
    switch (method) {
      case "auth.test":
        return { ok: true, team_id: bot.teamId, user_id: bot.botUserId, bot_id: "B0FAKE" };
      case "chat.postMessage": {
        if (!args.channel) return { ok: false, error: "channel_not_found" };
        if (!args.text && !args.blocks?.length) return { ok: false, error: "no_text" };
        const invalid = args.blocks ? blocksError(args.blocks) : null;
        if (invalid) return { ok: false, error: invalid };
        const ts = `${++clock}.000100`;
        const call = { method, args, ts, at: Date.now() };
        calls.push(call);
        for (const w of [...waiters]) {
          if (!w.predicate(call)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(call);
        }
        return {
          ok: true,
          channel: args.channel,
          ts,
          message: { type: "message", text: args.text, ts, bot_id: "B0FAKE" },
        };
      }
      default:
        return { ok: false, error: "unknown_method" };
    }
  });

  const url = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  return {
    url: `${url}/api/`,
    calls,
    addToken: (token, info = {}) =>
      void tokens.set(token, { teamId: info.teamId ?? "T0FAKE", botUserId: info.botUserId ?? "U0BOT" }),
    addOAuthApp: (clientId, clientSecret) => void oauthApps.set(clientId, clientSecret),
    failNext(method, failure) {
      failures.set(method, [...(failures.get(method) ?? []), failure]);
    },
    waitFor(predicate, timeoutMs = 10_000) {
      const found = calls.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching Slack call within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (c) => {
            clearTimeout(timer);
            resolve(c);
          },
        });
      });
    },
    close: () => app.close(),
  };
}
