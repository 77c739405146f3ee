import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startStack, WA_PHONE_ID, type Stack } from "./support.ts";

let stack: Stack;

before(async () => {
  stack = await startStack();
  await stack.t.db.intent.createMany({
    data: [
      {
        tenantId: stack.tenantId,
        name: "menu",
        examples: ["hi", "hello", "what can you do", "menu please"],
        responses: [
          {
            type: "buttons",
            text: "How can I help?",
            buttons: [
              { type: "postback", title: "Track order", payload: "TRACK_ORDER" },
              { type: "postback", title: "Talk to us", payload: "SUPPORT" },
            ],
          },
        ],
      },
      {
        tenantId: stack.tenantId,
        name: "TRACK_ORDER",
        examples: ["track my order", "where is my parcel"],
        responses: [{ type: "text", text: "Tracking: your parcel arrives Thursday." }],
      },
      {
        tenantId: stack.tenantId,
        name: "welcome",
        examples: [],
        events: ["WELCOME"],
        responses: [{ type: "text", text: "Welcome to the shop!" }],
      },
      {
        tenantId: stack.tenantId,
        name: "SUPPORT",
        examples: ["talk to a human", "support"],
        responses: [{ type: "text", text: "A colleague will write to you shortly." }],
      },
    ],
  });
});
after(() => stack.close());

const waText = (id: string, text: string, from = "4915112345678") => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: "waba",
      changes: [
        {
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { phone_number_id: WA_PHONE_ID },
            contacts: [{ wa_id: from, profile: { name: "Ada" } }],
            messages: [
              { from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: text } },
            ],
          },
        },
      ],
    },
  ],
});
const waButton = (id: string, payload: string, title: string) => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: "waba",
      changes: [
        {
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { phone_number_id: WA_PHONE_ID },
            messages: [
              {
                from: "4915112345678",
                id,
                timestamp: String(Math.floor(Date.now() / 1000)),
                type: "interactive",
                interactive: { type: "button_reply", button_reply: { id: payload, title } },
              },
            ],
          },
        },
      ],
    },
  ],
});

test("WhatsApp end to end: text in → reply buttons out → a button press reaches the bot as a postback → delivery statuses update the message", async () => {
  assert.equal(await stack.postMeta("whatsapp", waText("wamid.in1", "hello")), 200);
  const buttons = await stack.graph.waitFor((c) => c.platform === "whatsapp" && c.body.type === "interactive");
  assert.deepEqual(buttons.body.interactive.action.buttons, [
    { type: "reply", reply: { id: "TRACK_ORDER", title: "Track order" } },
    { type: "reply", reply: { id: "SUPPORT", title: "Talk to us" } },
  ]);
  assert.equal(buttons.body.to, "4915112345678");

  assert.equal(await stack.postMeta("whatsapp", waButton("wamid.in2", "TRACK_ORDER", "Track order")), 200);
  const answer = await stack.graph.waitFor((c) => c.platform === "whatsapp" && c.body.type === "text");
  assert.equal(answer.body.text.body, "Tracking: your parcel arrives Thursday.");
  const press = await stack.t.db.message.findFirstOrThrow({ where: { dedupeKey: "wamid.in2" } });
  assert.deepEqual((press.content as { postback: unknown }).postback, { payload: "TRACK_ORDER", title: "Track order" });

  // Meta reports on the message the bot sent.
  const status = (state: string) => ({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "waba",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              statuses: [{ id: answer.id, status: state, timestamp: "1700000000", recipient_id: "4915112345678" }],
            },
          },
        ],
      },
    ],
  });
  await stack.postMeta("whatsapp", status("delivered"));
  await stack.postMeta("whatsapp", status("read"));
  await stack.postMeta("whatsapp", status("delivered"));
  // The worker records the message's id once Meta has answered the send, which may be after the
  // reports arrive (they are kept and applied then): the row ends read either way.
  const recorded = async () =>
    (await stack.t.db.message.findFirst({ where: { platformMessageId: answer.id } }))?.status;
  for (let i = 0; i < 100 && (await recorded()) !== "read"; i++) await sleep(50);
  assert.equal(await recorded(), "read");
});

test("Messenger end to end: text in → button template out → postback in → answer; echoes ignored", async () => {
  const event = (messaging: object) => ({
    object: "page",
    entry: [{ id: "1895382890692545", time: Date.now(), messaging: [messaging] }],
  });
  const sender = { id: "24680" };
  const recipient = { id: "1895382890692545" };
  assert.equal(
    await stack.postMeta(
      "messenger",
      event({ sender, recipient, timestamp: Date.now(), message: { mid: "m_in1", text: "hello" } }),
    ),
    200,
  );
  const template = await stack.graph.waitFor(
    (c) => c.platform === "messenger" && c.body.message.attachment?.payload?.template_type === "button",
  );
  assert.deepEqual(template.body.message.attachment.payload.buttons, [
    { type: "postback", title: "Track order", payload: "TRACK_ORDER" },
    { type: "postback", title: "Talk to us", payload: "SUPPORT" },
  ]);
  assert.deepEqual(template.body.recipient, { id: "24680" });

  await stack.postMeta(
    "messenger",
    event({
      sender: recipient,
      recipient: sender,
      timestamp: Date.now(),
      message: { mid: "m_echo", text: "How can I help?", is_echo: true },
    }),
  );
  assert.equal(
    await stack.postMeta(
      "messenger",
      event({
        sender,
        recipient,
        timestamp: Date.now(),
        postback: { mid: "m_pb1", title: "Talk to us", payload: "SUPPORT" },
      }),
    ),
    200,
  );
  const answer = await stack.graph.waitFor(
    (c) => c.platform === "messenger" && c.body.message.text === "A colleague will write to you shortly.",
  );
  assert.equal(answer.body.messaging_type, "RESPONSE");
  await sleep(300);
  assert.equal(
    await stack.t.db.message.count({ where: { dedupeKey: "m_echo" } }),
    0,
    "the page's own echo is not a customer message",
  );

  await stack.postMeta(
    "messenger",
    event({ sender, recipient, timestamp: Date.now(), read: { watermark: Date.now() + 1000 } }),
  );
  const sent = await stack.t.db.message.findMany({
    where: { direction: "out", channelAccountId: stack.messengerAccountId },
  });
  assert.ok(sent.length >= 2 && sent.every((m) => m.status === "read"));
});

test("Slack end to end: a DM in → Block Kit buttons out → the button press (form-encoded) reaches the bot as a postback", async () => {
  const event = JSON.stringify({
    type: "event_callback",
    team_id: "T111",
    event_id: "EvDM1",
    event_time: Math.floor(Date.now() / 1000),
    event: {
      type: "message",
      channel_type: "im",
      channel: "D42",
      user: "U42",
      text: "hello",
      ts: `${Math.floor(Date.now() / 1000)}.000100`,
    },
  });
  assert.equal(await stack.postSlack(event), 200);
  const buttons = await stack.slack.waitFor(
    (c) =>
      c.args.channel === "D42" &&
      Array.isArray(c.args.blocks) &&
      c.args.blocks.some((b: { type: string }) => b.type === "actions"),
  );
  const actionsBlock = buttons.args.blocks.find((b: { type: string }) => b.type === "actions");
  assert.deepEqual(
    actionsBlock.elements.map((e: { value: string }) => e.value),
    ["TRACK_ORDER", "SUPPORT"],
  );

  const payload = {
    type: "block_actions",
    user: { id: "U42", name: "ada" },
    channel: { id: "D42" },
    container: { type: "message", message_ts: buttons.ts, channel_id: "D42" },
    actions: [
      {
        action_id: "reply_0",
        block_id: "b",
        type: "button",
        value: "TRACK_ORDER",
        text: { type: "plain_text", text: "Track order" },
        action_ts: `${Math.floor(Date.now() / 1000)}.5`,
      },
    ],
  };
  assert.equal(
    await stack.postSlack(
      `payload=${encodeURIComponent(JSON.stringify(payload))}`,
      "application/x-www-form-urlencoded",
    ),
    200,
  );
  const answer = await stack.slack.waitFor(
    (c) => c.args.channel === "D42" && c.args.text === "Tracking: your parcel arrives Thursday.",
  );
  assert.equal(answer.args.blocks[0].text.text, "Tracking: your parcel arrives Thursday.");
});

test("Slack: a customer's first visit to the app's Messages tab is greeted (SLACK_WELCOME, WELCOME); later visits are not", async () => {
  const opened = (eventId: string) =>
    JSON.stringify({
      type: "event_callback",
      team_id: "T111",
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      event: { type: "app_home_opened", user: "U77", channel: "D77", tab: "messages", event_ts: "1515449522000016" },
    });
  assert.equal(await stack.postSlack(opened("EvHOME1")), 200);
  const welcome = await stack.slack.waitFor((c) => c.args.channel === "D77");
  assert.equal(welcome.args.text, "Welcome to the shop!");

  assert.equal(await stack.postSlack(opened("EvHOME2")), 200);
  const incoming = await stack.t.db.message.count({ where: { direction: "in", conversation: { externalId: "D77" } } });
  assert.equal(incoming, 1, "the second visit is the same event: stored once, so nothing answers it");
  assert.equal(stack.slack.calls.filter((c) => c.args.channel === "D77").length, 1);
});

test("a conversation's events reach a subscribed endpoint, signed: conversation.started, message.received, intent.matched, message.sent", async () => {
  const { createServer } = await import("node:http");
  const { Webhook } = await import("standardwebhooks");
  const { generateSigningSecret } = await import("@cb/fulfillment");
  const got: { headers: Record<string, string>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers as Record<string, string>, body });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const secret = generateSigningSecret();
  await stack.t.db.eventSubscription.create({
    data: {
      tenantId: stack.tenantId,
      url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/events`,
      eventTypes: ["*"],
      secrets: stack.sealer.sealJson({ signingSecrets: [secret] }),
    },
  });
  try {
    await stack.postMeta("whatsapp", waText("wamid.ev1", "hello", "4915100000001"));
    // Only this conversation's events (other tests' conversations may still be finishing).
    const mine = async () => {
      const conversation = await stack.t.db.conversation.findFirst({ where: { externalId: "4915100000001" } });
      return got
        .map((g) => new Webhook(secret).verify(g.body, g.headers) as { type: string; data: { conversationId: string } })
        .filter((e) => e.data.conversationId === conversation?.id);
    };
    const types = async () => (await mine()).map((e) => e.type).sort();
    for (let i = 0; i < 100 && (await types()).length < 4; i++) await sleep(100);
    assert.deepEqual(await types(), ["conversation.started", "intent.matched", "message.received", "message.sent"]);
    const matched = (await mine()).find((e) => e.type === "intent.matched") as unknown as { data: { intent: string } };
    assert.equal(matched.data.intent, "menu");
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
});
