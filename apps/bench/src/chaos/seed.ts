// The chaos benchmark's tenant: one Telegram account per bot, and intents that all call the
// fulfillment backend (the fallback too), so that every message's reply echoes which one it answers
// while the backend works; when it fails, the intent's own response goes out instead.
import pg from "pg";
import { createSealer, parseKeyRing } from "@cb/secrets";

/** How an intent's own response (sent when the backend failed) begins. */
export const STATIC_PREFIX = "static ";

export async function seedTenant(options: {
  databaseUrl: string;
  keys: string;
  botTokens: string[];
  secretToken: string;
  backendUrl: string;
}): Promise<{ accounts: string[] }> {
  const sealer = createSealer(parseKeyRing(options.keys));
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  try {
    const {
      rows: [tenant],
    } = await db.query<{ id: string }>(
      `INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Chaos') RETURNING id`,
    );
    const accounts: string[] = [];
    for (const botToken of options.botTokens) {
      const {
        rows: [account],
      } = await db.query<{ id: string }>(
        `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'bot', $2) RETURNING id`,
        [tenant!.id, sealer.sealJson({ botToken, secretToken: options.secretToken })],
      );
      accounts.push(account!.id);
    }
    const {
      rows: [endpoint],
    } = await db.query<{ id: string }>(
      `INSERT INTO "FulfillmentEndpoint" (id, "tenantId", name, url) VALUES (gen_random_uuid(), $1, 'orders', $2) RETURNING id`,
      [tenant!.id, options.backendUrl],
    );
    const intent = (name: string, examples: string[], fallback: boolean) =>
      db.query(
        `INSERT INTO "Intent" (id, "tenantId", name, examples, "isFallback", "fulfillmentEndpointId", responses, "updatedAt") VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, now())`,
        [
          tenant!.id,
          name,
          examples,
          fallback,
          endpoint!.id,
          JSON.stringify([{ type: "text", text: `${STATIC_PREFIX}${name}` }]),
        ],
      );
    await intent("order.status", ["where is my order", "track my order", "has my parcel shipped"], false);
    await intent("greeting", ["hi", "hello", "good morning"], false);
    await intent("fallback", [], true);
    return { accounts };
  } finally {
    await db.end();
  }
}
