import {
  applyContexts,
  askForMissing,
  createFulfill,
  createUnderstand,
  runTestConversation,
  type TenantInfo,
} from "@cb/conversation";
import { channelNames } from "@cb/channels";
import { HttpError } from "@cb/core";
import { prismaSql } from "@cb/db";
import type { Egress } from "@cb/egress";
import { createFulfillmentClient } from "@cb/fulfillment";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { ConversationTestFile, ConversationTestReport, turnProblems } from "../conversation-test-schemas.ts";

/** A request's run ends after this: its fulfillment calls each have their endpoint's timeout, a file can hold thousands. */
export const CONVERSATION_TESTS_TIME_LIMIT_MS = 120_000;

/**
 * Conversation tests (Rasa's test stories, Dialogflow CX's test cases): a file of conversations run
 * through the real turn engine against the tenant's live configuration, nothing stored or sent
 * (runTestConversation). Its fulfillment backends are called as for a customer, so this needs an admin.
 */
export const conversationTestRoutes: FastifyPluginAsyncTypebox<AdminApiOptions & { egress: Egress }> = async (
  app,
  { db, sealer, egress, conversationTestsTimeLimitMs },
) => {
  const client = createFulfillmentClient(egress);
  app.addHook("onClose", () => client.shutdown());
  const deps = {
    pool: prismaSql(db),
    understand: createUnderstand(db),
    fulfill: createFulfill({ sealer, client }),
    applyContexts,
    askForMissing,
  };

  app.post(
    "/v1/conversation-tests",
    {
      schema: {
        tags: ["intents"],
        summary:
          "Run conversation tests against the tenant's live configuration (nothing stored or sent to a platform; fulfillment is called)",
        body: ConversationTestFile,
        response: { 200: ConversationTestReport },
      },
    },
    async (request) => {
      requireScope(request, "admin");
      const problems = turnProblems(request.body, channelNames);
      if (problems.length)
        throw new HttpError(400, "validation_failed", `${problems[0]!.path}: ${problems[0]!.message}`, problems);
      const row = await db.tenant.findUniqueOrThrow({ where: { id: tenantOf(request) } });
      const tenant: TenantInfo = {
        id: row.id,
        language: row.language,
        timezone: row.timezone,
        nluSettings: row.nluSettings as TenantInfo["nluSettings"],
      };
      const conversations = [];
      const timeLimit = AbortSignal.timeout(conversationTestsTimeLimitMs ?? CONVERSATION_TESTS_TIME_LIMIT_MS);
      // One after another: a file's load on the tenant's backends stays that of one customer.
      for (const test of request.body.conversations)
        conversations.push(await runTestConversation(deps, tenant, test, timeLimit));
      return { passed: conversations.every((c) => c.passed), conversations };
    },
  );
};
