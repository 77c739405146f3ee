import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { channelDriver, checkRequired } from "../channels.ts";
import { baseUrl, hint, notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import {
  ChannelAccount,
  ChannelAccountCreated,
  ChannelAccountInput,
  ChannelAccountPatch,
  UuidParams,
} from "../schemas.ts";

interface Row {
  id: string;
  tenantId: string;
  channel: string;
  name: string;
  enabled: boolean;
  config: unknown;
  secrets: string;
  createdAt: Date;
}

export const channelAccountRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, options) => {
  const { db, sealer } = options;
  const webhookUrl = (request: FastifyRequest, row: { channel: string; id: string }) =>
    `${baseUrl(options, request)}/webhooks/${row.channel}/${row.id}`;
  const view = (request: FastifyRequest, row: Row) => ({
    id: row.id,
    channel: row.channel,
    name: row.name,
    enabled: row.enabled,
    config: row.config as Record<string, unknown>,
    webhookUrl: webhookUrl(request, row),
    secretHints: Object.fromEntries(
      Object.entries(sealer.openJson<Record<string, string>>(row.secrets)).map(([k, v]) => [k, hint(v)]),
    ),
    createdAt: row.createdAt.toISOString(),
  });
  const account = (row: Row) => ({
    id: row.id,
    tenantId: row.tenantId,
    channel: row.channel,
    config: row.config as Record<string, unknown>,
    secrets: sealer.openJson<Record<string, string>>(row.secrets),
  });
  const find = async (request: FastifyRequest, id: string) => {
    const row = await db.channelAccount.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("channel account");
    return row;
  };

  app.get(
    "/v1/channel-accounts",
    {
      schema: {
        tags: ["channel accounts"],
        summary: "List connected accounts",
        querystring: PageQuery,
        response: { 200: page(ChannelAccount) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      const rows = await db.channelAccount.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } });
      return toPage(rows, request.query, (row) => view(request, row));
    },
  );

  app.get(
    "/v1/channel-accounts/:id",
    { schema: { tags: ["channel accounts"], params: UuidParams, response: { 200: ChannelAccount } } },
    async (request) => {
      requireScope(request, false);
      return view(request, await find(request, request.params.id));
    },
  );

  app.post(
    "/v1/channel-accounts",
    {
      schema: {
        tags: ["channel accounts"],
        summary:
          "Connect an account with the credentials and config its channel takes (GET /v1/channels). The channel's driver checks the credentials with the platform where it can and registers the webhook, or generates what the platform's dashboard needs (a verify token); the answer's `setup` says what to do on the platform's side.",
        body: ChannelAccountInput,
        response: { 201: ChannelAccountCreated },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const { channel, name, credentials } = request.body;
      let config = request.body.config ?? {};
      checkRequired(channel, credentials, config);
      const { connection } = channelDriver(channel);
      const prepared = await connection.prepare?.({ credentials, config, env: options.channelEnv });
      config = { ...config, ...prepared?.config };
      const secrets: Record<string, string> = { ...credentials, ...prepared?.secrets };
      const row = await db.channelAccount.create({
        data: { tenantId, channel, name, config: config as object, secrets: sealer.sealJson(secrets) },
      });
      const url = webhookUrl(request, row);
      let setup: Record<string, unknown>;
      try {
        setup = {
          webhookUrl: url,
          ...(await connection.register({ id: row.id, tenantId, channel, config, secrets }, url, options.channelEnv)),
        };
      } catch (err) {
        // The platform refused it: nothing stays connected.
        await db.channelAccount.delete({ where: { id: row.id } });
        throw err;
      }
      return reply.code(201).send({ account: view(request, row), setup });
    },
  );

  app.get(
    "/v1/channel-accounts/:id/webhook",
    {
      schema: {
        tags: ["channel accounts"],
        summary: "The platform's view of the webhook (Telegram: getWebhookInfo)",
        params: UuidParams,
        response: { 200: Type.Record(Type.String(), Type.Unknown()) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await find(request, request.params.id);
      const { webhookInfo } = channelDriver(row.channel).connection;
      if (!webhookInfo)
        return { webhookUrl: webhookUrl(request, row), note: "this platform reports no webhook state through its API" };
      return webhookInfo(account(row), options.channelEnv);
    },
  );

  app.patch(
    "/v1/channel-accounts/:id",
    {
      schema: {
        tags: ["channel accounts"],
        params: UuidParams,
        body: ChannelAccountPatch,
        response: { 200: ChannelAccount },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const updated = await db.channelAccount.update({ where: { id: row.id }, data: request.body });
      options.onAccountChanged?.(row.id);
      return view(request, updated);
    },
  );

  app.delete(
    "/v1/channel-accounts/:id",
    {
      schema: {
        tags: ["channel accounts"],
        summary: "Disconnect (Telegram: the webhook is removed)",
        params: UuidParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      await channelDriver(row.channel).connection.disconnect?.(account(row), options.channelEnv);
      await db.channelAccount.delete({ where: { id: row.id } });
      options.onAccountChanged?.(row.id);
      return reply.code(204).send(null);
    },
  );
};
