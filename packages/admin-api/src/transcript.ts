import type { Db } from "@cb/db";
import { redactBody } from "./redact.ts";

interface RecordedCall {
  id: string;
  requestHeaders: unknown;
  requestBody: string | null;
  responseBody: string | null;
}

type TurnWithCalls = { fulfillment?: { calls?: { id?: string }[] } };

const callsOf = (turn: unknown) => (turn as TurnWithCalls | null)?.fulfillment?.calls ?? [];

/**
 * Messages' turn records with each fulfillment call's request and response, as its FulfillmentCall
 * row recorded them (bodies cut at 16 KiB, credential headers redacted when recorded, credential
 * fields of JSON bodies redacted here): the transcript's "why", in one query for the page.
 */
export async function withExchanges<M extends { turn: unknown }>(
  db: Db,
  tenantId: string,
  messages: M[],
): Promise<M[]> {
  const ids = messages.flatMap((m) => callsOf(m.turn).flatMap((c) => (c.id ? [c.id] : [])));
  if (!ids.length) return messages;
  const rows: RecordedCall[] = await db.fulfillmentCall.findMany({
    where: { tenantId, id: { in: ids } },
    select: { id: true, requestHeaders: true, requestBody: true, responseBody: true },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return messages.map((m) => {
    const turn = m.turn as TurnWithCalls | null;
    if (!turn?.fulfillment?.calls?.length) return m;
    const calls = turn.fulfillment.calls.map((call) => {
      const row = call.id ? byId.get(call.id) : undefined;
      if (!row) return call;
      return {
        ...call,
        request: {
          headers: (row.requestHeaders ?? null) as Record<string, string> | null,
          body: redactBody(row.requestBody),
        },
        response: { body: redactBody(row.responseBody) },
      };
    });
    return { ...m, turn: { ...turn, fulfillment: { ...turn.fulfillment, calls } } };
  });
}
