// What the Meta channels' conformance tests share (exported as @cb/meta-graph/testing; test code
// only): an account, their deliveries signed the way Meta signs, the forgeries Meta's signature
// must refuse, and the fake Graph API as the suite's fake platform.
import { readFileSync } from "node:fs";
import type { ChannelAccount, ChannelDriver, InboundEvent } from "@cb/core";
import { runConformance, type ConformanceCase, type ConformanceFake, type WebhookCall } from "@cb/core/conformance";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature } from "./signature.ts";

/** What differs between the Meta channels' conformance tests. */
export interface MetaConformance {
  driver: ChannelDriver;
  config: Record<string, unknown>;
  /** The access token, under the name the channel's credentials give it (the app secret is added). */
  token: Record<string, string>;
  /** The customer the replies go to. */
  to: string;
  /** The fixtures' folder: `new URL("./fixtures/", import.meta.url)`. */
  fixtures: URL;
  /** Each fixture as Meta delivers it, and the types of the events it must become. */
  deliveries: { name: string; file: string; events: InboundEvent["type"][] }[];
  /** Lets the account's token send through the fake Graph API. */
  register(graph: FakeGraph): void;
}

const signed = (accountId: string, body: string, appSecret: string): WebhookCall => ({
  method: "POST",
  url: `/${accountId}`,
  headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(body, appSecret) },
  body,
});

/**
 * The verification handshake, then each fixture as Meta delivers it: the file's exact bytes, signed
 * with the account's app secret.
 */
function deliveries(account: ChannelAccount, c: MetaConformance): ConformanceCase["deliveries"] {
  const { appSecret, verifyToken } = account.secrets as { appSecret: string; verifyToken: string };
  return [
    {
      name: "verification handshake",
      request: {
        method: "GET",
        url: `/${account.id}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(verifyToken)}&hub.challenge=1158201444`,
      },
      events: [],
    },
    ...c.deliveries.map((d) => ({
      name: d.name,
      request: signed(account.id, readFileSync(new URL(d.file, c.fixtures), "utf8"), appSecret),
      events: d.events,
    })),
  ];
}

/** Unsigned, signed with another secret, and a body changed after signing. */
function forgeries(genuine: WebhookCall): { name: string; request: WebhookCall }[] {
  const accountId = genuine.url.slice(1);
  const body = genuine.body ?? "";
  const { "x-hub-signature-256": _, ...unsigned } = genuine.headers ?? {};
  return [
    { name: "no signature", request: { ...genuine, headers: unsigned } },
    { name: "another app's secret", request: signed(accountId, body, "not-the-app-secret") },
    {
      name: "body changed after signing",
      request: { ...genuine, body: `${body.replace(/"(IGSID|<IGSID>|<PSID>|\d{6,})"/, '"attacker"')} ` },
    },
  ];
}

/** The fake Graph API as the conformance suite's platform: it answers what Meta refuses with Meta's 400. */
async function fakeGraphPlatform(register: (graph: FakeGraph) => void): Promise<ConformanceFake> {
  const graph = await startFakeGraph();
  register(graph);
  return {
    env: { GRAPH_API_BASE_URL: graph.url },
    throttleNext: (retryAfterSeconds) =>
      graph.failNext({
        status: 429,
        code: 4,
        message: "(#4) Application request limit reached",
        retryAfter: retryAfterSeconds,
      }),
    close: () => graph.close(),
  };
}

/** Registers the shared conformance suite (runConformance) for a Meta channel. */
export function runMetaConformance(c: MetaConformance): void {
  const account: ChannelAccount = {
    id: "7b0c1f5e-3a55-4c5e-9a3e-5d6f7a8b9c0d",
    tenantId: "00000000-0000-4000-8000-000000000001",
    channel: c.driver.name,
    config: c.config,
    secrets: { ...c.token, appSecret: `${c.driver.name}-app-secret`, verifyToken: `${c.driver.name}-verify-token` },
  };
  runConformance({
    driver: c.driver,
    account,
    to: { externalId: c.to, type: "private" },
    deliveries: deliveries(account, c),
    forgeries,
    fake: () => fakeGraphPlatform(c.register),
  });
}
