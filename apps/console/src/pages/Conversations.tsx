import { type FormEvent, useRef, useState } from "react";
import { api, type Body, ok } from "../api/client";
import { ErrorNote, ModeBadge, Page, When } from "../components";
import { useLoad } from "../load";
import { Link, navigate, useLocation } from "../router";
import { useStreamEvents } from "../stream";
import { Transcript } from "./Transcript";

export type ConversationItem = Body<"/v1/conversations", "get">["data"][number];
type Filters = { mode: string; channel: string; assignee: string; q: string };
const CHANNELS = ["telegram", "whatsapp", "messenger", "slack"];

/** The one who wrote, as a person reads it. */
export function customerName(item: Pick<ConversationItem, "customer">): string {
  return item.customer.name ?? item.customer.username ?? item.customer.externalId;
}

export function ConversationsPage({ selected }: { selected?: string }) {
  const { search } = useLocation();
  const filters: Filters = {
    mode: search.get("mode") ?? "",
    channel: search.get("channel") ?? "",
    assignee: search.get("assignee") ?? "",
    q: search.get("q") ?? "",
  };
  const [pages, setPages] = useState<ConversationItem[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const query = (extra: { cursor?: string } = {}) => ({
    limit: 50,
    ...(filters.mode ? { mode: filters.mode as "bot" } : {}),
    ...(filters.channel ? { channel: filters.channel as "telegram" } : {}),
    ...(filters.assignee ? { assignee: filters.assignee } : {}),
    ...(filters.q ? { q: filters.q } : {}),
    ...extra,
  });
  const list = useLoad(async () => {
    const page = await ok(api.GET("/v1/conversations", { params: { query: query() } }));
    setPages([]);
    setCursor(page.nextCursor);
    return page.data;
  }, [filters.mode, filters.channel, filters.assignee, filters.q]);

  // Live: a new message or a change of mode reloads the first page (at most every 250 ms).
  const pending = useRef<number | undefined>(undefined);
  useStreamEvents(() => {
    if (pending.current !== undefined) return;
    pending.current = window.setTimeout(() => {
      pending.current = undefined;
      list.reload();
    }, 250);
  });

  const more = async () => {
    if (!cursor) return;
    const page = await ok(api.GET("/v1/conversations", { params: { query: query({ cursor }) } }));
    setPages((old) => [...old, page.data]);
    setCursor(page.nextCursor);
  };
  const setFilter = (form: FormEvent<HTMLFormElement>) => {
    form.preventDefault();
    const data = new FormData(form.currentTarget);
    const next = new URLSearchParams();
    for (const key of ["mode", "channel", "assignee", "q"]) {
      const value = String(data.get(key) ?? "").trim();
      if (value) next.set(key, value);
    }
    navigate(`/conversations${selected ? `/${selected}` : ""}${next.size ? `?${next}` : ""}`, { replace: true });
  };
  const keep = search.size ? `?${search}` : "";
  const items = [...(list.data ?? []), ...pages.flat()];

  return (
    <Page title="Conversations">
      <div className="split">
        <div className="list-pane">
          <search>
            <form className="filters" onSubmit={setFilter} onChange={(e) => e.currentTarget.requestSubmit()}>
              <label className="grow">
                <span className="sr-only">Search</span>
                <input name="q" type="search" placeholder="Search customers and messages" defaultValue={filters.q} />
              </label>
              <label>
                Mode
                <select name="mode" defaultValue={filters.mode}>
                  <option value="">All</option>
                  <option value="bot">Bot</option>
                  <option value="pending">Waiting</option>
                  <option value="human">With agent</option>
                </select>
              </label>
              <label>
                Channel
                <select name="channel" defaultValue={filters.channel}>
                  <option value="">All</option>
                  {CHANNELS.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Assignee
                <input name="assignee" placeholder="e-mail" defaultValue={filters.assignee} />
              </label>
            </form>
          </search>
          <ErrorNote error={list.error} />
          <ul className="conversation-list" aria-label="Conversations">
            {items.map((item) => (
              <li key={item.id} className={item.id === selected ? "selected" : undefined}>
                <Link to={`/conversations/${item.id}${keep}`} aria-current={item.id === selected ? "true" : undefined}>
                  <div className="row">
                    <strong className="customer">{customerName(item)}</strong>
                    <When at={item.lastActivityAt} />
                  </div>
                  <div className="row">
                    <span className="last-message">{item.lastMessage ? messagePreview(item.lastMessage) : "—"}</span>
                  </div>
                  <div className="row meta">
                    <span className={`channel channel-${item.channel}`}>{item.channel}</span>
                    <ModeBadge mode={item.mode} />
                    {item.assignee ? <span className="assignee">{item.assignee}</span> : null}
                  </div>
                </Link>
              </li>
            ))}
            {list.data && items.length === 0 ? <li className="empty">No conversations match.</li> : null}
          </ul>
          {cursor ? (
            <button type="button" onClick={() => void more()}>
              Load more
            </button>
          ) : null}
        </div>
        <div className="detail-pane">
          {selected ? (
            <Transcript key={selected} id={selected} onChanged={list.reload} />
          ) : (
            <p className="placeholder">Choose a conversation to read it.</p>
          )}
        </div>
      </div>
    </Page>
  );
}

function messagePreview(message: NonNullable<ConversationItem["lastMessage"]>): string {
  return (message.direction === "out" ? "↩ " : "") + (message.text ?? "(buttons or media)");
}

/** A message's content as one line of text. */
export function contentText(content: unknown): string {
  if (!content || typeof content !== "object") return String(content ?? "");
  const c = content as Record<string, unknown>;
  if (typeof c.text === "string") return c.text;
  if (typeof c.caption === "string") return c.caption;
  if (typeof c.name === "string" && c.type === "template") return `template ${c.name}`;
  if (c.type === "postback" && typeof c.payload === "string") return `[button] ${c.payload}`;
  return `[${typeof c.type === "string" ? c.type : "message"}]`;
}
