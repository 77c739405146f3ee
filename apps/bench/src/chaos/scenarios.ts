// The chaos benchmark's scenarios: what goes wrong while the load runs. Moments are fractions of the
// load's duration, so that a short development run sees the same events as the full one.
import type { FakeTelegram } from "@cb/fake-telegram";
import type { Backend } from "./backend.ts";
import type { Cluster } from "./cluster.ts";
import type { Role } from "./supervisor.ts";

export interface ScenarioContext {
  durationS: number;
  telegram: FakeTelegram;
  backend: Backend;
  cluster: Cluster;
  server: Role;
  workers: Role[];
  /** Runs `action` this many ms after the load started; the run waits for it before draining. */
  at(ms: number, action: () => unknown): void;
}

export interface Scenario {
  name: string;
  description: string;
  /** Bursts of updates in new conversations, on top of the steady load. */
  spikes?: (spikeSize: number) => { count: number; size: number };
  /** Sets the faults when the load starts and schedules what happens during it. */
  start(context: ScenarioContext): void;
}

export const scenarios: Scenario[] = [
  {
    name: "pg-restart",
    description: "PostgreSQL restarted with pg_ctl restart -m fast at 30% of the load, then -m immediate at 65%",
    start({ durationS, cluster, at }) {
      at(durationS * 300, () => cluster.restart("fast"));
      at(durationS * 650, () => cluster.restart("immediate"));
    },
  },
  {
    name: "platform-429-500",
    description: "the Bot API answers 429 (retry_after 1) to 20% and 500 to 10% of sends",
    start({ telegram }) {
      telegram.setFaults({ rate429: 0.2, retryAfter: 1, rate500: 0.1 });
    },
  },
  {
    name: "backend-hang",
    description:
      "the fulfillment backend never answers 30% of calls, and is down (connections refused) for 5 s from 40% of the load",
    start({ durationS, backend, at }) {
      backend.setFaults({ hangShare: 0.3 });
      const downMs = Math.min(5000, durationS * 250);
      at(durationS * 400, () => backend.down());
      at(durationS * 400 + downMs, () => backend.up());
    },
  },
  {
    name: "worker-kill",
    description:
      "kill -9 a worker every 5 s (the two in turn, each started again at once) while the Bot API takes 150 ms to answer",
    start({ durationS, telegram, workers, at }) {
      telegram.setFaults({ delayMs: 150 });
      const everyMs = Math.min(5000, durationS * 250);
      for (let t = everyMs, n = 0; t < durationS * 1000; t += everyMs, n++)
        at(t, () => workers[n % workers.length]!.kill());
    },
  },
  {
    name: "spikes",
    description:
      "the fulfillment backend answers in 300 ms, and three bursts of --spike-size updates (300) arrive at once, each in new conversations",
    spikes: (size) => ({ count: 3, size }),
    start({ backend }) {
      backend.setFaults({ delayMs: 300 });
    },
  },
  {
    name: "server-kill",
    description:
      "kill -9 the server at 30% and 65% of the load (started again at once on its port); the platform posts unacknowledged updates again",
    start({ durationS, server, at }) {
      at(durationS * 300, () => server.kill());
      at(durationS * 650, () => server.kill());
    },
  },
];
