import { ChannelName } from "@cb/channels";
import { HttpError, missingSettings } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { channelDriver } from "../channels.ts";
import { baseUrl, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";

const TTL_MS = 3600_000;

/**
 * A link that installs the deployment's app of a channel (ChannelDriver.install) into a platform
 * account for this tenant, through the platform's OAuth flow.
 */
export const installLinkRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, options) => {
  app.post(
    "/v1/channels/:channel/install-link",
    {
      schema: {
        tags: ["channel accounts"],
        summary:
          "A one-hour link to install the channel's app (one deployment-wide app, installed through OAuth) in a platform account; the installation becomes a channel account of this tenant",
        params: Type.Object({ channel: ChannelName() }),
        response: { 201: Type.Object({ url: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const driver = channelDriver(request.params.channel);
      if (!driver.install)
        throw new HttpError(
          404,
          "not_found",
          `${driver.displayName} has no install flow: connect its accounts one by one`,
        );
      const settings = options.channelSettings ?? {};
      const missing = missingSettings(driver.install, settings);
      if (missing.length)
        throw new HttpError(
          409,
          "not_configured",
          `this deployment has no ${driver.displayName} app to install: set ${missing.join(", ")}`,
          {
            missing,
          },
        );
      const link = driver.install.link(tenantOf(request), {
        settings,
        baseUrl: baseUrl(options, request),
        ttlMs: TTL_MS,
      });
      return reply.code(201).send({ url: link, expiresAt: new Date(Date.now() + TTL_MS).toISOString() });
    },
  );
};
