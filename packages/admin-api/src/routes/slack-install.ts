import { installTicket } from "@cb/channel-slack";
import { HttpError } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { baseUrl, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";

/** A link that installs the deployment's Slack app into a workspace for this tenant (OAuth v2). */
export const slackInstallRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, options) => {
  app.post(
    "/v1/slack/install-link",
    {
      schema: {
        tags: ["channel accounts"],
        summary:
          "A one-hour link to install the Slack app in a workspace; the installation becomes a channel account of this tenant",
        response: { 201: Type.Object({ url: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      if (!options.slackInstall)
        throw new HttpError(
          501,
          "not_configured",
          "this deployment has no Slack app for OAuth installs (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET, SLACK_STATE_SECRET)",
        );
      const ttl = 3600_000;
      const ticket = installTicket(tenantOf(request), options.slackInstall.stateSecret, ttl);
      return reply.code(201).send({
        url: `${baseUrl(options, request)}/slack/install?ticket=${ticket}`,
        expiresAt: new Date(Date.now() + ttl).toISOString(),
      });
    },
  );
};
