import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { userHash } from "@cb/channel-webchat";

export interface ShopPage {
  url: string;
  close(): Promise<void>;
}

// The shop's product picture, for cards its agents send (drawn here: no image to license).
const SHOE = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120"><rect width="240" height="120" fill="#e0f2fe"/><path d="M30 80 Q60 40 110 50 L150 70 Q200 75 210 95 L30 95 Z" fill="#2563eb"/></svg>`;

const html = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * The demo shop's own website, on an origin of its own, embedding the web chat as a business does:
 * one script tag. At /signed-in it is the shop's server that knows its user (ada@example.com) and
 * signs her id with the account's identity secret, which never reaches the browser.
 */
export async function startShopPage(options: {
  port: number;
  serverUrl: string;
  accountId: string;
  identitySecret: string;
}): Promise<ShopPage> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://shop").pathname;
    if (path === "/shoe.svg") {
      response.writeHead(200, { "content-type": "image/svg+xml" }).end(SHOE);
      return;
    }
    if (path !== "/" && path !== "/signed-in") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const user = path === "/signed-in" ? "ada@example.com" : undefined;
    const identity = user
      ? ` data-user-id="${html(user)}" data-user-hash="${userHash(options.identitySecret, user)}"`
      : "";
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demo Shop</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Demo Shop</h1>
<p>${user ? `Signed in as ${html(user)} (the chat knows who you are).` : 'A visitor (<a href="/signed-in">sign in as Ada</a>).'}
Ask the assistant in the corner: <em>where is my order 12345</em>, <em>return an item</em>, <em>talk to support</em>.</p>
<script src="${html(options.serverUrl)}/webhooks/webchat/widget.js" data-account="${html(options.accountId)}" data-title="Demo Shop"${identity} async></script>
</body></html>`);
  });
  server.listen(options.port, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
