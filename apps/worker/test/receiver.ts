import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A stand-in business backend: `answer` decides each response; `received` keeps the bodies. */
export async function startReceiverForTests(
  answer: (body: string) => { status: number; body: string; delayMs?: number },
) {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(body);
      const { status, body: out, delayMs } = answer(body);
      // unref: a response held back on purpose must not keep the test process alive.
      setTimeout(() => res.writeHead(status, { "content-type": "application/json" }).end(out), delayMs ?? 0).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fulfillment`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
