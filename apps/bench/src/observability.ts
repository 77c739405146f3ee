// What the turn benchmark needs to measure observability's cost: ports for the workers' /metrics,
// a scraper, and the cost of recording one turn's metrics.
import { createServer } from "node:net";
import {
  fulfillmentCalls,
  fulfillmentDuration,
  ingestDuration,
  nluOutcomes,
  platformSends,
  turnDuration,
  turnsTotal,
  webhooksAcknowledged,
  webhooksReceived,
} from "@cb/observability";

/** A TCP port free right now on 127.0.0.1 (a worker's WORKER_HEALTH_PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GETs every URL each `ms` until stopped (a Prometheus scraping each process); stop() says how many scrapes answered 200. */
export function scrapeEvery(ms: number, urls: string[]): { stop(): Promise<number> } {
  let ok = 0;
  let round: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    round = Promise.all(
      urls.map(async (url) => {
        const response = await fetch(url);
        await response.text();
        if (response.ok) ok++;
      }),
    ).then(() => {});
  }, ms);
  return {
    async stop() {
      clearInterval(timer);
      await round;
      return ok;
    },
  };
}

/**
 * Microseconds of CPU that recording one turn's metrics costs, measured here: the web role's three
 * (received, acknowledged, ingest latency) and the worker's nine (four stage latencies, the turn,
 * the NLU outcome, the fulfillment call and its latency, the send).
 */
export function metricsRecordingCost(turns = 200_000): number {
  const oneTurn = () => {
    webhooksReceived.inc({ channel: "telegram" });
    ingestDuration.observe({ store: "direct" }, 0.004);
    webhooksAcknowledged.inc({ channel: "telegram" });
    turnDuration.observe({ stage: "understand" }, 0.002);
    nluOutcomes.inc({ outcome: "matched", llm: "not_used" });
    fulfillmentCalls.inc({ outcome: "ok", status_class: "2xx" });
    fulfillmentDuration.observe({ outcome: "ok" }, 0.003);
    turnDuration.observe({ stage: "fulfill" }, 0.003);
    platformSends.inc({ channel: "telegram", outcome: "sent" });
    turnDuration.observe({ stage: "send" }, 0.002);
    turnsTotal.inc({ outcome: "ok" });
    turnDuration.observe({ stage: "total" }, 0.01);
  };
  for (let i = 0; i < 10_000; i++) oneTurn(); // warm up the JIT
  const before = process.cpuUsage();
  for (let i = 0; i < turns; i++) oneTurn();
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) / turns) * 100) / 100;
}
