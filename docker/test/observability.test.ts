// The observability profile as an operator runs it: Prometheus' scrape configuration and alert
// rules, Grafana's provisioning and dashboard, read as they would be; every metric they query is
// one the roles export. Where promtool is installed, the rules are checked and unit-tested by it.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { observeBacklog, registry } from "@cb/observability";
import type pg from "pg";
import { parse } from "yaml";

const docker = join(import.meta.dirname, "..");
const read = (path: string) => readFileSync(join(docker, path), "utf8");

interface Service {
  image?: string;
  profiles?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}
const compose = parse(read("compose.yml"), { merge: true }) as { services: Record<string, Service> };

// The gauges read from the database are registered by the worker role; here with a pool never used.
observeBacklog({} as pg.Pool);
const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
/** Metric names a PromQL expression reads (cb_… only), histogram suffixes mapped to their histogram. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bcb_[a-z0-9_]+/g)].map(([name]) =>
    exported.has(name) ? name : name.replace(/_(bucket|count|sum)$/, ""),
  );
}

test("--profile observability adds Prometheus and Grafana, with this folder's files mounted", () => {
  for (const name of ["prometheus", "grafana"]) {
    const service = compose.services[name];
    assert.ok(service, name);
    assert.deepEqual(service.profiles, ["observability"], `${name} only with the profile`);
    for (const volume of service.volumes ?? []) {
      const [source] = volume.split(":");
      if (source!.startsWith("./")) assert.ok(existsSync(join(docker, source!)), `${name} mounts ${source}`);
    }
  }
  // The roles run without the profile; Prometheus and Grafana never start by default.
  for (const [name, service] of Object.entries(compose.services))
    if (!["prometheus", "grafana"].includes(name)) assert.equal(service.profiles, undefined, name);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, as written in the file
  assert.equal(compose.services.web?.environment?.METRICS_TOKEN, "${METRICS_TOKEN:-}", "optional, no default");
});

test("Prometheus scrapes /metrics of the web role and of every worker's health port, and loads the alerts", () => {
  const config = parse(read("prometheus/prometheus.yml")) as {
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      metrics_path: string;
      authorization?: { credentials_file: string };
      dns_sd_configs: { names: string[]; port: number }[];
    }[];
  };
  const jobs = Object.fromEntries(config.scrape_configs.map((c) => [c.job_name, c]));
  assert.deepEqual(jobs.web?.dns_sd_configs[0], { names: ["web"], type: "A", port: 3000, refresh_interval: "30s" });
  assert.equal(jobs.worker?.dns_sd_configs[0]?.port, 3001, "the worker's WORKER_HEALTH_PORT in the image");
  for (const job of Object.values(jobs)) {
    assert.equal(job.metrics_path, "/metrics");
    assert.equal(job.authorization?.credentials_file, "/tmp/metrics-token", "METRICS_TOKEN sent when set");
  }
  const mounted = compose.services.prometheus!.volumes!.map((v) => v.split(":")[1]);
  for (const file of config.rule_files) assert.ok(mounted.includes(file), `${file} is mounted`);
});

test("alert rules: rejection spike, queue age, fulfillment errors, 429s and inbox backlog, on exported metrics", () => {
  const rules = parse(read("prometheus/alerts.yml")) as {
    groups: { rules: { alert: string; expr: string; for: string; labels: { severity: string } }[] }[];
  };
  const alerts = Object.fromEntries(rules.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
  const wanted = {
    WebhookRejectionSpike: "cb_webhooks_rejected_total",
    JobQueueOldestJobAge: "cb_job_queue_oldest_age_seconds",
    FulfillmentErrorRate: "cb_fulfillment_calls_total",
    PlatformRateLimited: "cb_platform_sends_total",
    InboxBacklog: "cb_inbox_backlog_batches",
  };
  for (const [alert, metric] of Object.entries(wanted)) {
    assert.ok(alerts[alert], alert);
    assert.ok(metricsIn(alerts[alert].expr).includes(metric), `${alert} reads ${metric}`);
  }
  for (const rule of Object.values(alerts)) {
    for (const metric of metricsIn(rule.expr)) assert.ok(exported.has(metric), `${rule.alert}: ${metric} is exported`);
    assert.match(rule.labels.severity, /^(warning|critical)$/);
  }
});

test("the Grafana dashboard is provisioned from this folder and queries only exported metrics", () => {
  const provider = parse(read("grafana/provisioning/dashboards/chatbot.yml")) as {
    providers: { options: { path: string } }[];
  };
  const grafanaMounts = compose.services.grafana!.volumes!;
  assert.ok(grafanaMounts.includes(`./grafana/dashboards:${provider.providers[0]!.options.path}:ro`));
  const dashboard = JSON.parse(read("grafana/dashboards/chatbot.json")) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))));
  for (const metric of queried) assert.ok(exported.has(metric), `${metric} is exported`);
  for (const metric of [
    "cb_webhooks_rejected_total",
    "cb_turn_duration_seconds",
    "cb_job_queue_oldest_age_seconds",
    "cb_fulfillment_calls_total",
    "cb_platform_sends_total",
    "cb_inbox_backlog_batches",
    "cb_db_pool_connections",
  ])
    assert.ok(queried.has(metric), `the dashboard shows ${metric}`);
  const datasource = parse(read("grafana/provisioning/datasources/prometheus.yml")) as {
    datasources: { uid: string; url: string }[];
  };
  assert.equal(datasource.datasources[0]?.url, "http://prometheus:9090");
});

test("promtool: the rules are valid and each alert fires on its unit test's series", (t: TestContext) => {
  const version = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (version.error) return t.skip("promtool is not installed (Debian: apt-get install prometheus)");
  const cwd = join(docker, "prometheus");
  const check = spawnSync("promtool", ["check", "rules", "alerts.yml"], { cwd, encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const unit = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd, encoding: "utf8" });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
});
