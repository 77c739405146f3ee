import { type FormEvent, useEffect, useRef, useState } from "react";
import { api, type Body, ok } from "../api/client";
import { ErrorNote, ModeBadge, When } from "../components";
import { useLoad } from "../load";
import { useCan, useSession } from "../session";
import { useStreamEvents } from "../stream";
import { contentText, customerName } from "./Conversations";
import { Why } from "./Why";

type Message = Body<"/v1/conversations/{id}/messages", "get">["data"][number];
const DAY_MS = 24 * 3600 * 1000;

/** Oldest first. A turn's replies can share a timestamp: the platform's ids, where numbers, tell their order. */
function byTime(a: Message, b: Message): number {
  const time = a.createdAt.localeCompare(b.createdAt);
  if (time !== 0) return time;
  const [x, y] = [Number(a.platformMessageId), Number(b.platformMessageId)];
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : 0;
}

export function Transcript({ id, onChanged }: { id: string; onChanged(): void }) {
  const { operator } = useSession();
  const can = useCan();
  const conversation = useLoad(() => ok(api.GET("/v1/conversations/{id}", { params: { path: { id } } })), [id]);
  const messages = useLoad(async () => {
    const page = await ok(
      api.GET("/v1/conversations/{id}/messages", { params: { path: { id }, query: { limit: 100 } } }),
    );
    return [...page.data].sort(byTime);
  }, [id]);
  useStreamEvents((event) => {
    const resync = event.type === "resync";
    if (!resync && event.conversationId !== id) return;
    if (resync || event.type === "conversation.updated") conversation.reload();
    if (resync || event.type !== "conversation.updated") messages.reload();
  });
  const [actionError, setActionError] = useState<Error>();
  const act = async (run: () => Promise<unknown>) => {
    setActionError(undefined);
    try {
      await run();
      conversation.reload();
      messages.reload();
      onChanged();
    } catch (error) {
      setActionError(error as Error);
    }
  };
  const end = useRef<HTMLDivElement>(null);
  const count = messages.data?.length ?? 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when a message arrives
  useEffect(() => {
    // Braces: scrollIntoView returns a promise in recent browsers, and an effect may return only a cleanup.
    void end.current?.scrollIntoView?.({ block: "end" });
  }, [count]);

  const c = conversation.data;
  if (conversation.error) return <ErrorNote error={conversation.error} />;
  if (!c) return <p className="loading">Loading…</p>;
  const mine = c.mode === "human" && c.assignee === operator.email;
  const path = { params: { path: { id } } };
  return (
    <article className="transcript" aria-label="Transcript">
      <header className="transcript-header">
        <div>
          <h2>{customerName(c)}</h2>
          <p className="muted">
            <span className={`channel channel-${c.channel}`}>{c.channel}</span> · started <When at={c.createdAt} />
            {c.assignee ? ` · assigned to ${c.assignee}` : ""}
          </p>
        </div>
        <div className="actions">
          <ModeBadge mode={c.mode} />
          {can.handle && !mine ? (
            <button
              type="button"
              className="primary"
              onClick={() =>
                void act(() =>
                  ok(api.POST("/v1/conversations/{id}/handoff", { ...path, body: { assignee: operator.email } })),
                )
              }
            >
              Take over
            </button>
          ) : null}
          {can.handle && c.mode !== "bot" ? (
            <button
              type="button"
              onClick={() => void act(() => ok(api.POST("/v1/conversations/{id}/handoff/end", path)))}
            >
              Hand back to bot
            </button>
          ) : null}
        </div>
      </header>
      <ErrorNote error={actionError ?? messages.error} />
      <ol className="messages" aria-label="Messages">
        {(messages.data ?? []).map((message) => (
          <MessageItem key={message.id} message={message} />
        ))}
        <div ref={end} />
      </ol>
      {can.handle && c.mode !== "bot" ? (
        <ReplyBox
          channel={c.channel}
          lastInboundAt={c.lastInboundAt}
          send={(reply) =>
            act(() =>
              ok(
                api.POST("/v1/conversations/{id}/messages", {
                  ...path,
                  body: { reply, idempotencyKey: crypto.randomUUID() },
                }),
              ),
            )
          }
        />
      ) : can.handle ? (
        <p className="hint">The bot is answering. Take over to reply yourself.</p>
      ) : null}
    </article>
  );
}

function MessageItem({ message }: { message: Message }) {
  const [open, setOpen] = useState(false);
  const inbound = message.direction === "in";
  const agent = !inbound && (message.content as { agent?: boolean } | null)?.agent;
  return (
    <li className={`message ${inbound ? "in" : "out"}`}>
      <div className="bubble">
        <p>{contentText(message.content)}</p>
        <footer>
          <When at={message.createdAt} />
          {inbound ? null : (
            <span className="muted">
              {" "}
              · {agent ? "agent" : "bot"} · {message.status}
            </span>
          )}
          {message.turn ? (
            <button
              type="button"
              className="link-button why-toggle"
              aria-expanded={open}
              onClick={() => setOpen(!open)}
            >
              {open ? "Hide why" : "Why?"}
            </button>
          ) : null}
        </footer>
      </div>
      {open && message.turn ? <Why message={message} turn={message.turn} /> : null}
    </li>
  );
}

type Reply = { type: "text"; text: string } | { type: "template"; name: string; language: string };

function ReplyBox({
  channel,
  lastInboundAt,
  send,
}: {
  channel: string;
  lastInboundAt: string | null;
  send(reply: Reply): Promise<void>;
}) {
  const [text, setText] = useState("");
  // WhatsApp takes only a template more than 24 hours after the customer's last message.
  const templatesOnly =
    channel === "whatsapp" && (!lastInboundAt || Date.now() - new Date(lastInboundAt).getTime() > DAY_MS);
  const templates = useLoad(async () => {
    if (!templatesOnly) return [];
    const rules = await ok(api.GET("/v1/notification-rules", { params: { query: { limit: 100 } } }));
    const seen = new Map<string, { name: string; language: string }>();
    for (const rule of rules.data)
      if (rule.template.whatsapp)
        seen.set(`${rule.template.whatsapp.template}/${rule.template.whatsapp.language}`, {
          name: rule.template.whatsapp.template,
          language: rule.template.whatsapp.language,
        });
    return [...seen.values()];
  }, [templatesOnly]);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (templatesOnly) {
      const picked = String(new FormData(event.currentTarget).get("template") ?? "");
      const [name, language] = picked.split("/");
      if (name && language) await send({ type: "template", name, language });
      return;
    }
    if (!text.trim()) return;
    await send({ type: "text", text });
    setText("");
  };
  return (
    <form className="reply-box" onSubmit={submit}>
      {templatesOnly ? (
        <>
          <p className="hint">More than 24 hours since the customer wrote: WhatsApp accepts only a template.</p>
          <label>
            Template
            <select name="template" required>
              {(templates.data ?? []).map((t) => (
                <option key={`${t.name}/${t.language}`} value={`${t.name}/${t.language}`}>
                  {t.name} ({t.language})
                </option>
              ))}
            </select>
          </label>
        </>
      ) : (
        <label className="grow">
          <span className="sr-only">Reply</span>
          <textarea
            name="reply"
            aria-label="Reply"
            placeholder="Write a reply…"
            rows={2}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
        </label>
      )}
      <button type="submit" className="primary">
        Send
      </button>
    </form>
  );
}
