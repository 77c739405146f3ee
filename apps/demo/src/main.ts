// `npm start`: the whole system on one machine with embedded defaults. An embedded PostgreSQL,
// migrations, the demo tenant, the demo backends, a local stand-in for the Telegram Bot API, and
// the server and worker roles in this one process, and the shop's page with the web chat widget. In
// a terminal it then opens a chat with the bot.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { startDemoBackends } from "@cb/demo-backends";
import { startFakeTelegram } from "@cb/fake-telegram";
import { createLogger } from "@cb/logging";
import { startTracing } from "@cb/observability";
import { loadConfig, openRuntime } from "@cb/runtime";
import { startWebRole } from "@cb/server";
import { startWorkerRole } from "@cb/worker";
import { DEMO_API_KEY_FILE, DEMO_INFO_FILE, DEMO_OPERATOR_PASSWORD_FILE, type DemoInfo } from "./info.ts";
import { demoOperator } from "./operator.ts";
import { seedDemo, DEMO_BOT } from "./seed.ts";
import { startShopPage } from "./shop-page.ts";

// What the demo tells its user (addresses, the demo key) is its output, not a log.
const log = (line: string) => console.log(`[demo] ${line}`);
const env = { ...process.env };
const port = Number(env.PORT ?? 3000);

// The stand-in plays Telegram unless a real Bot API root is configured.
const botApi = env.TELEGRAM_API_ROOT
  ? undefined
  : await startFakeTelegram({ port: Number(env.DEMO_BOT_API_PORT ?? 8081) });
botApi?.addBot(DEMO_BOT.token, { username: DEMO_BOT.username, firstName: DEMO_BOT.name });
if (botApi) env.TELEGRAM_API_ROOT = botApi.url;

// The demo backends live on loopback, which the SSRF guard refuses unless allowed.
env.EGRESS_ALLOW ??= "127.0.0.1,localhost";
env.EGRESS_ALLOW_HTTP ??= "true";

const config = loadConfig(env);
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set: both roles' spans, one service.
const tracing = startTracing({ serviceName: "chatbot-demo", env });
// The terminal is a chat: the roles log only warnings and errors there unless LOG_LEVEL asks for more.
const runtime = await openRuntime(config, createLogger({ level: env.LOG_LEVEL ? config.LOG_LEVEL : "warn" }));
const demo = await seedDemo(runtime, { keyFile: DEMO_API_KEY_FILE });
const operator = await demoOperator(runtime.db, DEMO_OPERATOR_PASSWORD_FILE);
// The backends accept only requests signed with the endpoint's Standard Webhooks secret.
const backends = await startDemoBackends({
  port: Number(env.DEMO_BACKENDS_PORT ?? 8082),
  signingSecret: demo.signingSecret,
});
await runtime.db.fulfillmentEndpoint.update({
  where: { id: demo.endpointId },
  data: { url: `${backends.url}/fulfillment` },
});

const web = await startWebRole(runtime, { port });
const serverUrl = web.url;
const worker = await startWorkerRole(runtime);
// The shop's own website with the web chat widget, on an origin of its own as a business's is.
const shop = await startShopPage({
  port: Number(env.DEMO_SHOP_PORT ?? 8083),
  serverUrl: config.PUBLIC_BASE_URL ?? serverUrl,
  ...demo.webchat,
});

const info: DemoInfo = {
  botName: DEMO_BOT.name,
  serverUrl,
  accountId: demo.accountId,
  webhookUrl: `${serverUrl}/webhooks/telegram/${demo.accountId}`,
  secretToken: demo.secretToken,
  botApiUrl: botApi?.url ?? config.channelSettings.TELEGRAM_API_ROOT ?? "",
};
await mkdir(dirname(DEMO_INFO_FILE), { recursive: true });
await writeFile(DEMO_INFO_FILE, JSON.stringify(info, null, 2));

log(`server        ${serverUrl}  (health ${serverUrl}/healthz, ready ${serverUrl}/readyz)`);
if (web.consoleUrl) log(`console       ${web.consoleUrl}`);
log(`admin API     ${serverUrl}/docs  (demo tenant key: ${demo.apiKey})`);
log(
  `sign in       ${operator.email} / ${operator.password}  (the demo tenant's admin operator; kept in ${DEMO_OPERATOR_PASSWORD_FILE})`,
);
log(`web chat      ${shop.url}  (the demo shop's page with the chat widget; ${shop.url}/signed-in as a known user)`);
log(`bot webhook   ${info.webhookUrl}`);
log(`Bot API       ${info.botApiUrl}  (local stand-in for Telegram)`);
log(
  `backends      ${backends.url}/fulfillment  (demo orders 12345, 10001, 20002; customers ada@example.com, grace@example.com)`,
);
log(`database      ${config.DATABASE_URL ? "DATABASE_URL" : `embedded PostgreSQL in ${config.EMBEDDED_PG_DIR}`}`);

async function shutdown() {
  log("stopping: finishing in-flight requests and jobs");
  await web.close();
  await worker.stop();
  await shop.close();
  await backends.app.close();
  await botApi?.close();
  await runtime.close();
  await tracing.shutdown();
  await rm(DEMO_INFO_FILE, { force: true });
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown());
process.once("SIGINT", () => void shutdown());

if (process.stdin.isTTY && !process.argv.includes("--no-chat")) {
  log("chat with the bot below (or run `npm run chat` in another terminal); Ctrl+C stops everything");
  await import("./chat.ts");
  await shutdown();
} else {
  log("running; `npm run chat` talks to the bot; Ctrl+C stops everything");
}
