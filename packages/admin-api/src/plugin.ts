import { assertStorable } from "@cb/core";
import cookie from "@fastify/cookie";
import { createEgress, parsePolicy } from "@cb/egress";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import type { AdminApiOptions } from "./context.ts";
import { authenticator } from "./authenticate.ts";
import { addErrorResponses, ErrorSchema, swaggerOptions } from "./openapi.ts";
import { closeObjects } from "./strict-schemas.ts";
import { agentImportRoutes } from "./routes/agent-import.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { authRoutes } from "./routes/auth.ts";
import { channelAccountRoutes } from "./routes/channel-accounts.ts";
import { channelRoutes } from "./routes/channels.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { conversationTestRoutes } from "./routes/conversation-tests.ts";
import { endpointRoutes } from "./routes/fulfillment-endpoints.ts";
import { entityTypeRoutes } from "./routes/entity-types.ts";
import { handoffRoutes } from "./routes/handoff.ts";
import { installLinkRoutes } from "./routes/install-links.ts";
import { eventSubscriptionRoutes } from "./routes/event-subscriptions.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { nluStatusRoutes } from "./routes/nlu-status.ts";
import { operatorRoutes } from "./routes/operators.ts";
import { scheduledMessageRoutes } from "./routes/scheduled-messages.ts";
import { streamRoutes } from "./routes/stream.ts";
import { intentRoutes } from "./routes/intents.ts";
import { nluEvaluationRoutes } from "./routes/nlu-evaluation.ts";
import { tenantRoutes } from "./routes/tenants.ts";
import { webhookHealthRoutes } from "./routes/webhook-health.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route authenticates on its own (operator token, password, invitation), not with an API key or session. */
    public?: boolean;
  }
}

/**
 * The admin API, in its own encapsulated context: its key check, its OpenAPI document
 * (/openapi.json) and reference page (/docs) cover its routes (and `options.routes`) and nothing
 * else of the server. Every /v1 route documents the error responses it can give.
 */
export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (parent, options) => {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(ErrorSchema);
  await app.register(swagger, swaggerOptions(options.publicBaseUrl));
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(cookie);
  app.decorateRequest("principal", undefined);
  const authenticate = authenticator(options);
  app.addHook("onRequest", async (request) => {
    if (!request.url.startsWith("/v1/") || request.routeOptions.config.public) return;
    request.principal = await authenticate(request);
  });

  // Request schemas refuse fields they do not list; a route that takes no query string refuses one.
  app.addHook("onRoute", (route) => {
    if (!route.url.startsWith("/v1/")) return;
    route.schema ??= {};
    const schema = route.schema as Record<string, unknown>;
    schema.querystring ??= { type: "object", properties: {} };
    for (const part of ["body", "querystring", "params"]) if (schema[part]) schema[part] = closeObjects(schema[part]);
    addErrorResponses(route);
  });

  // Before any schema or handler sees them: text PostgreSQL could not store, or absurd nesting.
  app.addHook("preValidation", async (request) => {
    assertStorable(request.params, "path");
    assertStorable(request.query, "query");
    // Raw bytes (a zip, a signed body) are checked by their route once they are read.
    if (!Buffer.isBuffer(request.body)) assertStorable(request.body, "body");
  });

  for (const routes of [
    tenantRoutes,
    apiKeyRoutes,
    channelRoutes,
    channelAccountRoutes,
    intentRoutes,
    nluEvaluationRoutes,
    entityTypeRoutes,
    nluStatusRoutes,
    endpointRoutes,
    conversationRoutes,
    handoffRoutes,
    agentImportRoutes,
    eventSubscriptionRoutes,
    notificationRoutes,
    scheduledMessageRoutes,
    installLinkRoutes,
    operatorRoutes,
    authRoutes,
  ]) {
    await app.register(routes, options);
  }
  if (options.live) await app.register(streamRoutes, { live: options.live });
  const egress = options.egress ?? createEgress(parsePolicy({}));
  if (!options.egress) app.addHook("onClose", () => egress.close());
  await app.register(webhookHealthRoutes, { ...options, egress });
  await app.register(conversationTestRoutes, { ...options, egress });
  for (const routes of options.routes ?? []) await app.register(routes);
};
