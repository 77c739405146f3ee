// The web chat widget: what one <script> tag puts on a business's page. Plain DOM in a shadow root
// (the page's styles cannot reach in, ours cannot leak out), no framework. Every text is set with
// textContent and every link checked to be http(s): nothing a bot or a visitor wrote becomes markup.
import type { Button, Card, QuickReply } from "@cb/core";
import type { WidgetMessage } from "../history.ts";
import type { WidgetContent } from "../render.ts";
import { readEvents } from "./sse.ts";
import { STYLE } from "./style.ts";

const script = document.currentScript as HTMLScriptElement | null;
const data = script?.dataset ?? {};
const account = data.account;
if (script && account) start(script, account);

function start(script: HTMLScriptElement, accountId: string) {
  const base = `${new URL(script.src).origin}/webhooks/webchat/${encodeURIComponent(accountId)}`;
  const credential =
    data.userId && data.userHash ? `u.${base64url(data.userId)}.${data.userHash}` : `v.${visitorToken()}`;
  const headers = { authorization: `Bearer ${credential}` };

  const host = document.createElement("div");
  host.setAttribute("data-cb-webchat", "");
  const root = host.attachShadow({ mode: "open" });
  root.append(el("style", {}, STYLE));
  const launcher = el("button", { class: "launcher", "aria-label": "Chat with us" }, "💬");
  const panel = el("section", { class: "panel", role: "dialog", "aria-label": data.title ?? "Chat", hidden: "" });
  const close = el("button", { class: "close", "aria-label": "Close" }, "×");
  const log = el("div", { class: "log", role: "log", "aria-live": "polite" });
  const typing = el("div", { class: "typing", hidden: "", "aria-label": "typing" }, el("i"), el("i"), el("i"));
  const notice = el("div", { class: "notice", hidden: "" });
  const input = el("input", {
    class: "input",
    maxlength: "2000",
    placeholder: "Write a message…",
    "aria-label": "Message",
  });
  const form = el("form", { class: "compose" }, input, el("button", { class: "send", type: "submit" }, "Send"));
  panel.append(el("header", {}, el("span", {}, data.title ?? "Chat"), close), log, typing, notice, form);
  root.append(panel, launcher);
  document.body.append(host);

  const shown = new Map<string, HTMLElement>();
  let streaming = false;
  const toggle = (open: boolean) => {
    panel.hidden = !open;
    launcher.hidden = open;
    if (open && !streaming) {
      streaming = true;
      void listen();
    }
    if (open) input.focus();
  };
  launcher.onclick = () => toggle(true);
  close.onclick = () => toggle(false);
  if (data.open === "true") toggle(true);

  form.onsubmit = (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    void send({ text }, text);
  };

  /** Posts a message, shown at once as pending; its echo from the stream confirms it. */
  async function send(body: { text: string } | { postback: { payload: string; title: string } }, label: string) {
    const clientId = randomId();
    const bubble = append("visitor", [{ type: "text", text: label }]);
    bubble.classList.add("pending");
    shown.set(`c:${clientId}`, bubble);
    notice.hidden = true;
    try {
      const response = await fetch(`${base}/messages`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ clientId, ...body }),
      });
      if (response.ok) return;
      const { error } = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
      fail(bubble, error?.message ?? `not sent (${response.status})`);
    } catch {
      fail(bubble, "not sent: no connection");
    }
  }

  function fail(bubble: HTMLElement, message: string) {
    bubble.classList.replace("pending", "failed");
    notice.textContent = message;
    notice.hidden = false;
  }

  /** The stream, for as long as the page is open: reconnects after any failure, resuming after the last event. */
  async function listen() {
    let lastEventId = "";
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        const response = await fetch(`${base}/stream`, {
          headers: { ...headers, ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
          cache: "no-store",
        });
        if (response.status === 401 || response.status === 404) {
          notice.textContent = "This chat is not available.";
          notice.hidden = false;
          return;
        }
        if (!response.ok || !response.body) throw new Error(String(response.status));
        panel.classList.remove("offline");
        delay = 500;
        for await (const event of readEvents(response.body)) {
          if (event.event === "message") {
            receive(JSON.parse(event.data) as WidgetMessage);
            if (event.id && Number(event.id) > Number(lastEventId || 0)) lastEventId = event.id;
          } else if (event.event === "typing") {
            typing.hidden = !(JSON.parse(event.data) as { on: boolean }).on;
            scroll();
          }
        }
      } catch {
        // The server restarted, the network dropped: try again after the delay.
      }
      panel.classList.add("offline");
      typing.hidden = true;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  function receive(message: WidgetMessage) {
    if (shown.has(message.id)) return;
    const pending = message.clientId ? shown.get(`c:${message.clientId}`) : undefined;
    if (pending) {
      pending.classList.remove("pending");
      shown.set(message.id, pending);
      return;
    }
    shown.set(message.id, append(message.from, message.content));
  }

  function append(from: WidgetMessage["from"], content: WidgetContent[]): HTMLElement {
    // Quick replies answer the latest message only.
    for (const old of log.querySelectorAll(".quick")) old.remove();
    const item = el("div", { class: `msg ${from}` }, ...content.map(part));
    log.append(item);
    scroll();
    return item;
  }

  function part(content: WidgetContent): HTMLElement {
    switch (content.type) {
      case "text":
        return el("div", {}, el("p", { class: "bubble" }, content.text), quick(content.quickReplies));
      case "buttons":
        return el("div", {}, el("p", { class: "bubble" }, content.text), buttons(content.buttons));
      case "cards":
        return el("div", { class: "cards" }, ...content.cards.map(card));
      case "image":
        return el(
          "figure",
          { class: "image" },
          image(content.url),
          content.caption ? el("figcaption", {}, content.caption) : "",
        );
    }
  }

  function quick(replies: QuickReply[] | undefined): HTMLElement | string {
    if (!replies?.length) return "";
    const row = el("div", { class: "quick" });
    for (const reply of replies) {
      const chip = el("button", { class: "chip" }, reply.title);
      chip.onclick = () => {
        row.remove();
        void send({ postback: { payload: reply.payload, title: reply.title } }, reply.title);
      };
      row.append(chip);
    }
    return row;
  }

  function buttons(list: Button[] | undefined): HTMLElement | string {
    if (!list?.length) return "";
    return el(
      "div",
      { class: "buttons" },
      ...list.map((b) => {
        if (b.type === "url")
          return web(b.url)
            ? el("a", { class: "button", href: b.url, target: "_blank", rel: "noopener noreferrer" }, b.title)
            : "";
        const button = el("button", { class: "button" }, b.title);
        button.onclick = () => void send({ postback: { payload: b.payload, title: b.title } }, b.title);
        return button;
      }),
    );
  }

  function card(c: Card): HTMLElement {
    return el(
      "div",
      { class: "card" },
      c.imageUrl ? image(c.imageUrl) : "",
      el("strong", {}, c.title),
      c.subtitle ? el("span", {}, c.subtitle) : "",
      buttons(c.buttons),
    );
  }

  const image = (url: string) => (web(url) ? el("img", { src: url, alt: "", loading: "lazy" }) : "");
  const scroll = () => {
    log.scrollTop = log.scrollHeight;
  };
}

/** The anonymous visitor's key to their conversation, kept in this site's storage. */
function visitorToken(): string {
  const key = `cb-webchat:${data.account}`;
  try {
    const kept = localStorage.getItem(key);
    if (kept && /^[A-Za-z0-9_-]{22,64}$/.test(kept)) return kept;
    const token = randomId(24);
    localStorage.setItem(key, token);
    return token;
  } catch {
    // Storage refused (private mode, blocked cookies): a conversation for this page view only.
    return randomId(24);
  }
}

function randomId(bytes = 12): string {
  return base64url(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))), true);
}

function base64url(text: string, binary = false): string {
  const raw = binary ? text : String.fromCharCode(...new TextEncoder().encode(text));
  return btoa(raw).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function web(url: string): boolean {
  try {
    return ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}
