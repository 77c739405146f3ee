import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createEgress, EgressError, parsePolicy, refusal } from "../src/index.ts";

let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
    if (req.url === "/big") return void res.end(Buffer.alloc(64 * 1024, 120));
    if (req.url === "/redirect")
      return void res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, method: req.method }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

test("addresses that must be refused, IPv4 and IPv6, including mapped forms", () => {
  const policy = parsePolicy({});
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
});

test("an allowlist lifts the guard for named ranges only", () => {
  const policy = parsePolicy({ EGRESS_ALLOW: "10.1.0.0/16, 127.0.0.1, backend.internal" });
  assert.equal(refusal("10.1.2.3", policy), null);
  assert.notEqual(refusal("10.2.0.1", policy), null);
  assert.equal(refusal("127.0.0.1", policy), null);
  assert.notEqual(refusal("127.0.0.2", policy), null);
  assert.deepEqual(policy.allowHosts, ["backend.internal"]);
});

test("the guard holds on real calls: loopback by IP and by name, plain HTTP, invalid URLs", async () => {
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW_HTTP: "true" }));
  const port = new URL(base).port;
  for (const url of [
    base,
    `http://localhost:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    "http://169.254.169.254/latest/meta-data",
  ]) {
    await assert.rejects(egress.request(url), (e: unknown) => e instanceof EgressError && e.code === "blocked", url);
  }
  const strict = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1" }));
  await assert.rejects(
    strict.request(base),
    (e: unknown) => e instanceof EgressError && e.code === "blocked" && /https/.test(e.message),
  );
  await assert.rejects(
    strict.request("not a url"),
    (e: unknown) => e instanceof EgressError && e.code === "invalid_url",
  );
  await egress.close();
  await strict.close();
});

test("allowed calls get limits: redirects not followed, total time, response size", async () => {
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  const ok = await egress.request(`${base}/hello`, {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body.toString()), { ok: true, method: "POST" });
  assert.equal((await egress.request(`${base}/redirect`)).status, 302, "returned as is, never followed");
  await assert.rejects(
    egress.request(`${base}/slow`, { timeoutMs: 200 }),
    (e: unknown) => e instanceof EgressError && e.code === "timeout",
  );
  await assert.rejects(
    egress.request(`${base}/big`, { maxBytes: 1024 }),
    (e: unknown) => e instanceof EgressError && e.code === "too_large",
  );
  await assert.rejects(
    egress.request("http://127.0.0.1:1/"),
    (e: unknown) => e instanceof EgressError && e.code === "connect_failed",
  );
  await egress.close();
});
