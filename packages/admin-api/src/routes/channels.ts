import { channelDrivers } from "@cb/channels";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireScope, type AdminApiOptions } from "../context.ts";

const Schema = Type.Record(Type.String(), Type.Unknown(), { description: "a JSON Schema" });
const ChannelView = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  credentials: { ...Schema, description: "what POST /v1/channel-accounts takes as credentials (JSON Schema)" },
  config: { ...Schema, description: "what it takes as config (JSON Schema)" },
  policy: Type.Object({
    replyWindowHours: Type.Union([Type.Number(), Type.Null()], {
      description: "free messaging this long after the customer's last message; null: always",
    }),
    outsideWindow: Type.Union([Type.Literal("template"), Type.Literal("tag"), Type.Null()]),
    tags: Type.Array(Type.String(), { description: "the message tags permitted outside the window" }),
    humanAgentHours: Type.Union([Type.Number(), Type.Null()], {
      description: "how long after the customer's last message a human agent may answer, tagged",
    }),
    templates: Type.Boolean(),
  }),
});

const hours = (ms: number | undefined) => (ms === undefined ? null : ms / 3_600_000);

/** The channels this deployment speaks, as their drivers describe them. */
export const channelRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app) => {
  app.get(
    "/v1/channels",
    {
      schema: {
        tags: ["channel accounts"],
        summary: "The channels that can be connected: the credentials and config each takes, and its messaging policy",
        response: { 200: Type.Object({ items: Type.Array(ChannelView) }) },
      },
    },
    async (request) => {
      requireScope(request, false);
      return {
        items: channelDrivers.map(({ name, displayName, credentials, config, policy }) => ({
          name,
          displayName,
          // The schemas as JSON (TypeBox's own markers are symbols: they do not survive).
          credentials: JSON.parse(JSON.stringify(credentials)),
          config: JSON.parse(JSON.stringify(config)),
          policy: {
            replyWindowHours: hours(policy.replyWindowMs),
            outsideWindow: policy.outsideWindow?.kind ?? null,
            tags: policy.outsideWindow?.kind === "tag" ? [...policy.outsideWindow.tags] : [],
            humanAgentHours: hours(policy.humanAgent?.windowMs),
            templates: policy.templates,
          },
        })),
      };
    },
  );
};
