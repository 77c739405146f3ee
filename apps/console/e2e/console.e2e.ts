import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { operator, signIn } from "./people.ts";
import { ADMIN_TOKEN, apiCall, type Stack, startStack, telegramUser } from "./stack.ts";

let stack: Stack;
let browser: Browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

const sentTo = (chatId: number, since: number) =>
  stack.botApi.calls.filter((c, i) => i >= since && c.method === "sendMessage" && Number(c.params.chat_id) === chatId);

test("an agent watches a conversation live, takes over, replies, and hands it back to the bot", async () => {
  const agent = await operator(stack, stack.demo.apiKey, "sam@shop.example", "agent");
  const page = await signIn(browser, stack, agent);
  await page.locator(".live.on").waitFor();

  const ada = { id: 7100001, firstName: "Ada" };
  const say = telegramUser(stack, ada);
  const posted = Date.now();
  await say("where is my order 12345");
  const item = page.getByRole("list", { name: "Conversations" }).getByRole("link", { name: /^Ada/ });
  await item.waitFor({ timeout: 5000 });
  console.log(JSON.stringify({ liveListMs: Date.now() - posted }));

  await item.click();
  const transcript = page.getByRole("article", { name: "Transcript" });
  // The answer came from the order system through fulfillment; "why" shows the call and its exchange.
  await transcript.getByText("Order 12345 (Trail running shoes", { exact: false }).waitFor();
  await transcript.getByRole("button", { name: "Why?" }).first().click();
  const why = transcript.getByRole("region", { name: "Why" });
  await why.getByText("order.status", { exact: true }).waitFor();
  assert.match((await why.textContent()) ?? "", /Confidence\s*\d+(\.\d)?%/);
  assert.match((await why.textContent()) ?? "", /Fulfillment call: order\.status — ok \(HTTP 200\)/);
  assert.match(
    (await why.getByRole("list", { name: "Stage times" }).textContent()) ?? "",
    /Understanding \d+ ms.*Choosing replies \(fulfillment included\) \d+ ms.*Sending \d+ ms/,
  );
  await why.getByText("Request and response").click();
  const request = (await why.getByRole("region", { name: "Fulfillment request" }).textContent()) ?? "";
  assert.match(request, /"order_id": "12345"/);
  assert.match(
    (await why.getByRole("region", { name: "Fulfillment response" }).textContent()) ?? "",
    /Trail running shoes/,
  );

  await transcript.getByRole("button", { name: "Take over" }).click();
  await transcript.getByText("With agent").waitFor();
  const before = stack.botApi.calls.length;
  await say("where is my order?");
  await transcript.getByText("where is my order?").waitFor();
  // The bot says nothing of its own while an agent has the conversation (the waiting message aside).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const botTexts = sentTo(ada.id, before).map((c) => String(c.params.text));
  assert.ok(
    botTexts.every((text) => /agent will be with you/i.test(text)),
    `the bot answered during the handoff: ${botTexts.join(" | ")}`,
  );

  await page.getByLabel("Reply").fill("Hi Ada, Sam here: let me look that up for you.");
  await page.getByRole("button", { name: "Send" }).click();
  const reply = await stack.botApi.waitFor(
    (c) => c.method === "sendMessage" && Number(c.params.chat_id) === ada.id && /Sam here/.test(String(c.params.text)),
    5000,
  );
  assert.match(String(reply.params.text), /let me look that up/);
  await transcript.getByText("Sam here", { exact: false }).waitFor();

  await transcript.getByRole("button", { name: "Hand back to bot" }).click();
  await transcript.getByText("Bot", { exact: true }).waitFor();
  const handedBack = stack.botApi.calls.length;
  await say("hi");
  await stack.botApi.waitFor(
    (c) =>
      stack.botApi.calls.indexOf(c) >= handedBack &&
      c.method === "sendMessage" &&
      Number(c.params.chat_id) === ada.id &&
      /Demo Shop assistant/.test(String(c.params.text)),
    5000,
  );
  await page.context().close();
});

test("a failed event delivery is replayed from the health page", async (t) => {
  let failing = true;
  const received: unknown[] = [];
  const receiver: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      if (failing) {
        response.writeHead(500).end("down for maintenance");
        return;
      }
      received.push(JSON.parse(body));
      response.writeHead(204).end();
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  t.after(() => {
    receiver.closeAllConnections();
    receiver.close();
  });
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  const { subscription } = await apiCall<{ subscription: { id: string } }>(
    stack,
    stack.demo.apiKey,
    "POST",
    "/v1/event-subscriptions",
    {
      url: receiverUrl,
      eventTypes: ["message.received"],
    },
  );
  await telegramUser(stack, { id: 7100002, firstName: "Grace" })("hello");
  // Both quick attempts fail (at once and after 5 s); the next would be minutes away.
  let attempts = 0;
  for (let i = 0; i < 100 && attempts < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const page = await apiCall<{ data: { attempts: number }[] }>(
      stack,
      stack.demo.apiKey,
      "GET",
      `/v1/event-subscriptions/${subscription.id}/deliveries`,
    );
    attempts = page.data[0]?.attempts ?? 0;
  }
  assert.equal(attempts, 2, "the delivery failed twice");
  failing = false;

  const admin = await operator(stack, stack.demo.apiKey, "lin@shop.example", "admin");
  const page = await signIn(browser, stack, admin);
  await page.getByRole("link", { name: "Webhook health" }).click();
  await page.getByRole("link", { name: receiverUrl }).click();
  const attempt = page.getByRole("region", { name: "Attempt message.received" }).first();
  await attempt.getByText("HTTP 500").waitFor();
  await attempt.getByRole("button", { name: "message.received", exact: true }).click();
  await attempt.getByText("down for maintenance").waitFor();
  await attempt.getByRole("button", { name: "Replay message.received delivery" }).click();
  await page.getByRole("status").getByText("queued again").waitFor();
  for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(received.length, 1, "the replay reached the endpoint");
  assert.equal((received[0] as { type: string }).type, "message.received");
  await page.context().close();
});

test("an operator of another tenant sees nothing of this one", async () => {
  const conversations = await apiCall<{ data: { id: string }[] }>(stack, stack.demo.apiKey, "GET", "/v1/conversations");
  const theirs = conversations.data[0]?.id;
  assert.ok(theirs, "tenant A has conversations");
  const tenantB = await apiCall<{ apiKey: { key: string } }>(stack, ADMIN_TOKEN, "POST", "/v1/tenants", {
    name: "Other shop",
  });
  const page = await signIn(browser, stack, await operator(stack, tenantB.apiKey.key, "eve@other.example", "admin"));
  await page.getByText("No conversations match.").waitFor();
  assert.equal(await page.getByRole("list", { name: "Conversations" }).getByRole("link").count(), 0);
  await page.goto(`${stack.consoleUrl}conversations/${theirs}`);
  await page.getByRole("alert").waitFor();
  assert.equal((await page.request.get(`${stack.url}/v1/conversations/${theirs}`)).status(), 404);
  assert.equal((await page.request.get(`${stack.url}/v1/conversations/${theirs}/messages`)).status(), 404);
  await page.getByRole("link", { name: "Webhook health" }).click();
  await page.getByText("No webhooks yet.").waitFor();
  await page.context().close();
});

// Reads what the tests above left: Ada's conversation and the event subscription.
test("a viewer reads everything and is offered nothing that changes it", async () => {
  const page = await signIn(browser, stack, await operator(stack, stack.demo.apiKey, "vic@shop.example", "viewer"));
  await page.getByRole("list", { name: "Conversations" }).getByRole("link", { name: /^Ada/ }).click();
  const transcript = page.getByRole("article", { name: "Transcript" });
  await transcript.getByText("Order 12345 (Trail running shoes", { exact: false }).waitFor();
  for (const name of ["Take over", "Hand back to bot", "Send"])
    assert.equal(await page.getByRole("button", { name }).count(), 0, name);
  assert.equal(await page.getByRole("link", { name: "Operators" }).count(), 0);
  await page.getByRole("link", { name: "Webhook health" }).click();
  await page.getByRole("link", { name: /\/events$/ }).click();
  await page.getByRole("region", { name: "Attempt message.received" }).first().waitFor();
  assert.equal(await page.getByRole("button", { name: "Replay", exact: false }).count(), 0);
  await page.getByRole("link", { name: "Intents" }).click();
  await page
    .getByRole("list", { name: "Intents" })
    .getByRole("button", { name: /order\.status/ })
    .click();
  assert.equal(await page.getByRole("button", { name: "Save intent" }).count(), 0);
  assert.ok(await page.getByRole("textbox", { name: "Examples (one a line)" }).isDisabled());
  await page.context().close();
});

test("the intents page shows the model report once a worker has computed it", async () => {
  const admin = await operator(stack, stack.demo.apiKey, "rae@shop.example", "admin");
  const page = await signIn(browser, stack, admin);
  await page.getByRole("link", { name: "Intents" }).click();
  const report = page.getByRole("region", { name: "Model report" });
  // 202 first: the panel says it is computing and asks again until the worker has stored it.
  await report.getByText(/-fold cross-validation on your examples: \d+ tested/).waitFor({ timeout: 30_000 });
  await report.getByText(/Of the examples as they are \(version \d+\)\./).waitFor();
  const perIntent = report.getByRole("table", { name: "Accuracy per intent" });
  await perIntent.getByRole("cell", { name: "order.status", exact: true }).waitFor();
  await page.context().close();
});

test("the notification log filters by every status, scheduled and cancelled reminders included", async () => {
  await apiCall(stack, stack.demo.apiKey, "POST", "/v1/contacts", { customerId: "c-e2e-reminders" });
  const remind = (text: string) =>
    apiCall<{ id: string }>(stack, stack.demo.apiKey, "POST", "/v1/scheduled-messages", {
      idempotencyKey: text,
      contact: { customerId: "c-e2e-reminders" },
      after: "P1D",
      message: { text },
    });
  await remind("Your table is booked for tomorrow");
  const dropped = await remind("Your cart misses you");
  await apiCall(stack, stack.demo.apiKey, "POST", `/v1/notifications/${dropped.id}/cancel`, {});
  const page = await signIn(browser, stack, await operator(stack, stack.demo.apiKey, "nia@shop.example", "viewer"));
  await page.getByRole("link", { name: "Notifications" }).click();
  const log = page.getByRole("table", { name: "Notification log" });
  // The log shows a reminder by its kind, and a cancelled one with the reason.
  for (const [status, cell] of [
    ["scheduled", "reminder"],
    ["cancelled", "cancelled through the API"],
  ] as const) {
    await page.getByLabel("Status").selectOption(status);
    await log.getByRole("cell", { name: cell, exact: true }).first().waitFor();
    const shown = await log.locator("tbody tr").allTextContents();
    assert.ok(shown.length > 0 && shown.every((row) => row.includes(status)), `${status}: ${shown.join(" | ")}`);
  }
  await page.context().close();
});
