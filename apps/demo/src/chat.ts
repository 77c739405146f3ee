// `npm run chat`: talk to the running demo as a Telegram user would. Each line becomes a real
// Telegram Update posted to the bot's webhook (with its secret token); the bot's answers are read
// from the local Bot API stand-in the demo runs. Buttons are numbered: type the number to press one.
// `npm run chat -- "where is my order?" "12345"` sends those lines and exits. `/debug` shows, under each
// answer, what the turn recorded (read through the admin API with the demo's key).
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { DEMO_API_KEY_FILE, DEMO_INFO_FILE, type DemoInfo } from "./info.ts";
import { debugLine, silence, type ApiMessage } from "./turn-view.ts";

interface Call {
  method: string;
  params: Record<string, unknown>;
}

const info = JSON.parse(
  await readFile(DEMO_INFO_FILE, "utf8").catch(() => {
    console.error("The demo is not running: start it with `npm start` first.");
    process.exit(1);
  }),
) as DemoInfo;

const user = { id: 7000000 + (process.pid % 100000), is_bot: false, first_name: "You", username: "demo_user" };
let updateId = Math.floor(Date.now() / 1000);
let messageId = 1;
let since = ((await (await fetch(`${info.botApiUrl}/__calls`)).json()) as { next: number }).next;
let buttons: { text: string; callback_data?: string; url?: string }[] = [];
let lastBotMessage: Record<string, unknown> | undefined;
let debug = false;
const apiKey = (await readFile(DEMO_API_KEY_FILE, "utf8").catch(() => "")).trim();

/** Posts an update to the bot's webhook; returns its update_id. */
async function post(update: Record<string, unknown>): Promise<number> {
  const id = ++updateId;
  const response = await fetch(info.webhookUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": info.secretToken },
    body: JSON.stringify({ update_id: id, ...update }),
  });
  if (!response.ok) console.error(`webhook answered ${response.status}: ${await response.text()}`);
  return id;
}

async function api<T>(path: string): Promise<T | undefined> {
  const response = await fetch(`${info.serverUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return response.ok ? ((await response.json()) as T) : undefined;
}

let conversationId: string | undefined;
/** The stored inbound message of the update `id` (its `turn` is set once the worker has handled it). */
async function inbound(id: number): Promise<ApiMessage | undefined> {
  conversationId ??= (
    await api<{ data: { id: string }[] }>(
      `/v1/conversations?channelAccountId=${info.accountId}&externalId=${user.id}&limit=1`,
    )
  )?.data[0]?.id;
  if (!conversationId) return undefined;
  const page = await api<{ data: ApiMessage[] }>(`/v1/conversations/${conversationId}/messages?limit=20`);
  return page?.data.find((m) => m.direction === "in" && m.content.platformEventId === String(id));
}

/** The message once its turn is recorded; the turn commits just after its replies are sent. */
async function recorded(id: number): Promise<ApiMessage | undefined> {
  let message = await inbound(id);
  for (let i = 0; i < 30 && !message?.turn; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    message = await inbound(id);
  }
  return message;
}

const plain = (html: string) =>
  html
    .replace(/<[^>]+>/g, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&");

function show(call: Call): void {
  const body = call.method === "sendMessage" ? call.params.text : call.params.caption;
  if (call.method === "sendPhoto") console.log(`bot> [image ${call.params.photo}]`);
  if (typeof body === "string") console.log(`bot> ${plain(body).replaceAll("\n", "\n     ")}`);
  const markup = (
    typeof call.params.reply_markup === "string" ? JSON.parse(call.params.reply_markup) : call.params.reply_markup
  ) as { inline_keyboard?: { text: string; callback_data?: string; url?: string }[][] } | undefined;
  if (markup?.inline_keyboard) {
    buttons = markup.inline_keyboard.flat();
    for (const [i, b] of buttons.entries()) console.log(`     [${i + 1}] ${b.text}${b.url ? ` → ${b.url}` : ""}`);
  }
}

/**
 * Prints the bot's answers to the update `id` until it has been quiet for a moment, or until its turn's
 * record says no answer is coming; then why none came, and with /debug, what the turn did.
 */
async function readReplies(id: number): Promise<void> {
  const quietMs = 1500;
  let deadline = Date.now() + 15_000;
  let seenAny = false;
  while (Date.now() < deadline) {
    const wait = seenAny ? quietMs : Math.min(500, Math.max(0, deadline - Date.now()));
    const page = (await (await fetch(`${info.botApiUrl}/__calls?since=${since}&wait=${wait}`)).json()) as {
      calls: (Call & { result: unknown })[];
      next: number;
    };
    since = page.next;
    const mine = page.calls.filter((c) => String(c.params.chat_id) === String(user.id));
    for (const call of mine) {
      if (call.method === "answerCallbackQuery") continue;
      show(call);
      lastBotMessage = call.result as Record<string, unknown>;
    }
    if (mine.length) {
      seenAny = true;
      deadline = Date.now() + quietMs;
    } else if (seenAny) break;
    else if ((await inbound(id))?.turn?.replies === 0) break;
  }
  const message = !seenAny || debug ? await recorded(id) : undefined;
  if (!seenAny) console.log(silence(message));
  if (debug) console.log(message?.turn ? debugLine(message.turn) : "     · (the turn's record could not be read)");
}

async function say(line: string): Promise<void> {
  if (line === "/debug") {
    debug = !debug;
    console.log(debug ? "(debug on: under each answer, what the turn recorded)" : "(debug off)");
    return;
  }
  const pressed = /^\d+$/.test(line) ? buttons[Number(line) - 1] : undefined;
  let id: number;
  if (pressed?.callback_data) {
    id = await post({
      callback_query: {
        id: String(Date.now()),
        from: user,
        chat_instance: "demo",
        data: pressed.callback_data,
        ...(lastBotMessage ? { message: lastBotMessage } : {}),
      },
    });
  } else {
    id = await post({
      message: {
        message_id: messageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: "private", first_name: "You" },
        from: user,
        text: line,
      },
    });
  }
  await readReplies(id);
}

const scripted = process.argv.slice(2);
if (scripted.length) {
  for (const line of scripted) {
    console.log(`you> ${line}`);
    await say(line);
  }
} else {
  console.log(
    `Chatting with ${info.botName} through ${info.webhookUrl}\nType a message (numbers press buttons; /debug shows why the bot answered); Ctrl+D to leave.`,
  );
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "you> " });
  let open = true;
  rl.once("close", () => (open = false));
  // Lines are read as a stream, not asked for one at a time: lines that arrive while the bot is
  // answering (typed ahead, or piped in) wait their turn instead of being dropped, and the end of
  // input (Ctrl+D, a pipe run dry) ends the chat once they are said. Piped lines are not echoed by
  // a terminal, so they are shown as the scripted ones are.
  const piped = !process.stdin.isTTY;
  if (!piped) rl.prompt();
  for await (const line of rl) {
    if (piped) console.log(`you> ${line}`);
    if (line.trim()) await say(line.trim());
    if (open && !piped) rl.prompt();
  }
}
