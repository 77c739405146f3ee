import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PlatformError } from "@cb/core";
import { DEFAULT_GRAPH_VERSION, graphClient } from "../src/index.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback Graph API: records each request; `reply` sets the next answer. */
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
let reply: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: "{}" };

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

test("calls go to <base>/<version><path> with JSON, the token as a bearer header or, when asked, in the query", async () => {
  reply = { status: 200, body: '{"messages":[{"id":"wamid.1"}]}' };
  const graph = graphClient({ platform: "whatsapp", baseUrl: `${baseUrl}/` });
  const sent = await graph.post<{ messages: { id: string }[] }>("/123/messages", "EAAG-token", {
    to: "49",
    type: "text",
  });
  assert.deepEqual(sent, { messages: [{ id: "wamid.1" }] });
  let got = seen.at(-1)!;
  assert.equal(DEFAULT_GRAPH_VERSION, "v21.0");
  assert.equal(got.method, "POST");
  assert.equal(got.url, "/v21.0/123/messages", "the trailing slash of the base is dropped, the default version used");
  assert.equal(got.headers.authorization, "Bearer EAAG-token");
  assert.equal(got.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(got.body), { to: "49", type: "text" });

  const messenger = graphClient({ platform: "messenger", baseUrl, version: "v19.0" });
  await messenger.post("/me/messages", "page token", { recipient: { id: "1" } }, true);
  got = seen.at(-1)!;
  assert.equal(got.url, "/v19.0/me/messages?access_token=page+token");
  assert.equal(got.headers.authorization, undefined, "the token is sent once");

  reply = { status: 200, body: '{"url":"https://cdn.example/m"}' };
  assert.deepEqual(await messenger.get("/media-1", "EAAG-token"), { url: "https://cdn.example/m" });
  got = seen.at(-1)!;
  assert.equal(got.method, "GET");
  assert.equal(got.url, "/v19.0/media-1");
  assert.equal(got.headers.authorization, "Bearer EAAG-token");
  assert.equal(got.body, "", "a GET has no body");
});

test("a successful answer that is empty or not JSON is an empty object", async () => {
  const graph = graphClient({ platform: "whatsapp", baseUrl });
  for (const body of ["", "not json"]) {
    reply = { status: 200, body };
    assert.deepEqual(await graph.get("/x", "t"), {}, JSON.stringify(body));
  }
});

async function failure(call: Promise<unknown>): Promise<PlatformError> {
  const error = await call.then(
    () => assert.fail("expected a PlatformError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PlatformError, String(error));
  return error;
}

test("Graph errors become PlatformErrors with Meta's code and message, retryable when Meta asks to slow down or fails", async () => {
  const graph = graphClient({ platform: "whatsapp", baseUrl });
  const graphError = (code: number, message = "m") => JSON.stringify({ error: { message, code, error_subcode: 1 } });
  // A throttled call without Retry-After waits what its code's limit suggests: a second for the
  // number's throughput, six for the pair rate, a minute for limits counted over hours.
  const cases: [number, string, string, boolean, number | undefined][] = [
    [400, graphError(100, "Invalid parameter"), "100", false, undefined],
    [400, graphError(131047), "131047", false, undefined],
    [401, graphError(190), "190", false, undefined],
    ...[4, 17, 32, 613, 80007].map((code): [number, string, string, boolean, number] => [
      400,
      graphError(code),
      String(code),
      true,
      60_000,
    ]),
    [400, graphError(130429), "130429", true, 1000],
    [400, graphError(131056), "131056", true, 6000],
    [429, "{}", "429", true, 1000],
    [500, graphError(1), "1", true, undefined],
    [503, "<html>", "503", true, undefined],
    [499, "{}", "499", false, undefined],
  ];
  for (const [status, body, code, retryable, retryAfterMs] of cases) {
    reply = { status, body };
    const error = await failure(graph.post("/1/messages", "t", {}));
    assert.equal(error.platform, "whatsapp");
    assert.equal(error.code, code, body);
    assert.equal(error.retryable, retryable, `${status} ${body}`);
    assert.equal(error.retryAfterMs, retryAfterMs, `${status} ${body}`);
  }
  reply = { status: 400, body: graphError(100, "Invalid parameter") };
  assert.equal((await failure(graph.get("/1", "t"))).message, "Invalid parameter");
  reply = { status: 502, body: "" };
  assert.equal((await failure(graph.get("/1", "t"))).message, "Graph API answered HTTP 502");
  reply = { status: 400, body: '{"error":{}}' };
  const bare = await failure(graph.get("/1", "t"));
  assert.equal(bare.code, "400");
  assert.equal(bare.message, "Graph API answered HTTP 400");
});

test("Retry-After (seconds) is passed on in milliseconds; a missing or unusable one gives way to a second", async () => {
  const graph = graphClient({ platform: "messenger", baseUrl });
  for (const [value, expected] of [
    ["30", 30_000],
    ["0", 1000],
    ["-5", 1000],
    ["soon", 1000],
  ] as const) {
    reply = { status: 429, body: "{}", headers: { "retry-after": value } };
    const error = await failure(graph.post("/me/messages", "t", {}));
    assert.equal(error.platform, "messenger");
    assert.equal(error.retryAfterMs, expected, value);
  }
});

test("an unreachable Graph API is a retryable network error", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const error = await failure(
    graphClient({ platform: "whatsapp", baseUrl: `http://127.0.0.1:${port}` }).get("/x", "t"),
  );
  assert.equal(error.code, "network");
  assert.equal(error.retryable, true);
  assert.equal(error.platform, "whatsapp");
  assert.match(error.message, /^Graph API unreachable: /);
});
