import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { apiCall, type Stack, startStack } from "./stack.ts";

// The web chat widget in a real browser, on the demo shop's page (another origin than the server, as
// a business's site is), against the whole system: a conversation with the demo bot, rich replies
// of an intent, history on reload, and the stream coming back after the web role restarts.
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

async function openChat(page: Page, path = "/") {
  await page.goto(stack.shopUrl + path);
  await page.getByRole("button", { name: "Chat with us" }).click();
  const chat = page.getByRole("dialog", { name: "Demo Shop" });
  return { chat, log: chat.getByRole("log") };
}

async function say(chat: ReturnType<Page["getByRole"]>, text: string) {
  await chat.getByRole("textbox", { name: "Message" }).fill(text);
  await chat.getByRole("button", { name: "Send" }).click();
}

test("a visitor chats with the demo bot in the widget, and the chat survives a restart of the web role", async () => {
  const page = await (await browser.newContext()).newPage();
  const { chat, log } = await openChat(page);
  // The typing indicator is shown while the bot works: watched from the page, as it may be brief.
  // (Page scripts as strings: these tests are typed for Node, without the DOM's types.)
  await page.evaluate(`{
    const typing = document.querySelector("[data-cb-webchat]").shadowRoot.querySelector(".typing");
    new MutationObserver(() => {
      if (!typing.hasAttribute("hidden")) document.body.dataset.typingSeen = "yes";
    }).observe(typing, { attributes: true });
  }`);

  const sent = Date.now();
  await say(chat, "hi");
  await log.getByText("Hello! I'm the Demo Shop assistant", { exact: false }).waitFor();
  console.log(JSON.stringify({ webchatReplyMs: Date.now() - sent }));
  assert.equal(await page.evaluate("document.body.dataset.typingSeen"), "yes");

  // A quick reply is a button; pressing it answers with its payload and removes the row.
  await chat.getByRole("button", { name: "Where is my order?" }).click();
  await log.getByText("What is your order number?", { exact: false }).waitFor();
  assert.equal(await chat.getByRole("button", { name: "Return an item" }).count(), 0);
  await say(chat, "12345");
  await log.getByText("Order 12345 (Trail running shoes", { exact: false }).waitFor();

  await stack.restartWeb();
  // The stream ended with the old process; the widget reconnects to the new one and goes on.
  await say(chat, "track order 10001");
  await log.getByText("Order 10001 (", { exact: false }).waitFor({ timeout: 15_000 });
  // The reconnection resumed after the last event (with an overlap the widget drops): nothing twice.
  for (const text of ["Hello! I'm the Demo Shop assistant", "Order 12345 (", "Order 10001 ("])
    assert.equal(await log.getByText(text, { exact: false }).count(), 1, text);
  assert.equal(await log.getByText("12345", { exact: true }).count(), 1);

  // The same browser later: the conversation is there again (the visitor's token in localStorage).
  await page.reload();
  await page.getByRole("button", { name: "Chat with us" }).click();
  await log.getByText("Order 10001 (", { exact: false }).waitFor();
  await log.getByText("Hello! I'm the Demo Shop assistant", { exact: false }).waitFor();
  assert.ok((await log.getByText("12345", { exact: true }).count()) === 1, "the visitor's own messages too");
});

test("an identified visitor gets buttons, a card and an image from an intent; a button press reaches the conversation", async () => {
  const picture = `${stack.shopUrl}/shoe.svg`;
  await apiCall(stack, stack.demo.apiKey, "POST", "/v1/intents", {
    name: "catalog",
    examples: ["show me your shoes", "what shoes do you have", "shoe catalog", "show me the products"],
    responses: [
      {
        type: "buttons",
        text: "Our bestseller:",
        buttons: [{ type: "url", title: "All products", url: `${stack.shopUrl}/` }],
      },
      {
        type: "cards",
        cards: [
          {
            title: "Trail running shoes",
            subtitle: "Size 42, blue",
            imageUrl: picture,
            buttons: [{ type: "postback", title: "Exchange size", payload: "EXCHANGE" }],
          },
        ],
      },
      { type: "image", url: picture, caption: "The pair in the sun" },
    ],
  });
  const page = await (await browser.newContext()).newPage();
  const { chat, log } = await openChat(page, "/signed-in");
  await say(chat, "show me your shoes");

  await log.getByText("Our bestseller:").waitFor();
  assert.equal(await log.getByRole("link", { name: "All products" }).getAttribute("href"), `${stack.shopUrl}/`);
  const card = log.locator(".card");
  await card.getByText("Trail running shoes").waitFor();
  await card.getByText("Size 42, blue").waitFor();
  await log.getByText("The pair in the sun").waitFor();
  await page.waitForFunction(
    `[...document.querySelector("[data-cb-webchat]").shadowRoot.querySelectorAll("img")].every((i) => i.naturalWidth === 240)`,
  );
  assert.equal(await log.locator("img").count(), 2, "the card's image and the image reply, loaded from the shop");

  // The shop's server signed Ada's id: the conversation is hers, not an anonymous visitor's.
  const conversation = await stack.db.conversation.findFirstOrThrow({ where: { externalId: "user:ada@example.com" } });
  await card.getByRole("button", { name: "Exchange size" }).click();
  await log.locator(".msg.visitor:not(.pending)").getByText("Exchange size").waitFor();
  const pressed = await stack.db.message.findFirstOrThrow({
    where: { conversationId: conversation.id, direction: "in" },
    orderBy: { createdAt: "desc" },
  });
  assert.deepEqual((pressed.content as { postback?: unknown }).postback, {
    payload: "EXCHANGE",
    title: "Exchange size",
  });
});
