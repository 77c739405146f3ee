import type { IntentDefinition } from "../src/index.ts";

/** A small shop bot's intents, as a tenant would write them. */
export const shopIntents: IntentDefinition[] = [
  { name: "greeting", examples: ["hi", "hello", "hey there", "good morning", "hello, anyone there?", "hi bot"] },
  {
    name: "order.status",
    examples: [
      "where is my order",
      "track my package",
      "has my order shipped yet",
      "what's the status of order 12345",
      "when will my parcel arrive",
      "I'm still waiting for my delivery",
      "where's my stuff",
    ],
    parameters: [
      {
        name: "order_id",
        entity: "@order_id",
        required: true,
        prompts: ["What is your order number?", "Please type the 5-digit number from your confirmation e-mail."],
      },
    ],
    outputContexts: [{ name: "order", lifespan: 3 }],
  },
  {
    name: "order.return",
    examples: [
      "I want to return an item",
      "how do I send this back",
      "return order 20002",
      "I'd like a refund",
      "can I return my shoes",
    ],
    parameters: [
      { name: "order_id", entity: "@order_id", required: true, prompts: ["Which order would you like to return?"] },
    ],
  },
  { name: "return.followup", examples: ["return it", "send it back"], inputContexts: ["order"] },
  {
    name: "support.ticket",
    examples: [
      "I need to talk to a human",
      "open a support ticket",
      "the product arrived broken",
      "talk to support",
      "I have a complaint",
    ],
  },
  {
    name: "crm.lookup",
    examples: [
      "look up my account",
      "what's my account status",
      "find my customer profile",
      "my email is ada@example.com",
    ],
    parameters: [
      { name: "email", entity: "@sys.email", required: true, prompts: ["Which e-mail address is your account under?"] },
    ],
  },
  { name: "fallback", examples: [], isFallback: true },
];
export const orderIdType = { name: "order_id", kind: "pattern" as const, pattern: "\\b\\d{5}\\b" };
