import { test } from "node:test";
import assert from "node:assert/strict";
import { captureLogs } from "@cb/logging/testing";
import { channelDrivers, channelNames, channelSecretSettings, driverOf } from "../src/index.ts";

test("one driver a name; looked up by name; unknown names have none", () => {
  assert.equal(new Set(channelNames).size, channelDrivers.length);
  for (const driver of channelDrivers) assert.equal(driverOf(driver.name), driver);
  assert.equal(driverOf("carrier-pigeon"), undefined);
});

test("every channel's secret fields and headers are redacted by the process's loggers", () => {
  const { logger, text } = captureLogs();
  for (const driver of channelDrivers) {
    for (const field of driver.secretFields) {
      logger.info({ [field]: `LEAK:${driver.name}:${field}` }, "top");
      logger.info({ account: { [field]: `LEAK:${driver.name}:${field}` } }, "nested");
    }
    for (const header of driver.secretHeaders ?? [])
      logger.info({ response: { headers: { [header]: `LEAK:${driver.name}:${header}` } } }, "header");
    // A logged configuration: the settings a driver marks secret.
    for (const [name, setting] of Object.entries(driver.settings ?? {}))
      if (setting.secret) logger.info({ config: { [name]: `LEAK:${driver.name}:${name}` } }, "setting");
  }
  const out = text();
  assert.ok(
    !out.includes("LEAK:"),
    out.split("\n").find((line) => line.includes("LEAK:")),
  );
  assert.ok(out.includes("[Redacted]"));
});

test("the secret settings come from the drivers: an installed app's credentials, not its client id or API URL", () => {
  const slack = driverOf("slack")?.settings ?? {};
  assert.ok(Object.keys(slack).length > 0, "the Slack driver declares its settings");
  for (const [name, setting] of Object.entries(slack))
    assert.equal(channelSecretSettings.includes(name), !!setting.secret, name);
  assert.ok(channelSecretSettings.length >= 3);
});
