import { EventSourceParserStream, type EventSourceMessage } from "eventsource-parser/stream";

/**
 * A stream's server-sent events, parsed by eventsource-parser. Read with fetch rather than
 * EventSource because the credential goes in a header (EventSource sends none, and a URL would
 * put it in logs), and because reconnection must wait and resume as the widget decides.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  // DOM's and Node's stream typings disagree on TextDecoderStream's input type; it takes bytes.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const reader = body.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
