import { test } from "node:test";
import assert from "node:assert/strict";
import { createEgress, EgressError, parsePolicy, refusal } from "../src/index.ts";

test("IPv4-compatible IPv6 addresses are judged by the IPv4 address they carry", () => {
  const policy = parsePolicy({});
  for (const address of ["::7f00:1", "::127.0.0.1", "::a00:1", "::a9fe:a9fe", "::c0a8:1"])
    assert.notEqual(refusal(address, policy), null, address);
  assert.equal(refusal("::808:808", policy), null, "8.8.8.8 carried so is public");
});

test("a refusal tells the tenant only that the address is not public; operators get the detail", async () => {
  const details: string[] = [];
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW_HTTP: "true" }), { onBlocked: (d) => details.push(d) });
  for (const url of ["http://localhost:9/", "http://[::7f00:1]:9/", "http://10.0.0.1/"]) {
    await assert.rejects(
      egress.request(url),
      (e: unknown) => e instanceof EgressError && e.code === "blocked" && e.message === "refused: not a public address",
      url,
    );
  }
  assert.equal(details.length, 3);
  assert.match(details[0]!, /^localhost resolves to (127\.0\.0\.1|::1) is a loopback address$/);
  assert.match(details[2]!, /10\.0\.0\.1 is a private address/);
  await egress.close();
});
