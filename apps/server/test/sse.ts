// A reader of server-sent event streams for tests: each event or comment as it arrives.

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

export interface SseReader {
  response: Response;
  /** The next event or comment matching `match`, or a rejection after `timeoutMs`. */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Everything received so far. */
  readonly seen: SseEvent[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string>): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const seen: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut = buffer.indexOf("\n\n");
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) event.comment = line.slice(1).trim();
            else {
              const [field, ...rest] = line.split(":");
              (event as Record<string, string>)[field!] = rest.join(":").trimStart();
            }
          }
          seen.push(event);
          for (const wake of waiters) wake();
          cut = buffer.indexOf("\n\n");
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  let consumed = 0;
  return {
    response,
    seen,
    ended,
    close: () => abort.abort(),
    next(match = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          while (consumed < seen.length) {
            const event = seen[consumed++]!;
            if (match(event)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(event);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; seen ${JSON.stringify(seen)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
