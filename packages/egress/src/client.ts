import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, errors, request } from "undici";
import { hostAllowed, refusal, type EgressPolicy } from "./policy.ts";

export type EgressErrorCode = "blocked" | "timeout" | "too_large" | "connect_failed" | "invalid_url";

/**
 * A failed outgoing call; `message` names the cause and never a credential. A refusal's message
 * says only that the address is not public, since it reaches tenants (delivery logs, events) and
 * what an internal name resolves to would make it a DNS oracle: `detail` says which, for operators.
 */
export class EgressError extends Error {
  constructor(
    readonly code: EgressErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = "EgressError";
  }
}

export interface EgressRequest {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
  /** Whole call: connect, send, and read the response. */
  timeoutMs?: number;
  /** Largest response body read; larger ones fail with too_large. */
  maxBytes?: number;
}

export interface EgressResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  latencyMs: number;
}

export interface Egress {
  request(url: string, options?: EgressRequest): Promise<EgressResponse>;
  close(): Promise<void>;
}

/**
 * The SSRF guard sits in the socket's DNS lookup: every address a host name resolves to is vetted,
 * and the connection goes to the vetted address itself, so a second, different DNS answer (DNS
 * rebinding) can never slip in between check and connect.
 */
function guardedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as LookupAddress[];
      const allowedByName = hostAllowed(hostname, policy);
      const ok = list.filter((a) => allowedByName || refusal(a.address, policy) === null);
      if (!ok.length) {
        // Every address was refused (a lookup that succeeds has at least one): the first says why.
        const reason = refusal(list[0]!.address, policy);
        return callback(
          Object.assign(new Error(NOT_PUBLIC), { code: "EGRESS_BLOCKED", detail: `${hostname} resolves to ${reason}` }),
          "",
          0,
        );
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
}

const NOT_PUBLIC = "refused: not a public address";

export function createEgress(
  policy: EgressPolicy,
  options: { connectTimeoutMs?: number; onBlocked?: (detail: string) => void } = {},
): Egress {
  const blocked = (detail: string) => {
    options.onBlocked?.(detail);
    return new EgressError("blocked", NOT_PUBLIC, detail);
  };
  const agent = new Agent({
    connect: { lookup: guardedLookup(policy), timeout: options.connectTimeoutMs ?? 3000 },
    // Redirects are never followed (undici's default): a 3xx is returned as it is.
  });

  return {
    async request(url, req = {}) {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        throw new EgressError("invalid_url", "not a valid URL");
      }
      if (target.protocol !== "https:" && !(target.protocol === "http:" && policy.allowHttp)) {
        throw new EgressError("blocked", `${target.protocol.replace(":", "")} is not allowed; use https`);
      }
      const host = target.hostname.replace(/^\[|\]$/g, "");
      // An IP literal skips DNS, so the lookup guard never sees it: vet it here.
      if (ipaddr.isValid(host)) {
        const reason = refusal(host, policy);
        if (reason) throw blocked(reason);
      }
      const started = performance.now();
      const timeoutMs = Math.max(1, Math.round(req.timeoutMs ?? 10_000));
      const signal = AbortSignal.timeout(timeoutMs);
      const maxBytes = req.maxBytes ?? 1024 * 1024;
      try {
        const response = await request(target, {
          dispatcher: agent,
          method: req.method ?? "GET",
          headers: req.headers ?? {},
          ...(req.body !== undefined ? { body: req.body } : {}),
          signal,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of response.body) {
          size += chunk.length;
          // Throwing out of the loop destroys the body, and its connection with it.
          if (size > maxBytes) throw new EgressError("too_large", `response larger than ${maxBytes} bytes`);
          chunks.push(chunk as Buffer);
        }
        return {
          status: response.statusCode,
          headers: response.headers,
          body: Buffer.concat(chunks),
          latencyMs: performance.now() - started,
        };
      } catch (err) {
        if (err instanceof EgressError) throw err;
        // undici rejects with the socket's own error (the guarded lookup's refusal included), not a wrapper.
        const failure = err as { code?: string; message: string; detail?: string };
        if (failure.code === "EGRESS_BLOCKED") throw blocked(failure.detail ?? "refused");
        if (signal.aborted || err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
          throw new EgressError("timeout", `no complete answer within ${timeoutMs} ms`);
        }
        if (err instanceof errors.ConnectTimeoutError) throw new EgressError("connect_failed", "connection timed out");
        throw new EgressError("connect_failed", `connection failed: ${failure.code ?? failure.message}`);
      }
    },
    close: () => agent.close(),
  };
}
