// What the Meta channels' conformance tests share (exported as @cb/meta-graph/testing; test code
// only): their deliveries signed the way Meta signs, the forgeries Meta's signature must refuse, and
// the fake Graph API as the suite's fake platform.
import type { ChannelAccount } from "@cb/core";
import type { ConformanceCase, ConformanceFake, WebhookCall } from "@cb/core/conformance";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature } from "./signature.ts";

const signed = (accountId: string, body: string, appSecret: string): WebhookCall => ({
  method: "POST",
  url: `/${accountId}`,
  headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(body, appSecret) },
  body,
});

/**
 * The verification handshake, then each fixture as Meta delivers it: the body's exact bytes, signed
 * with the account's app secret.
 */
export function metaDeliveries(
  account: ChannelAccount,
  fixtures: { name: string; body: string; events: ConformanceCase["deliveries"][number]["events"] }[],
): ConformanceCase["deliveries"] {
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
    ...fixtures.map((f) => ({ name: f.name, request: signed(account.id, f.body, appSecret), events: f.events })),
  ];
}

/** Unsigned, signed with another secret, and a body changed after signing. */
export function metaForgeries(genuine: WebhookCall): { name: string; request: WebhookCall }[] {
  const accountId = genuine.url.slice(1);
  const body = genuine.body ?? "";
  const { "x-hub-signature-256": _, ...unsigned } = genuine.headers ?? {};
  return [
    { name: "no signature", request: { ...genuine, headers: unsigned } },
    { name: "another app's secret", request: signed(accountId, body, "not-the-app-secret") },
    {
      name: "body changed after signing",
      request: { ...genuine, body: body.replace(/"(IGSID|<IGSID>|<PSID>|\d{6,})"/, '"attacker"') + " " },
    },
  ];
}

/** The fake Graph API as the conformance suite's platform; `setup` registers the account's token. */
export async function fakeGraphPlatform(setup: (graph: FakeGraph) => void): Promise<ConformanceFake> {
  const graph = await startFakeGraph();
  setup(graph);
  return {
    env: { GRAPH_API_BASE_URL: graph.url },
    throttleNext: (retryAfterSeconds) =>
      graph.failNext({
        status: 429,
        code: 4,
        message: "(#4) Application request limit reached",
        retryAfter: retryAfterSeconds,
      }),
    // The fake answers a message over a limit with Meta's 400, which fails the send itself.
    refusals: () => [],
    close: () => graph.close(),
  };
}
