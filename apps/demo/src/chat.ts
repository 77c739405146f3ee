// `npm run chat`: talk to the running demo as a Telegram user would. Each line becomes a real
// Telegram Update posted to the bot's webhook (with its secret token); the bot's answers are read
// from the local Bot API stand-in the demo runs. Buttons are numbered: type the number to press one.
// `npm run chat -- "where is my order?" "12345"` sends those lines and exits.
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { DEMO_INFO_FILE, type DemoInfo } from "./info.ts";

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

async function post(update: Record<string, unknown>): Promise<void> {
  const response = await fetch(info.webhookUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": info.secretToken },
    body: JSON.stringify({ update_id: ++updateId, ...update }),
  });
  if (!response.ok) console.error(`webhook answered ${response.status}: ${await response.text()}`);
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

/** Prints the bot's answers to this chat until it has been quiet for a moment. */
async function readReplies(): Promise<void> {
  const quietMs = 1500;
  let deadline = Date.now() + 15_000;
  let seenAny = false;
  while (Date.now() < deadline) {
    const wait = seenAny ? quietMs : Math.max(0, deadline - Date.now());
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
    } else if (seenAny) return;
  }
  if (!seenAny) console.log("(no answer yet: is the worker running?)");
}

async function say(line: string): Promise<void> {
  const pressed = /^\d+$/.test(line) ? buttons[Number(line) - 1] : undefined;
  if (pressed?.callback_data) {
    await post({
      callback_query: {
        id: String(Date.now()),
        from: user,
        chat_instance: "demo",
        data: pressed.callback_data,
        ...(lastBotMessage ? { message: lastBotMessage } : {}),
      },
    });
  } else {
    await post({
      message: {
        message_id: messageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: "private", first_name: "You" },
        from: user,
        text: line,
      },
    });
  }
  await readReplies();
}

const scripted = process.argv.slice(2);
if (scripted.length) {
  for (const line of scripted) {
    console.log(`you> ${line}`);
    await say(line);
  }
} else {
  console.log(
    `Chatting with ${info.botName} through ${info.webhookUrl}\nType a message (numbers press buttons); Ctrl+D to leave.`,
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
