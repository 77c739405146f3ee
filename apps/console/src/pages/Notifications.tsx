import { useState } from "react";
import { api, ok } from "../api/client";
import { ErrorNote, Page, StatusBadge, When } from "../components";
import { useLoad } from "../load";
import { useCan } from "../session";

export function NotificationsPage() {
  const can = useCan();
  const log = useLoad(() => ok(api.GET("/v1/notifications", { params: { query: { limit: 100 } } })), []);
  const rules = useLoad(() => ok(api.GET("/v1/notification-rules", { params: { query: { limit: 200 } } })), []);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<Error>();
  const ruleName = new Map((rules.data?.data ?? []).map((r) => [r.id, r.name]));
  const shown = (log.data?.data ?? []).filter((n) => !status || n.status === status);
  const remove = async (id: string) => {
    setError(undefined);
    try {
      await ok(api.DELETE("/v1/notification-rules/{id}", { params: { path: { id } } }));
      rules.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  };
  return (
    <Page title="Notifications">
      <ErrorNote error={log.error ?? rules.error ?? error} />
      <div className="section-head">
        <h2>Log</h2>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All</option>
            {["scheduled", "queued", "deferred", "sent", "failed", "skipped", "cancelled"].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <table className="table" aria-label="Notification log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Rule</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((n) => (
            <tr key={n.id}>
              <td>
                <When at={n.dueAt ?? n.createdAt} />
              </td>
              {/* Reminders and fulfillment follow-ups have no rule: their kind says what they are. */}
              <td>{n.ruleId ? (ruleName.get(n.ruleId) ?? n.ruleId) : n.kind}</td>
              <td>{n.eventId ? <code>{n.eventId}</code> : null}</td>
              <td>
                <StatusBadge status={n.status} />
              </td>
              <td>{n.reason ?? ""}</td>
              <td>{n.messageStatus ?? ""}</td>
            </tr>
          ))}
          {log.data && shown.length === 0 ? (
            <tr>
              <td colSpan={6} className="empty">
                No notifications.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <h2>Rules</h2>
      <table className="table" aria-label="Notification rules">
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Event type</th>
            <th scope="col">Message</th>
            <th scope="col">Channels</th>
            <th scope="col">Enabled</th>
            {can.administer ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {(rules.data?.data ?? []).map((rule) => (
            <tr key={rule.id}>
              <td>{rule.name}</td>
              <td>
                <code>{rule.eventType}</code>
              </td>
              <td>{rule.template.text}</td>
              <td>{rule.channelOrder.join(" → ")}</td>
              <td>{rule.enabled ? "yes" : "no"}</td>
              {can.administer ? (
                <td>
                  <button type="button" className="danger" onClick={() => void remove(rule.id)}>
                    Delete {rule.name}
                  </button>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
