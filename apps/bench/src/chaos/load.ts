// The chaos benchmark's load: which Telegram update goes to which bot and conversation, and when;
// and which update a reply accepted by the Bot API stand-in answers.
//
// Conversations are Telegram groups, and message k of a conversation is its message_id k. In a
// group the bot answers the very message (reply_parameters.message_id), so every reply names the
// update it answers even when the fulfillment backend failed and the intent's static response went
// out; the backend also echoes the conversation and k into its text ("ack <chat>:<k>").

export interface Planned {
  /** update_id. */
  id: number;
  /** The group's chat id (negative, as Telegram's are). */
  chat: number;
  /** The message's place in its conversation, from 1. */
  seq: number;
  /** Index of the bot (account) the conversation belongs to. */
  bot: number;
  /** When to post it, in ms from the start of the load. */
  atMs: number;
}

export interface LoadShape {
  /** Updates spread evenly over the duration, round-robin over the conversations. */
  updates: number;
  durationS: number;
  conversations: number;
  bots: number;
  /** Bursts at evenly spaced moments inside the duration, each this many updates in new conversations. */
  spikes?: { count: number; size: number };
}

const CHAT_BASE = 1_000_000;

export function plan(shape: LoadShape): Planned[] {
  const { updates, durationS, conversations, bots } = shape;
  const planned: Planned[] = [];
  const add = (c: number, seq: number, atMs: number) =>
    planned.push({ id: planned.length + 1, chat: -(CHAT_BASE + c), seq, bot: c % bots, atMs });
  for (let i = 0; i < updates; i++)
    add(i % conversations, Math.floor(i / conversations) + 1, (i * durationS * 1000) / updates);
  const spikes = shape.spikes ?? { count: 0, size: 0 };
  let next = conversations;
  for (let s = 1; s <= spikes.count; s++) {
    const atMs = (s * durationS * 1000) / (spikes.count + 1);
    for (let j = 0; j < spikes.size; j++) add(next++, 1, atMs);
  }
  return planned.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
}

/** The update's body: a command, so that the bot answers it in a group, carrying k. */
export function updateBody(update: Planned): string {
  return JSON.stringify({
    update_id: update.id,
    message: {
      message_id: update.seq,
      date: Math.floor(Date.now() / 1000),
      chat: { id: update.chat, type: "group", title: `chaos ${update.chat}` },
      from: { id: -update.chat, is_bot: false, first_name: "Load" },
      text: `/order where is my order #${update.seq}`,
    },
  });
}

/** The fulfillment backend's answer text for a message: its conversation and place. */
export function ackText(chat: number, seq: number): string {
  return `ack ${chat}:${seq}`;
}

/**
 * Which update a sendMessage answers: the message it replies to, or else the conversation and place
 * its text echoes. Undefined when neither says.
 */
export function answeredBy(params: Record<string, unknown>): { chat: number; seq: number } | undefined {
  const chat = Number(params.chat_id);
  const replyTo =
    typeof params.reply_parameters === "string" ? JSON.parse(params.reply_parameters) : params.reply_parameters;
  const seq = Number((replyTo as { message_id?: unknown } | undefined)?.message_id);
  if (Number.isInteger(chat) && Number.isInteger(seq)) return { chat, seq };
  const echoed = /^ack (-?\d+):(\d+)$/.exec(String(params.text ?? ""));
  return echoed ? { chat: Number(echoed[1]), seq: Number(echoed[2]) } : undefined;
}
