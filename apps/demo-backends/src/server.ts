import Fastify, { type FastifyInstance } from "fastify";
import { Webhook } from "standardwebhooks";
import { demoData, type DemoData } from "./data.ts";
import { fulfill, type WebhookRequest } from "./fulfillment.ts";

/**
 * The demo backends as one small HTTP service: POST /fulfillment takes Dialogflow ES webhook
 * requests. With a signing secret it accepts only requests signed in the Standard Webhooks format,
 * as a careful business would.
 */
export async function startDemoBackends(
  options: { port?: number; host?: string; signingSecret?: string } = {},
): Promise<{ url: string; data: DemoData; app: FastifyInstance }> {
  const data = demoData();
  const verifier = options.signingSecret ? new Webhook(options.signingSecret) : undefined;
  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => done(null, body));

  app.post("/fulfillment", async (request, reply) => {
    const body = String(request.body);
    if (verifier) {
      try {
        verifier.verify(body, request.headers as Record<string, string>);
      } catch {
        return reply
          .code(401)
          .send({ error: { code: "invalid_signature", message: "webhook signature did not verify" } });
      }
    }
    let parsed: WebhookRequest;
    try {
      parsed = JSON.parse(body);
    } catch {
      return reply.code(400).send({ error: { code: "invalid_json", message: "the body is not valid JSON" } });
    }
    return fulfill(data, parsed);
  });
  app.get("/records", async () => ({ tickets: data.tickets, returns: data.returns }));

  const url = await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  return { url, data, app };
}
