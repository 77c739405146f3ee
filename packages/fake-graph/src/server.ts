import Fastify from "fastify";
import { Invalid, validateInstagram, validateMessenger, validateWhatsApp } from "./validate.ts";

export interface GraphCall {
  platform: "whatsapp" | "messenger" | "instagram";
  path: string;
  body: Record<string, any>;
  /** The message id the fake answered with. */
  id: string;
  /** When the call arrived (Date.now()), to check rate limits. */
  at: number;
}

export interface FakeGraph {
  url: string;
  calls: GraphCall[];
  /** A WhatsApp business phone number and the token allowed to send from it. */
  addPhoneNumber(phoneNumberId: string, token: string): void;
  /** A Messenger page token. */
  addPageToken(token: string): void;
  /** The token of a Page linked to an Instagram professional account: its sends are Instagram messages. */
  addInstagramToken(token: string): void;
  addMedia(id: string, mimeType: string, data: Buffer): void;
  /** The next message send (either platform) answers this instead. */
  failNext(failure: { status: number; code: number; message: string; retryAfter?: number }): void;
  waitFor(predicate: (call: GraphCall) => boolean, timeoutMs?: number): Promise<GraphCall>;
  close(): Promise<void>;
}

const graphError = (code: number, message: string, type = "OAuthException") => ({
  error: { message, type, code, fbtrace_id: "AfakeTraceId" },
});

export async function startFakeGraph(options: { port?: number } = {}): Promise<FakeGraph> {
  const phones = new Map<string, string>();
  const pageTokens = new Set<string>();
  const instagramTokens = new Set<string>();
  const media = new Map<string, { mimeType: string; data: Buffer }>();
  const failures: { status: number; code: number; message: string; retryAfter?: number }[] = [];
  const calls: GraphCall[] = [];
  const waiters: { predicate: (c: GraphCall) => boolean; resolve: (c: GraphCall) => void }[] = [];
  let counter = 0;
  const app = Fastify({ logger: false });
  let base = "";

  function record(call: GraphCall) {
    calls.push(call);
    for (const w of [...waiters]) {
      if (!w.predicate(call)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(call);
    }
  }

  app.post<{ Params: { version: string; id: string } }>("/:version/:id/messages", async (request, reply) => {
    const { id } = request.params;
    const body = (request.body ?? {}) as Record<string, any>;
    const failure = failures.shift();
    if (failure) {
      if (failure.retryAfter) reply.header("retry-after", String(failure.retryAfter));
      return reply.code(failure.status).send(graphError(failure.code, failure.message));
    }
    try {
      if (id === "me") {
        const token = (request.query as Record<string, string>).access_token;
        const platform = token && instagramTokens.has(token) ? "instagram" : "messenger";
        if (!token || (platform === "messenger" && !pageTokens.has(token)))
          return reply.code(401).send(graphError(190, "Error validating access token: invalid page access token"));
        if (platform === "instagram") validateInstagram(body);
        else validateMessenger(body);
        const mid = `m_fake${++counter}`;
        record({ platform, path: request.url.split("?")[0]!, body, id: mid, at: Date.now() });
        return { recipient_id: body.recipient.id, message_id: mid };
      }
      const token = request.headers.authorization?.replace(/^Bearer /, "");
      if (!phones.has(id))
        return reply
          .code(400)
          .send(
            graphError(100, `Unsupported post request. Object with ID '${id}' does not exist`, "GraphMethodException"),
          );
      if (token !== phones.get(id))
        return reply.code(401).send(graphError(190, "Error validating access token: Session has expired"));
      validateWhatsApp(body);
      const wamid = `wamid.fake${++counter}`;
      record({ platform: "whatsapp", path: request.url, body, id: wamid, at: Date.now() });
      return {
        messaging_product: "whatsapp",
        contacts: [{ input: body.to, wa_id: String(body.to).replace(/^\+/, "") }],
        messages: [{ id: wamid }],
      };
    } catch (err) {
      if (err instanceof Invalid) return reply.code(400).send(graphError(err.code, err.message));
      throw err;
    }
  });

  app.get<{ Params: { version: string; id: string } }>("/:version/:id", async (request, reply) => {
    const item = media.get(request.params.id);
    if (!item || !request.headers.authorization) return reply.code(400).send(graphError(100, "Invalid media id"));
    return { id: request.params.id, mime_type: item.mimeType, url: `${base}/media-download/${request.params.id}` };
  });
  app.get<{ Params: { id: string } }>("/media-download/:id", async (request, reply) => {
    const item = media.get(request.params.id);
    if (!item || !request.headers.authorization) return reply.code(404).send();
    return reply.type(item.mimeType).send(item.data);
  });

  base = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  return {
    url: base,
    calls,
    addPhoneNumber: (id, token) => void phones.set(id, token),
    addPageToken: (token) => void pageTokens.add(token),
    addInstagramToken: (token) => void instagramTokens.add(token),
    addMedia: (id, mimeType, data) => void media.set(id, { mimeType, data }),
    failNext: (f) => void failures.push(f),
    waitFor(predicate, timeoutMs = 10_000) {
      const found = calls.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching Graph API call within ${timeoutMs} ms`)),
          timeoutMs,
        );
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
