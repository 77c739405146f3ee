import { after, before, mock, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import net, { type AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { createEgress, EgressError, parsePolicy, refusal, type EgressErrorCode } from "../src/index.ts";

let server: Server;
let base: string;
let port: number;
/** Every TCP connection the server accepted, and whether the streaming answer was cut off. */
let connections = 0;
let streamClosed: Promise<void>;

before(async () => {
  let closed!: () => void;
  streamClosed = new Promise((resolve) => {
    closed = resolve;
  });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
      if (req.url === "/big") return void res.end(Buffer.alloc(64 * 1024, 120));
      if (req.url === "/exact") return void res.end(Buffer.alloc(1024, 120));
      if (req.url === "/endless") {
        // Streams until the client goes away.
        const timer = setInterval(() => res.write(Buffer.alloc(4096, 120)), 5);
        res.on("close", () => {
          clearInterval(timer);
          closed();
        });
        return;
      }
      if (req.url === "/redirect")
        return void res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, method: req.method, probe: req.headers["x-probe"] ?? null, body }));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

const failsWith = (code: EgressErrorCode, message?: RegExp) => (e: unknown) =>
  e instanceof EgressError && e.name === "EgressError" && e.code === code && (!message || message.test(e.message));
/** A refusal: the tenant-facing message says only "not a public address"; the detail says why. */
const refusedFor = (detail: RegExp) => (e: unknown) =>
  failsWith("blocked", /^refused: not a public address$/)(e) && detail.test((e as EgressError).detail ?? "");

test("addresses that must be refused, IPv4 and IPv6, including mapped forms", () => {
  const policy = parsePolicy({});
  assert.deepEqual(policy, { allowHosts: [], allowRanges: [], allowHttp: false });
  const refused = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "198.18.0.1",
    "240.0.0.1",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "2001::1",
    "fec0::1",
  ];
  for (const address of refused) assert.notEqual(refusal(address, policy), null, address);
  for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    assert.equal(refusal(address, policy), null, address);
  assert.equal(
    refusal("169.254.169.254", policy),
    "169.254.169.254 is a linkLocal address",
    "the reason names the class",
  );
  assert.equal(refusal("::ffff:10.0.0.1", policy), "::ffff:10.0.0.1 is a private address", "judged as the IPv4 inside");
  assert.equal(refusal("example.com", policy), "not an IP address: example.com");
});

test("an allowlist (EGRESS_ALLOW) lifts the guard for named ranges and hosts only", () => {
  const policy = parsePolicy({ EGRESS_ALLOW: "10.1.0.0/16, 127.0.0.1,, Backend.Internal ,fd00:1::/32,fc00::5," });
  assert.equal(refusal("10.1.2.3", policy), null);
  assert.notEqual(refusal("10.2.0.1", policy), null);
  assert.equal(refusal("127.0.0.1", policy), null);
  assert.notEqual(refusal("127.0.0.2", policy), null);
  assert.equal(refusal("fd00:1:2::3", policy), null);
  assert.notEqual(refusal("fd00:2::1", policy), null);
  assert.equal(refusal("fc00::5", policy), null);
  assert.notEqual(refusal("fc00::6", policy), null, "a single IPv6 address is a /128");
  assert.equal(refusal("::ffff:127.0.0.1", policy), null, "a mapped address matches its IPv4 range");
  assert.deepEqual(policy.allowHosts, ["backend.internal"], "names lower-cased, IPs and empty entries left out");
  assert.deepEqual(
    policy.allowRanges.map(([range, bits]) => `${range.toString()}/${bits}`),
    ["10.1.0.0/16", "127.0.0.1/32", "fd00:1::/32", "fc00::5/128"],
  );
  // Ranges of the other family are skipped, never matched across families.
  assert.notEqual(refusal("10.0.0.1", parsePolicy({ EGRESS_ALLOW: "fd00::/8" })), null);
  assert.notEqual(refusal("fd00::1", parsePolicy({ EGRESS_ALLOW: "10.0.0.0/8" })), null);
  for (const value of [undefined, "", "1", "TRUE", "yes"])
    assert.equal(parsePolicy({ EGRESS_ALLOW_HTTP: value }).allowHttp, false, String(value));
  assert.equal(parsePolicy({ EGRESS_ALLOW_HTTP: "true" }).allowHttp, true);
});

test("the guard holds on real calls: loopback by IP and by name, plain HTTP, other schemes, invalid URLs", async () => {
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW_HTTP: "true" }));
  for (const [url, reason] of [
    [base, /^127\.0\.0\.1 is a loopback address$/],
    [`http://localhost:${port}/`, /^localhost resolves to 127\.0\.0\.1 is a loopback address$/],
    [`http://[::ffff:127.0.0.1]:${port}/`, /^::ffff:7f00:1 is a loopback address$/],
    [`http://[::1]:${port}/`, /^::1 is a loopback address$/],
    ["http://169.254.169.254/latest/meta-data", /linkLocal/],
  ] as const) {
    await assert.rejects(egress.request(url), refusedFor(reason), url);
  }
  await assert.rejects(
    egress.request(`ftp://127.0.0.1:${port}/`),
    failsWith("blocked", /^ftp is not allowed; use https$/),
  );
  const strict = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1" }));
  await assert.rejects(strict.request(base), failsWith("blocked", /^http is not allowed; use https$/));
  await assert.rejects(strict.request("not a url"), failsWith("invalid_url", /^not a valid URL$/));
  assert.equal(connections, 0, "nothing refused ever reached the server");
  // HTTPS needs no permission: the call reaches the server (which speaks no TLS, so it then fails).
  await assert.rejects(strict.request(`https://127.0.0.1:${port}/`), failsWith("connect_failed"));
  assert.equal(connections, 1);
  await egress.close();
  await strict.close();
});

/** A stand-in resolver for names under .test; others resolve as usual. */
function fakeDns(answers: Record<string, string[]>) {
  const real = dns.lookup;
  mock.method(dns, "lookup", (hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    if (!hostname.endsWith(".test")) return real(hostname, options, callback as never);
    const addresses = answers[hostname];
    if (!addresses)
      return process.nextTick(() =>
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })),
      );
    const list = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    process.nextTick(() => (options.all ? callback(null, list) : callback(null, list[0]!.address, list[0]!.family)));
  });
  syncBuiltinESMExports();
  return {
    restore() {
      mock.restoreAll();
      syncBuiltinESMExports();
    },
  };
}

test("host names: every address they resolve to is vetted, and only vetted ones are connected to", async () => {
  // A second server on 127.0.0.2, same port: a connection there would answer "wrong".
  const wrong = createServer((_req, res) => res.end("wrong"));
  await new Promise<void>((resolve) => wrong.listen(port, "127.0.0.2", resolve));
  const resolver = fakeDns({
    "mixed.test": ["127.0.0.2", "127.0.0.1"],
    "internal.test": ["10.0.0.1", "169.254.169.254"],
    "backend.test": ["127.0.0.1"],
  });
  const autoSelect = net.getDefaultAutoSelectFamily();
  try {
    // Both ways Node asks the guard's lookup: all addresses at once (happy eyeballs) or one.
    for (const all of [true, false]) {
      net.setDefaultAutoSelectFamily(all);
      const byRange = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
      const answer = await byRange.request(`http://mixed.test:${port}/`);
      assert.equal(JSON.parse(answer.body.toString()).ok, true, "the allowed address, not the refused one first");
      await assert.rejects(
        byRange.request(`http://internal.test:${port}/`),
        refusedFor(/^internal\.test resolves to 10\.0\.0\.1 is a private address$/),
      );
      await assert.rejects(
        byRange.request(`http://missing.test:${port}/`),
        failsWith("connect_failed", /^connection failed: ENOTFOUND$/),
      );
      const byName = createEgress(parsePolicy({ EGRESS_ALLOW: "BACKEND.test", EGRESS_ALLOW_HTTP: "true" }));
      assert.equal((await byName.request(`http://backend.test:${port}/`)).status, 200, "a listed name is exempt");
      await assert.rejects(byName.request(`http://mixed.test:${port}/`), failsWith("blocked"), "only that name");
      await assert.rejects(byName.request(base), failsWith("blocked"), "not the address it resolves to");
      await byRange.close();
      await byName.close();
    }
  } finally {
    net.setDefaultAutoSelectFamily(autoSelect);
    resolver.restore();
    await new Promise((resolve) => wrong.close(resolve));
  }
});

test("allowed calls send what they are given: method (GET by default), headers and body", async () => {
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  const started = performance.now();
  const ok = await egress.request(`${base}/hello`, {
    method: "POST",
    body: '{"a":1}',
    headers: { "content-type": "application/json", "x-probe": "p-1" },
  });
  const elapsed = performance.now() - started;
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(ok.body.toString()), { ok: true, method: "POST", probe: "p-1", body: '{"a":1}' });
  assert.ok(ok.latencyMs > 0 && ok.latencyMs <= elapsed, `latency ${ok.latencyMs} of ${elapsed} ms`);
  const get = await egress.request(`${base}/hello`);
  assert.deepEqual(JSON.parse(get.body.toString()), { ok: true, method: "GET", probe: null, body: "" });
  await egress.close();
});

test("allowed calls get limits: redirects not followed, total time, response size", async () => {
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  const redirect = await egress.request(`${base}/redirect`);
  assert.equal(redirect.status, 302, "returned as is, never followed");
  assert.equal(redirect.headers.location, "http://169.254.169.254/latest/meta-data");
  await assert.rejects(
    egress.request(`${base}/slow`, { timeoutMs: 200 }),
    failsWith("timeout", /^no complete answer within 200 ms$/),
  );
  assert.equal((await egress.request(`${base}/exact`, { maxBytes: 1024 })).body.length, 1024, "the limit is allowed");
  await assert.rejects(
    egress.request(`${base}/exact`, { maxBytes: 1023 }),
    failsWith("too_large", /^response larger than 1023 bytes$/),
  );
  assert.equal((await egress.request(`${base}/big`)).body.length, 64 * 1024);
  await assert.rejects(
    egress.request(`${base}/endless`),
    failsWith("too_large", /^response larger than 1048576 bytes$/),
    "1 MiB by default",
  );
  await streamClosed; // the answer is cut off, not read to its end
  await assert.rejects(
    egress.request("http://127.0.0.1:1/"),
    failsWith("connect_failed", /^connection failed: ECONNREFUSED$/),
  );
  await egress.close();
  await assert.rejects(egress.request(`${base}/hello`), failsWith("connect_failed"), "closed: no more calls");
});

test("a connection that is never accepted times out after connectTimeoutMs (3 s by default)", async () => {
  // A listener whose process stops accepting: once its small backlog is full, connections hang.
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer().listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
        console.log(s.address().port);
        const end = Date.now() + 20000;
        while (Date.now() < end);
      });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const stuck = await new Promise<number>((resolve) => child.stdout.once("data", (d) => resolve(Number(String(d)))));
  const fillers = Array.from({ length: 4 }, () => net.connect(stuck, "127.0.0.1").on("error", () => {}));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const policy = parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" });
  const quick = createEgress(policy, { connectTimeoutMs: 300 });
  const standard = createEgress(policy);
  const timed = async (egress: typeof quick) => {
    const started = performance.now();
    const error = await egress.request(`http://127.0.0.1:${stuck}/`, { timeoutMs: 8000 }).catch((e: unknown) => e);
    return { error, ms: performance.now() - started };
  };
  try {
    const [fast, slow] = await Promise.all([timed(quick), timed(standard)]);
    for (const { error } of [fast, slow])
      assert.ok(failsWith("connect_failed", /^connection timed out$/)(error), String(error));
    assert.ok(fast.ms < 2000, `connectTimeoutMs 300 took ${fast.ms} ms`);
    assert.ok(slow.ms >= 2900 && slow.ms < 5000, `the default took ${slow.ms} ms`);
  } finally {
    child.kill();
    for (const socket of fillers) socket.destroy();
    await quick.close();
    await standard.close();
  }
});
