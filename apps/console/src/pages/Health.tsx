import { type FormEvent, useState } from "react";
import { api, ok } from "../api/client";
import { LineChart } from "../chart";
import { ErrorNote, Json, ms, Page, percent, StatusBadge, When } from "../components";
import { useLoad } from "../load";
import { Link } from "../router";
import { useCan } from "../session";

type Kind = "endpoint" | "subscription";
type Window = "1h" | "24h" | "7d";
const WINDOWS: Window[] = ["1h", "24h", "7d"];
const WINDOW_MS: Record<Window, number> = { "1h": 3600_000, "24h": 86400_000, "7d": 7 * 86400_000 };

export function HealthPage({ detail }: { detail?: { kind: Kind; id: string } }) {
  return detail ? <TargetHealth kind={detail.kind} id={detail.id} /> : <Overview />;
}

function Overview() {
  const overview = useLoad(() => ok(api.GET("/v1/webhook-health")), []);
  const rows = overview.data
    ? [
        ...overview.data.fulfillmentEndpoints.map((t) => ({ ...t, kind: "endpoint" as const })),
        ...overview.data.eventSubscriptions.map((t) => ({ ...t, kind: "subscription" as const })),
      ]
    : [];
  return (
    <Page title="Webhook health">
      <ErrorNote error={overview.error} />
      <p className="muted">Every fulfillment endpoint and event subscription over the last 24 hours.</p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Webhook</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Success</th>
            <th scope="col">p95 latency</th>
            <th scope="col">Attempts</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} className={row.status === "healthy" ? undefined : "attention"}>
              <td>
                <Link to={`/health/${row.kind === "endpoint" ? "endpoints" : "subscriptions"}/${row.id}`}>
                  {row.name ?? row.url}
                </Link>
                <div className="muted small">{row.url}</div>
              </td>
              <td>{row.kind === "endpoint" ? "Fulfillment" : "Events"}</td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td>{percent(row.successRate)}</td>
              <td>{ms(row.latencyMs?.p95)}</td>
              <td>{row.total}</td>
            </tr>
          ))}
          {overview.data && rows.length === 0 ? (
            <tr>
              <td colSpan={6} className="empty">
                No webhooks yet.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </Page>
  );
}

function TargetHealth({ kind, id }: { kind: Kind; id: string }) {
  const [window, setWindow] = useState<Window>("24h");
  const can = useCan();
  const path = { params: { path: { id }, query: { window } } };
  const health = useLoad(
    () =>
      kind === "endpoint"
        ? ok(api.GET("/v1/fulfillment-endpoints/{id}/health", path))
        : ok(api.GET("/v1/event-subscriptions/{id}/health", path)),
    [kind, id, window],
  );
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<Error>();
  const act = async (run: () => Promise<string>) => {
    setError(undefined);
    try {
      setNote(await run());
      health.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  };
  const h = health.data;
  const to = Date.now();
  const from = to - WINDOW_MS[window];
  const buckets = (h?.buckets ?? []).map((b) => ({ ...b, at: new Date(b.start).getTime() }));
  const enable = () =>
    act(async () => {
      if (kind === "endpoint")
        await ok(api.POST("/v1/fulfillment-endpoints/{id}/enable", { params: { path: { id } }, body: {} }));
      else await ok(api.POST("/v1/event-subscriptions/{id}/enable", { params: { path: { id } }, body: {} }));
      return "Enabled again.";
    });
  return (
    <Page
      title={h ? (h.name ?? h.url) : "Webhook"}
      actions={
        <fieldset className="tabs">
          <legend className="sr-only">Window</legend>
          {WINDOWS.map((w) => (
            <button key={w} type="button" aria-pressed={w === window} onClick={() => setWindow(w)}>
              {w}
            </button>
          ))}
        </fieldset>
      }
    >
      <p>
        <Link to="/health">← All webhooks</Link>
      </p>
      <ErrorNote error={health.error ?? error} />
      {note ? (
        <p role="status" className="note">
          {note}
        </p>
      ) : null}
      {h ? (
        <>
          <div className="stats">
            <Stat label="Status" value={<StatusBadge status={h.status} />} />
            <Stat label="Success rate" value={percent(h.successRate)} />
            <Stat label="p50 latency" value={ms(h.latencyMs.p50)} />
            <Stat label="p95 latency" value={ms(h.latencyMs.p95)} />
            <Stat label="Attempts" value={`${h.totals.total} (${h.totals.failed} failed)`} />
          </div>
          {h.status === "disabled" && can.administer ? (
            <p className="banner">
              This webhook is disabled: nothing is sent to it.{" "}
              <button type="button" className="primary" onClick={() => void enable()}>
                Re-enable
              </button>
            </p>
          ) : h.status === "degraded" ? (
            <p className="banner warn">Failing often: subscribers were sent endpoint.degraded.</p>
          ) : null}
          <div className="charts">
            <LineChart
              title="Success rate"
              from={from}
              to={to}
              yMax={1}
              format={(v) => `${Math.round(v * 100)}%`}
              series={[
                {
                  label: "success",
                  className: "series-ok",
                  points: buckets.map((b) => ({ at: b.at, value: b.total ? b.succeeded / b.total : null })),
                },
              ]}
            />
            <LineChart
              title="Latency"
              from={from}
              to={to}
              yMax={Math.max(10, ...buckets.map((b) => b.p95 ?? 0)) * 1.1}
              format={(v) => `${Math.round(v)} ms`}
              series={[
                { label: "p50", className: "series-p50", points: buckets.map((b) => ({ at: b.at, value: b.p50 })) },
                { label: "p95", className: "series-p95", points: buckets.map((b) => ({ at: b.at, value: b.p95 })) },
              ]}
            />
          </div>
          <h2>Errors by class</h2>
          {Object.keys(h.errors).length ? (
            <ul className="chips">
              {Object.entries(h.errors).map(([name, count]) => (
                <li key={name}>
                  {name}: <strong>{count}</strong>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No errors in this window.</p>
          )}
        </>
      ) : null}
      {kind === "subscription" ? <Deliveries id={id} canReplay={can.replay} act={act} /> : <Calls id={id} />}
    </Page>
  );
}

function Stat({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div className="stat">
      <span className="muted">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}

function Calls({ id }: { id: string }) {
  const calls = useLoad(
    () => ok(api.GET("/v1/fulfillment-endpoints/{id}/calls", { params: { path: { id }, query: { limit: 50 } } })),
    [id],
  );
  return (
    <>
      <h2>Recent calls</h2>
      <ErrorNote error={calls.error} />
      <ul className="attempts" aria-label="Recent calls">
        {(calls.data?.data ?? []).map((call) => (
          <li key={call.id}>
            <details>
              <summary>
                <StatusBadge status={call.ok ? "ok" : "failed"} /> {call.httpStatus ?? call.errorClass ?? "—"} ·{" "}
                {ms(call.latencyMs)} · <When at={call.at} />
              </summary>
              <h4>Request</h4>
              <Json value={call.request} label="Request" />
              <h4>Response</h4>
              <Json value={call.response ?? call.error} label="Response" />
            </details>
          </li>
        ))}
      </ul>
    </>
  );
}

function Deliveries({
  id,
  canReplay,
  act,
}: {
  id: string;
  canReplay: boolean;
  act(run: () => Promise<string>): Promise<void>;
}) {
  const deliveries = useLoad(
    () => ok(api.GET("/v1/event-subscriptions/{id}/deliveries", { params: { path: { id }, query: { limit: 50 } } })),
    [id],
  );
  const replayOne = (deliveryId: string) =>
    act(async () => {
      await ok(api.POST("/v1/deliveries/{id}/replay", { params: { path: { id: deliveryId } }, body: {} }));
      deliveries.reload();
      return "Delivery queued again.";
    });
  const replayRange = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const iso = (name: string) => new Date(String(form.get(name))).toISOString();
    return act(async () => {
      const answer = await ok(
        api.POST("/v1/event-subscriptions/{id}/replay", {
          params: { path: { id } },
          body: { from: iso("from"), to: iso("to") },
        }),
      );
      deliveries.reload();
      return `${answer.replayed} failed deliveries queued again.`;
    });
  };
  const local = (at: number) => new Date(at - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  return (
    <>
      <h2>Recent deliveries</h2>
      {canReplay ? (
        <form className="inline-form" onSubmit={(e) => void replayRange(e)}>
          <label>
            From
            <input name="from" type="datetime-local" defaultValue={local(Date.now() - 86400_000)} required />
          </label>
          <label>
            To
            <input name="to" type="datetime-local" defaultValue={local(Date.now() + 60_000)} required />
          </label>
          <button type="submit">Replay failed in range</button>
        </form>
      ) : null}
      <ErrorNote error={deliveries.error} />
      <ul className="attempts" aria-label="Recent deliveries">
        {(deliveries.data?.data ?? []).map((d) => (
          <li key={d.id}>
            <Delivery delivery={d} canReplay={canReplay} replay={() => void replayOne(d.id)} />
          </li>
        ))}
      </ul>
    </>
  );
}

function Delivery({
  delivery,
  canReplay,
  replay,
}: {
  delivery: {
    id: string;
    eventType: string;
    status: string;
    attempts: number;
    lastError: string | null;
    createdAt: string;
  };
  canReplay: boolean;
  replay(): void;
}) {
  const [open, setOpen] = useState(false);
  const detail = useLoad(
    async () => (open ? ok(api.GET("/v1/deliveries/{id}", { params: { path: { id: delivery.id } } })) : undefined),
    [open, delivery.id, delivery.status, delivery.attempts],
  );
  return (
    <section className="delivery" aria-label={`Delivery ${delivery.eventType}`}>
      <div className="row">
        <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {delivery.eventType}
        </button>
        <StatusBadge status={delivery.status} />
        <span className="muted">
          {delivery.attempts} attempt{delivery.attempts === 1 ? "" : "s"} · <When at={delivery.createdAt} />
        </span>
        {delivery.lastError ? <span className="error small">{delivery.lastError}</span> : null}
        {canReplay ? (
          <button type="button" onClick={replay} aria-label={`Replay ${delivery.eventType} delivery`}>
            Replay
          </button>
        ) : null}
      </div>
      {open && detail.data ? (
        <div className="delivery-detail">
          <h4>Request (the event)</h4>
          <Json value={detail.data.event} label="Request" />
          <h4>Attempts</h4>
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">HTTP</th>
                <th scope="col">Latency</th>
                <th scope="col">Response</th>
              </tr>
            </thead>
            <tbody>
              {detail.data.attempts.map((a) => (
                <tr key={a.at}>
                  <td>
                    <When at={a.at} />
                  </td>
                  <td>{a.httpStatus ?? a.error ?? "—"}</td>
                  <td>{ms(a.latencyMs)}</td>
                  <td>
                    <code>{a.responseExcerpt ?? ""}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
