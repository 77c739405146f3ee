import { type FormEvent, type ReactNode, useState } from "react";
import { api, type Body, ok } from "../api/client";
import { LineChart } from "../chart";
import { ErrorNote, Json, ms, Page, percent, StatusBadge, When } from "../components";
import { useLoad } from "../load";
import { Link } from "../router";
import { useCan } from "../session";
import { pretty } from "./Why";

type Kind = "endpoint" | "subscription";
type Window = "1h" | "24h" | "7d";
const WINDOWS: Window[] = ["1h", "24h", "7d"];
type Call = Body<"/v1/fulfillment-endpoints/{id}/calls", "get">["data"][number];
type Attempt = Body<"/v1/event-subscriptions/{id}/attempts", "get">["data"][number];
type Act = (run: () => Promise<string>) => Promise<void>;

export function HealthPage({ detail }: { detail?: { kind: Kind; id: string } }) {
  return detail ? <TargetHealth kind={detail.kind} id={detail.id} /> : <Overview />;
}

function Overview() {
  const overview = useLoad(() => ok(api.GET("/v1/webhook-health")), []);
  const rows = overview.data
    ? [
        ...overview.data.fulfillmentEndpoints.map((t) => ({ ...t, kind: "endpoint" as const, label: t.name })),
        ...overview.data.eventSubscriptions.map((t) => ({ ...t, kind: "subscription" as const, label: t.url })),
      ]
    : [];
  return (
    <Page title="Webhook health">
      <ErrorNote error={overview.error} />
      <p className="muted">Every fulfillment endpoint and event subscription over the last 24 hours.</p>
      <table className="table" aria-label="Webhooks">
        <thead>
          <tr>
            <th scope="col">Webhook</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Success</th>
            <th scope="col">p50 / p95 latency</th>
            <th scope="col">Attempts (failed)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} className={row.status === "healthy" ? undefined : "attention"}>
              <td>
                <Link to={`/health/${row.kind === "endpoint" ? "endpoints" : "subscriptions"}/${row.id}`}>
                  {row.label}
                </Link>
                {row.kind === "endpoint" ? <div className="muted small">{row.url}</div> : null}
              </td>
              <td>{row.kind === "endpoint" ? "Fulfillment" : "Event subscription"}</td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td>{percent(row.successRate)}</td>
              <td>
                {ms(row.latencyMs.p50)} / {ms(row.latencyMs.p95)}
              </td>
              <td>
                {row.total} ({row.failed})
              </td>
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

/** What the health figures are about: the endpoint's name and address, or the subscription's. */
function useTarget(kind: Kind, id: string) {
  return useLoad(async () => {
    const path = { params: { path: { id } } };
    if (kind === "endpoint") {
      const endpoint = await ok(api.GET("/v1/fulfillment-endpoints/{id}", path));
      return { title: endpoint.name, url: endpoint.url, disabledReason: null };
    }
    const subscription = await ok(api.GET("/v1/event-subscriptions/{id}", path));
    return { title: subscription.url, url: subscription.url, disabledReason: subscription.disabledReason };
  }, [kind, id]);
}

function TargetHealth({ kind, id }: { kind: Kind; id: string }) {
  const [window, setWindow] = useState<Window>("24h");
  const can = useCan();
  const target = useTarget(kind, id);
  const health = useLoad(() => {
    const path = { params: { path: { id }, query: { window } } };
    return kind === "endpoint"
      ? ok(api.GET("/v1/fulfillment-endpoints/{id}/health", path))
      : ok(api.GET("/v1/event-subscriptions/{id}/health", path));
  }, [kind, id, window]);
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<Error>();
  const [attemptsVersion, setAttemptsVersion] = useState(0);
  const act: Act = async (run) => {
    setError(undefined);
    setNote(undefined);
    try {
      setNote(await run());
      health.reload();
      target.reload();
      setAttemptsVersion((v) => v + 1);
    } catch (reason) {
      setError(reason as Error);
    }
  };
  const h = health.data;
  const from = h ? new Date(h.from).getTime() : 0;
  const to = h ? new Date(h.to).getTime() : 0;
  const buckets = (h?.buckets ?? []).map((b) => ({ ...b, at: new Date(b.start).getTime() }));
  const enable = () =>
    act(async () => {
      await ok(api.POST("/v1/event-subscriptions/{id}/enable", { params: { path: { id } } }));
      return "Enabled again: new events are delivered.";
    });
  return (
    <Page
      title={target.data?.title ?? "Webhook"}
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
      <p className="crumbs">
        <Link to="/health">← All webhooks</Link>
        <span className="muted">
          {kind === "endpoint" ? "Fulfillment endpoint" : "Event subscription"} · {target.data?.url}
        </span>
      </p>
      <ErrorNote error={health.error ?? target.error ?? error} />
      {note ? (
        <p role="status" className="note">
          {note}
        </p>
      ) : null}
      {h ? (
        <>
          {h.status === "disabled" ? (
            <div className="banner" role="status">
              <span>
                Disabled{target.data?.disabledReason ? ` (${target.data.disabledReason})` : ""}: nothing is delivered to
                it.
              </span>
              {can.administer && kind === "subscription" ? (
                <button type="button" className="primary" onClick={() => void enable()}>
                  Re-enable
                </button>
              ) : null}
            </div>
          ) : h.status === "degraded" ? (
            <p className="banner warn">
              Failing more often than the tenant's threshold since <When at={h.degradedSince} />: subscribers were sent
              endpoint.degraded.
            </p>
          ) : null}
          <div className="stats">
            <Stat label="Status" value={<StatusBadge status={h.status} />} />
            <Stat label="Success rate" value={percent(h.successRate)} />
            <Stat label="p50 latency" value={ms(h.latencyMs.p50)} />
            <Stat label="p95 latency" value={ms(h.latencyMs.p95)} />
            <Stat label="Attempts" value={`${h.total} (${h.failed} failed)`} />
          </div>
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
                  points: buckets.map((b) => ({ at: b.at, value: b.total ? (b.total - b.failed) / b.total : null })),
                },
              ]}
            />
            <LineChart
              title="Latency"
              from={from}
              to={to}
              yMax={Math.max(10, ...buckets.map((b) => b.p95 ?? 0)) * 1.15}
              format={(v) => `${Math.round(v)} ms`}
              series={[
                { label: "p50", className: "series-p50", points: buckets.map((b) => ({ at: b.at, value: b.p50 })) },
                { label: "p95", className: "series-p95", points: buckets.map((b) => ({ at: b.at, value: b.p95 })) },
              ]}
            />
          </div>
          <h2>Errors by class</h2>
          {Object.keys(h.errors).length ? (
            <ul className="chips" aria-label="Errors by class">
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
      {kind === "subscription" ? (
        <Attempts key={attemptsVersion} id={id} act={act} />
      ) : (
        <Calls key={attemptsVersion} id={id} act={act} />
      )}
    </Page>
  );
}

function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="stat">
      <span className="muted">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}

function Outcome({ value, onChange }: { value: string; onChange(value: string): void }) {
  return (
    <label className="inline">
      Show
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">all attempts</option>
        <option value="failed">failed only</option>
        <option value="succeeded">succeeded only</option>
      </select>
    </label>
  );
}

function Exchange({ request, response }: { request: Attempt["request"]; response: Attempt["response"] }) {
  return (
    <div className="exchange">
      <div>
        <h4>Request</h4>
        {request.headers ? <Json value={request.headers} label="Request headers" /> : null}
        <Json value={pretty(request.body)} label="Request body" />
      </div>
      <div>
        <h4>Response</h4>
        <Json value={pretty(response.body)} label="Response body" />
      </div>
    </div>
  );
}

function Calls({ id, act }: { id: string; act: Act }) {
  const can = useCan();
  const [outcome, setOutcome] = useState("");
  const calls = useLoad(
    () =>
      ok(
        api.GET("/v1/fulfillment-endpoints/{id}/calls", {
          params: { path: { id }, query: { limit: 50, ...(outcome ? { outcome: outcome as "failed" } : {}) } },
        }),
      ),
    [id, outcome],
  );
  const replay = (call: Call) =>
    act(async () => {
      const again = await ok(api.POST("/v1/fulfillment-calls/{id}/replay", { params: { path: { id: call.id } } }));
      return again.ok
        ? `Called again: HTTP ${again.httpStatus} in ${ms(again.latencyMs)} (the customer was not messaged).`
        : `Called again and failed: ${again.error ?? again.errorClass}.`;
    });
  return (
    <>
      <div className="section-head">
        <h2>Recent calls</h2>
        <Outcome value={outcome} onChange={setOutcome} />
      </div>
      <ErrorNote error={calls.error} />
      <ul className="attempts" aria-label="Recent calls">
        {(calls.data?.data ?? []).map((call) => (
          <li key={call.id}>
            <AttemptRow
              label={`Call ${call.intent}`}
              title={call.intent}
              status={call.ok ? "succeeded" : "failed"}
              outcome={call.httpStatus ? `HTTP ${call.httpStatus}` : (call.errorClass ?? call.error ?? "—")}
              latencyMs={call.latencyMs}
              at={call.createdAt}
              extra={call.replayOf ? "replay" : undefined}
              replay={can.administer ? () => void replay(call) : undefined}
              replayLabel={`Replay ${call.intent} call`}
            >
              <Exchange request={call.request} response={call.response} />
            </AttemptRow>
          </li>
        ))}
        {calls.data && calls.data.data.length === 0 ? <li className="empty">No calls in this list.</li> : null}
      </ul>
    </>
  );
}

function Attempts({ id, act }: { id: string; act: Act }) {
  const can = useCan();
  const [outcome, setOutcome] = useState("");
  const attempts = useLoad(
    () =>
      ok(
        api.GET("/v1/event-subscriptions/{id}/attempts", {
          params: { path: { id }, query: { limit: 50, ...(outcome ? { outcome: outcome as "failed" } : {}) } },
        }),
      ),
    [id, outcome],
  );
  const replayOne = (attempt: Attempt) =>
    act(async () => {
      await ok(api.POST("/v1/deliveries/{id}/replay", { params: { path: { id: attempt.deliveryId } } }));
      return `The ${attempt.eventType} delivery is queued again.`;
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
      return `${answer.replayed} failed deliveries queued again.`;
    });
  };
  // datetime-local wants the local time without a zone.
  const local = (at: number) => new Date(at - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  return (
    <>
      <div className="section-head">
        <h2>Recent attempts</h2>
        <Outcome value={outcome} onChange={setOutcome} />
      </div>
      {can.replay ? (
        <form className="inline-form card" onSubmit={(e) => void replayRange(e)} aria-label="Replay failed deliveries">
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
      <ErrorNote error={attempts.error} />
      <ul className="attempts" aria-label="Recent attempts">
        {(attempts.data?.data ?? []).map((attempt) => (
          <li key={attempt.id}>
            <AttemptRow
              label={`Attempt ${attempt.eventType}`}
              title={attempt.eventType}
              status={attempt.httpStatus && attempt.httpStatus < 300 ? "succeeded" : "failed"}
              outcome={attempt.httpStatus ? `HTTP ${attempt.httpStatus}` : (attempt.errorClass ?? attempt.error ?? "—")}
              latencyMs={attempt.latencyMs}
              at={attempt.at}
              extra={`delivery ${attempt.deliveryStatus}`}
              replay={can.replay ? () => void replayOne(attempt) : undefined}
              replayLabel={`Replay ${attempt.eventType} delivery`}
            >
              <Exchange request={attempt.request} response={attempt.response} />
            </AttemptRow>
          </li>
        ))}
        {attempts.data && attempts.data.data.length === 0 ? <li className="empty">No attempts in this list.</li> : null}
      </ul>
    </>
  );
}

function AttemptRow(props: {
  label: string;
  title: string;
  status: string;
  outcome: string;
  latencyMs: number;
  at: string;
  extra?: string | undefined;
  replay?: (() => void) | undefined;
  replayLabel: string;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <section className="attempt" aria-label={props.label}>
      <div className="row">
        <StatusBadge status={props.status} />
        <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {props.title}
        </button>
        <span className="muted">
          {props.outcome} · {ms(props.latencyMs)} · <When at={props.at} />
          {props.extra ? ` · ${props.extra}` : ""}
        </span>
        {props.replay ? (
          <button type="button" onClick={props.replay} aria-label={props.replayLabel}>
            Replay
          </button>
        ) : null}
      </div>
      {open ? props.children : null}
    </section>
  );
}
