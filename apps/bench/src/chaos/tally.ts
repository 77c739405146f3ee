// What the chaos benchmark counts, from what the harness posted and what the Bot API stand-in
// accepted. Pure, so that the counting itself is tested (apps/bench/test/chaos-tally.test.ts).

export interface Offered {
  chat: number;
  seq: number;
  /** When the platform first posted it (epoch ms). */
  firstPostAt: number;
  /** Whether some post of it was answered 2xx. */
  acknowledged: boolean;
}

export interface Answer {
  chat: number;
  seq: number;
  /** When the Bot API stand-in accepted the reply (epoch ms). */
  at: number;
}

export interface Tally {
  acknowledged: number;
  /** Acknowledged updates with at least one reply. */
  answered: number;
  /** Acknowledged updates without a reply. */
  lost: number;
  /** Extra replies to an update, other than those counted in killedMidSend. */
  duplicated: number;
  /** Extra replies whose previous copy was accepted within the window before a role was killed or died. */
  killedMidSend: number;
  /** Times a conversation's replies went backwards: adjacent first replies with a lower place after a higher one. */
  outOfOrder: number;
  /** First post → first reply accepted, over answered updates; null when none was answered. */
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * The same over conversations' first messages alone (the spikes' new conversations among them),
   * and over the later ones (conversations under way, which the workers serve first when behind).
   */
  firstP50Ms: number | null;
  firstP99Ms: number | null;
  laterP50Ms: number | null;
  laterP99Ms: number | null;
}

/**
 * `answers` in the order the Bot API accepted them; `deaths`: when a sending process was killed or
 * died (epoch ms). Order is judged on each update's first reply, so a duplicate counts once, as a
 * duplicate, not again as a step backwards.
 */
export function tally(offered: Offered[], answers: Answer[], deaths: number[], windowMs = 1000): Tally {
  const key = (chat: number, seq: number) => `${chat}:${seq}`;
  const copies = new Map<string, number[]>();
  for (const a of answers) {
    const list = copies.get(key(a.chat, a.seq)) ?? [];
    list.push(a.at);
    copies.set(key(a.chat, a.seq), list);
  }

  let duplicated = 0;
  let killedMidSend = 0;
  for (const times of copies.values()) {
    for (let i = 1; i < times.length; i++) {
      const previous = times[i - 1]!;
      if (deaths.some((d) => d >= previous && d - previous <= windowMs)) killedMidSend++;
      else duplicated++;
    }
  }

  // Each conversation's first replies, in the order accepted.
  const lastSeq = new Map<number, number>();
  const seen = new Set<string>();
  let outOfOrder = 0;
  for (const a of answers) {
    const k = key(a.chat, a.seq);
    if (seen.has(k)) continue;
    seen.add(k);
    const last = lastSeq.get(a.chat);
    if (last !== undefined && a.seq < last) outOfOrder++;
    lastSeq.set(a.chat, a.seq);
  }

  const acknowledged = offered.filter((o) => o.acknowledged);
  const latenciesOf = (updates: Offered[]) =>
    updates
      .flatMap((o) => {
        const first = copies.get(key(o.chat, o.seq))?.[0];
        return first === undefined ? [] : [first - o.firstPostAt];
      })
      .sort((a, b) => a - b);
  const pct = (latencies: number[], p: number) =>
    latencies.length
      ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10
      : null;
  const latencies = latenciesOf(acknowledged);
  const first = latenciesOf(acknowledged.filter((o) => o.seq === 1));
  const later = latenciesOf(acknowledged.filter((o) => o.seq > 1));
  return {
    acknowledged: acknowledged.length,
    answered: latencies.length,
    lost: acknowledged.length - latencies.length,
    duplicated,
    killedMidSend,
    outOfOrder,
    p50Ms: pct(latencies, 0.5),
    p99Ms: pct(latencies, 0.99),
    firstP50Ms: pct(first, 0.5),
    firstP99Ms: pct(first, 0.99),
    laterP50Ms: pct(later, 0.5),
    laterP99Ms: pct(later, 0.99),
  };
}

/**
 * How long the system took to answer again after each time the database came back (epoch ms of its
 * return): from each return to the first reply to an update first posted after it (so that the whole
 * way, webhook to reply, worked again), the longest of them; null without returns, or when no such
 * reply came after one.
 */
export function resumedAfter(backAt: number[], offered: Offered[], answers: Answer[]): number | null {
  if (!backAt.length) return null;
  const postedAt = new Map(offered.map((o) => [`${o.chat}:${o.seq}`, o.firstPostAt]));
  let longest = 0;
  for (const back of backAt) {
    const first = answers.find((a) => a.at >= back && (postedAt.get(`${a.chat}:${a.seq}`) ?? -1) >= back);
    if (!first) return null;
    longest = Math.max(longest, first.at - back);
  }
  return longest;
}
