import cors from "@fastify/cors";
import { assertStorable, HttpError, type ChannelAccount, type WebhookPluginOptions } from "@cb/core";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { Type, type Static, type TSchema } from "typebox";
import { Compile } from "typebox/compile";
import { widgetBundle } from "./bundle.ts";
import type { WebchatSecrets } from "./driver.ts";
import { CREDENTIAL, visitorOf, type Visitor } from "./identity.ts";
import { visitorLimits } from "./limits.ts";
import { normalize } from "./normalize.ts";
import { createStreams } from "./stream.ts";

const Params = Type.Object({ accountId: Type.String({ maxLength: 64 }) });
// The widget puts nothing in a URL's query string.
const NoQuery = Type.Object({}, { additionalProperties: false });
const Headers = Type.Object({ authorization: Type.String({ pattern: CREDENTIAL }) });
const StreamHeaders = Type.Object({
  authorization: Type.String({ pattern: CREDENTIAL }),
  // The last event id the widget saw: the stream starts after it (a reconnection) instead of with the history.
  "last-event-id": Type.Optional(Type.String({ pattern: "^[0-9]{1,15}$" })),
});
// What a visitor may post: a typed text, or the payload of a button or quick reply they pressed.
export const MAX_TEXT = 2000;
// The largest post the widget makes, every character of its text and postback escaped (\u001f), is under 13 kB.
const MAX_BODY = 16 * 1024;
const Post = Type.Object(
  {
    clientId: Type.String({ pattern: "^[A-Za-z0-9_-]{8,64}$" }),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TEXT, pattern: "\\S" })),
    postback: Type.Optional(
      Type.Object(
        {
          payload: Type.String({ minLength: 1, maxLength: 1000 }),
          title: Type.Optional(Type.String({ maxLength: 200 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

type Route = { Params: Static<typeof Params>; Headers: Static<typeof Headers> };

/**
 * The web chat's endpoints, at /webhooks/webchat: the widget's script, a visitor's posts (stored
 * through the same ingest as every platform's webhooks) and their stream (stream.ts). Any web page
 * may call them (CORS for every origin): the credential is in a header the widget sets, never a
 * cookie a page could borrow.
 */
export const webhook: FastifyPluginAsync<WebhookPluginOptions> = async (app, options) => {
  const { pool, live } = options;
  if (!pool || !live) throw new Error("the web chat needs the web role's pool and live updates (WebhookPluginOptions)");
  await app.register(cors, {
    origin: "*",
    methods: ["GET", "POST"],
    allowedHeaders: ["authorization", "content-type", "last-event-id"],
    maxAge: 600,
  });
  const streams = createStreams(pool, live);
  app.addHook("preClose", async () => streams.endAll());
  const limits = visitorLimits(pool);

  // The server's ajv coerces types (query strings need it), so `"text": 123` would pass as "123";
  // the widget sends JSON as typed, so its requests are checked as they are (TypeBox, no coercion).
  // An unknown field is reported twice ("schema is false" at it, and by name at its object): once, by name.
  app.setValidatorCompiler(({ schema }) => {
    const validator = Compile(schema as TSchema);
    return (data) =>
      validator.Check(data) ? true : { error: validator.Errors(data).filter((e) => e.keyword !== "boolean") };
  });
  // The widget posts JSON only: any other media type is refused (415) rather than parsed as text.
  app.removeContentTypeParser("text/plain");
  // Before any schema or handler sees them, as in the admin API: text PostgreSQL could not store, or absurd nesting.
  app.addHook("preValidation", async (request) => {
    assertStorable(request.params, "path");
    assertStorable(request.query, "query");
    assertStorable(request.body, "body");
  });

  async function visitorFor(request: FastifyRequest<Route>): Promise<{ account: ChannelAccount; visitor: Visitor }> {
    const account = await options.loadAccount(request.params.accountId);
    if (!account) throw new HttpError(404, "unknown_account", "no web chat is connected at this URL");
    return { account, visitor: visitorOf(request.headers.authorization, account.secrets as unknown as WebchatSecrets) };
  }

  app.get("/widget.js", async (request, reply) => {
    const bundle = await widgetBundle();
    reply
      .header("content-type", "text/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=300")
      .header("etag", bundle.etag)
      .header("vary", "accept-encoding");
    if (request.headers["if-none-match"] === bundle.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(request.headers["accept-encoding"] ?? ""))
      return reply.header("content-encoding", "gzip").send(bundle.gzipped);
    return reply.send(bundle.js);
  });

  app.post<Route & { Body: Static<typeof Post> }>(
    "/:accountId/messages",
    { schema: { params: Params, querystring: NoQuery, headers: Headers, body: Post }, bodyLimit: MAX_BODY },
    async (request, reply) => {
      const post = request.body;
      if ((post.text === undefined) === (post.postback === undefined))
        throw new HttpError(400, "validation_failed", "a message has either text or a postback, not both or neither");
      const { account, visitor } = await visitorFor(request);
      await limits.consume(account.id, visitor.externalId, request.ip);
      await options.ingest(account, [normalize(visitor, post, new Date())]);
      return reply.code(202).send({ accepted: true, clientId: post.clientId });
    },
  );

  app.get<Route & { Headers: Static<typeof StreamHeaders> }>(
    "/:accountId/stream",
    { schema: { params: Params, querystring: NoQuery, headers: StreamHeaders } },
    async (request, reply) => {
      const { account, visitor } = await visitorFor(request);
      const cursor = request.headers["last-event-id"];
      await streams.serve(
        reply,
        { tenantId: account.tenantId, accountId: account.id, externalId: visitor.externalId },
        cursor === undefined ? undefined : Number(cursor),
      );
    },
  );
};
