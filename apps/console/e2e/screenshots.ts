// `npm run screenshots -w @cb/console`: the README's pictures of the console (docs/screenshots), taken
// from the whole system with a few customers talking to the demo bot, one of them with an agent,
// and an event endpoint that fails now and then.
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { launchBrowser } from "./browser.ts";
import { operator, signIn } from "./people.ts";
import { apiCall, startStack, telegramUser } from "./stack.ts";

const OUT = new URL("../../../docs/screenshots/", import.meta.url).pathname;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
await mkdir(OUT, { recursive: true });
const stack = await startStack();
const browser = await launchBrowser();

let calls = 0;
const receiver = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    calls++;
    setTimeout(() => response.writeHead(calls % 4 === 0 ? 503 : 204).end(), 20 + (calls % 5) * 15);
  });
});
receiver.listen(0, "127.0.0.1");
await once(receiver, "listening");
await apiCall(stack, stack.demo.apiKey, "POST", "/v1/event-subscriptions", {
  url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/helpdesk/events`,
  eventTypes: ["message.received", "message.sent", "handoff.requested", "handoff.assigned"],
});

const people = [
  { id: 7200001, firstName: "Ada", lines: ["hi", "where is my order?", "12345"] },
  { id: 7200002, firstName: "Grace", lines: ["I want to return order 20002"] },
  { id: 7200003, firstName: "Linus", lines: ["look up ada@example.com"] },
  { id: 7200004, firstName: "Margaret", lines: ["hello", "I need to talk to a human"] },
  { id: 7200005, firstName: "Alan", lines: ["track order 10001"] },
];
for (const person of people) {
  const say = telegramUser(stack, person);
  for (const line of person.lines) {
    await say(line);
    await pause(700);
  }
}

const email = await operator(stack, stack.demo.apiKey, "sam@shop.example", "admin");
const page = await signIn(browser, stack, email);
await pause(800);
await page.getByRole("list", { name: "Conversations" }).getByRole("link", { name: /^Ada/ }).click();
const transcript = page.getByRole("article", { name: "Transcript" });
await transcript.getByText("12345", { exact: true }).waitFor();
await pause(500);
await page.screenshot({ path: `${OUT}conversations.png` });
await transcript.getByRole("button", { name: "Why?" }).last().click();
const why = transcript.getByRole("region", { name: "Why" });
await why.getByText("Request and response").click();
await why.evaluate((element) => element.scrollIntoView({ block: "start" }));
await pause(300);
await page.screenshot({ path: `${OUT}transcript-why.png` });

// A past day of order-system calls, with a bad hour, so the charts have a history to show.
const recent = await stack.db.fulfillmentCall.findFirst({ where: { endpointId: stack.demo.endpointId } });
if (recent) {
  const hour = 3600_000;
  const history = Array.from({ length: 23 * 8 }, (_, i) => {
    const hoursAgo = 23.5 - i / 8;
    const bad = hoursAgo > 7 && hoursAgo < 9;
    const latencyMs = Math.round(35 + 25 * Math.sin(i / 9) ** 2 + (i % 7) * 4 + (bad ? 420 + (i % 5) * 90 : 0));
    const failed = bad && i % 3 !== 0;
    return {
      tenantId: recent.tenantId,
      messageId: recent.messageId,
      endpointId: recent.endpointId,
      intent: recent.intent,
      ok: !failed,
      httpStatus: failed ? (i % 2 ? 503 : null) : 200,
      latencyMs,
      error: failed ? (i % 2 ? "HTTP 503" : "timed out after 5000 ms") : null,
      errorClass: failed ? (i % 2 ? "http_5xx" : "timeout") : null,
      requestBody: recent.requestBody,
      requestHeaders: recent.requestHeaders ?? undefined,
      responseBody: failed ? (i % 2 ? "Service Unavailable" : null) : recent.responseBody,
      createdAt: new Date(Date.now() - hoursAgo * hour),
    };
  });
  await stack.db.fulfillmentCall.createMany({ data: history });
}
await page.getByRole("link", { name: "Webhook health" }).click();
await page.getByRole("link", { name: "demo-backends" }).click();
await page.getByRole("region", { name: /Call/ }).first().waitFor();
await page.getByRole("region", { name: /Call/ }).first().getByRole("button", { expanded: false }).click();
await pause(500);
await page.screenshot({ path: `${OUT}health.png` });

await page.getByRole("link", { name: "Intents" }).click();
await page.getByRole("textbox", { name: "Phrase" }).fill("where is my order 12345");
await page.getByRole("button", { name: "Try" }).click();
await page
  .getByRole("list", { name: "Intents" })
  .getByRole("button", { name: /order.status/ })
  .click();
await pause(500);
await page.screenshot({ path: `${OUT}intents.png` });

await browser.close();
receiver.close();
await stack.close();
console.log(`screenshots in ${OUT}`);
process.exit(0);
