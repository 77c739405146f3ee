import { test } from "node:test";
import assert from "node:assert/strict";
import { withLogContext } from "../src/index.ts";
import { captureLogs } from "../src/testing.ts";

test("lines logged inside a log context carry its ids, nested contexts add theirs, and none leak out", async () => {
  const { logger, lines } = captureLogs();
  logger.info("before");
  await withLogContext({ tenantId: "t1" }, async () => {
    logger.info("tenant");
    await new Promise((resolve) => setTimeout(resolve, 5));
    await withLogContext({ conversationId: "c1", messageId: "m1" }, async () => {
      logger.child({ taskIdentifier: "handle-message" }).warn("conversation");
    });
    logger.info("tenant again");
  });
  logger.info("after");
  const by = Object.fromEntries(lines.map((l) => [l.msg, l]));
  assert.equal(by.before!.tenantId, undefined);
  assert.equal(by.tenant!.tenantId, "t1");
  assert.equal(by.tenant!.conversationId, undefined);
  assert.deepEqual(
    [
      by.conversation!.tenantId,
      by.conversation!.conversationId,
      by.conversation!.messageId,
      by.conversation!.taskIdentifier,
    ],
    ["t1", "c1", "m1", "handle-message"],
  );
  assert.equal(by["tenant again"]!.conversationId, undefined);
  assert.equal(by.after!.tenantId, undefined);
  assert.equal(by.before!.traceId, undefined, "no trace without tracing");
});
