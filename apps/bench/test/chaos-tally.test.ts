import { test } from "node:test";
import assert from "node:assert/strict";
import { answeredBy, plan } from "../src/chaos/load.ts";
import { resumedAfter, tally, type Answer, type Offered } from "../src/chaos/tally.ts";

const offered = (chat: number, seq: number, acknowledged = true, firstPostAt = 0): Offered => ({
  chat,
  seq,
  firstPostAt,
  acknowledged,
});
const answer = (chat: number, seq: number, at: number): Answer => ({ chat, seq, at });

test("answered, lost and latency count acknowledged updates only, from their first reply", () => {
  const result = tally(
    [offered(-1, 1, true, 1000), offered(-1, 2, true, 2000), offered(-2, 1, true, 1000), offered(-2, 2, false, 0)],
    [answer(-1, 1, 1010), answer(-1, 2, 2030), answer(-1, 2, 2500), answer(-2, 2, 40)],
    [],
  );
  assert.equal(result.acknowledged, 3);
  assert.equal(result.answered, 2);
  assert.equal(result.lost, 1, "-2:1 was acknowledged and never answered; -2:2 was answered but never acknowledged");
  assert.equal(result.p50Ms, 30, "the duplicate's time does not count");
  assert.equal(result.p99Ms, 30);
  assert.equal(result.duplicated, 1);
  assert.deepEqual(
    [result.firstP50Ms, result.laterP50Ms],
    [10, 30],
    "conversations' first messages (place 1) apart from later ones",
  );
});

test("an extra reply whose previous copy went out within the window before a death is counted apart", () => {
  const replies = [answer(-1, 1, 1000), answer(-1, 1, 9000), answer(-1, 1, 20_000), answer(-1, 2, 5000)];
  const result = tally([offered(-1, 1), offered(-1, 2)], replies, [1400, 30_000]);
  assert.equal(result.killedMidSend, 1, "the copy after 1000 (killed at 1400)");
  assert.equal(result.duplicated, 1, "the copy after 9000: no death within a second after it");
  assert.deepEqual(
    [
      tally([offered(-1, 1)], replies.slice(0, 2), [999]).duplicated,
      tally([offered(-1, 1)], replies.slice(0, 2), [2001]).duplicated,
    ],
    [1, 1],
    "a death before the copy, or more than the window after it, explains nothing",
  );
});

test("out of order counts steps backwards in a conversation's first replies, not duplicates or gaps", () => {
  const result = tally(
    [],
    [
      answer(-1, 1, 1),
      answer(-1, 3, 2),
      answer(-1, 2, 3),
      answer(-1, 4, 4),
      answer(-2, 2, 5),
      answer(-2, 1, 6),
      answer(-1, 3, 7),
      answer(-3, 1, 8),
      answer(-3, 3, 9),
    ],
    [],
  );
  assert.equal(result.outOfOrder, 2, "-1: 3 then 2; -2: 2 then 1; not -1's late copy of 3, not -3's gap");
  assert.equal(result.duplicated, 1);
});

test("no answers: nothing answered and no latency", () => {
  assert.deepEqual(tally([offered(-1, 1)], [], []), {
    acknowledged: 1,
    answered: 0,
    lost: 1,
    duplicated: 0,
    killedMidSend: 0,
    outOfOrder: 0,
    p50Ms: null,
    p99Ms: null,
    firstP50Ms: null,
    firstP99Ms: null,
    laterP50Ms: null,
    laterP99Ms: null,
  });
});

test("the load puts a conversation's messages in order, k of them each, and spikes in new conversations", () => {
  const load = plan({ updates: 20, durationS: 2, conversations: 5, bots: 2, spikes: { count: 1, size: 3 } });
  assert.equal(load.length, 23);
  assert.equal(new Set(load.map((u) => u.id)).size, 23);
  const first = load.filter((u) => u.chat === load[0]!.chat);
  assert.deepEqual(
    first.map((u) => u.seq),
    [1, 2, 3, 4],
  );
  assert.ok(first.every((u, i) => i === 0 || u.atMs > first[i - 1]!.atMs));
  const spike = load.filter(
    (u) => u.atMs === 1000 && u.seq === 1 && !load.some((v) => v.chat === u.chat && v.seq === 2),
  );
  assert.equal(spike.length, 3);
  assert.ok(load.every((u, i) => i === 0 || u.atMs >= load[i - 1]!.atMs));
});

test("a reply is attributed to the message it replies to, else to the place its text echoes", () => {
  assert.deepEqual(answeredBy({ chat_id: -5, text: "static", reply_parameters: { message_id: 3 } }), {
    chat: -5,
    seq: 3,
  });
  assert.deepEqual(answeredBy({ chat_id: "-5", text: "x", reply_parameters: '{"message_id":4}' }), {
    chat: -5,
    seq: 4,
  });
  assert.deepEqual(answeredBy({ chat_id: -5, text: "ack -7:2" }), { chat: -7, seq: 2 });
  assert.equal(answeredBy({ chat_id: -5, text: "static" }), undefined);
});

test("resumed after a database restart: from each return to the first reply to an update posted after it, the longest", () => {
  const offered: Offered[] = [50, 150, 210, 1_100].map((firstPostAt, i) => ({
    chat: -1,
    seq: i + 1,
    firstPostAt,
    acknowledged: true,
  }));
  const answers: Answer[] = [100, 250, 900, 2_400].map((at, i) => ({ chat: -1, seq: i + 1, at }));
  // After 200: update 2 (posted at 150, before the return) does not count; update 3, answered at 900, does.
  assert.equal(resumedAfter([200, 1_000], offered, answers), 1_400, "700 after 200; 1,400 after 1,000");
  assert.equal(resumedAfter([], offered, answers), null, "no restart");
  assert.equal(resumedAfter([3_000], offered, answers), null, "nothing answered after it");
});
