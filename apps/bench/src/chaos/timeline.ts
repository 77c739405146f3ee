// `--timeline`: where a scenario's time went, for finding what limits it (stderr only; the JSON line
// is unchanged). Latency by the second the update was first posted in, and the turn's stages from
// what the database recorded.
import type pg from "pg";

export interface Posted {
  chat: number;
  seq: number;
  firstPostAt: number;
}

export interface Replied {
  chat: number;
  seq: number;
  at: number;
}

/** One line per second of the load: updates first posted in it, and their first replies' p50 and max. */
export function latencyBySecond(offered: Posted[], replies: Replied[], startedAt: number): string[] {
  const firstReply = new Map<string, number>();
  for (const r of replies) if (!firstReply.has(`${r.chat}:${r.seq}`)) firstReply.set(`${r.chat}:${r.seq}`, r.at);
  const bySecond = new Map<number, number[]>();
  for (const o of offered) {
    const at = firstReply.get(`${o.chat}:${o.seq}`);
    if (at === undefined) continue;
    const second = Math.floor((o.firstPostAt - startedAt) / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), at - o.firstPostAt]);
  }
  return [...bySecond]
    .sort((a, b) => a[0] - b[0])
    .map(([second, ms]) => {
      ms.sort((a, b) => a - b);
      return `t=${second}s updates=${ms.length} p50=${ms[ms.length >> 1]}ms max=${ms[ms.length - 1]}ms`;
    });
}

/**
 * p50 / p90 / p99 in ms of: stored → first reply planned (queue and turn up to its plan), planned →
 * sent, and the stages the turn records (understand, fulfill, send).
 */
export async function turnStages(db: pg.Pool): Promise<Record<string, number[]>> {
  const { rows } = await db.query<Record<string, number[]>>(`
    SELECT ${[
      [`EXTRACT(EPOCH FROM o."createdAt" - i."createdAt") * 1000`, "storedToPlanned"],
      [`EXTRACT(EPOCH FROM o."updatedAt" - o."createdAt") * 1000`, "plannedToSent"],
      [`(i.turn->'stages'->>'understandMs')::int`, "understand"],
      [`(i.turn->'stages'->>'fulfillMs')::int`, "fulfill"],
      [`(i.turn->'stages'->>'sendMs')::int`, "send"],
    ]
      .map(([value, name]) => `percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ${value}) AS "${name}"`)
      .join(",\n")}
    FROM "Message" i
    JOIN "Message" o ON o."channelAccountId" = i."channelAccountId" AND o.direction = 'out' AND o."dedupeKey" = i.id::text || ':0'
    WHERE i.direction = 'in'`);
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, (v ?? []).map(Math.round)]));
}
