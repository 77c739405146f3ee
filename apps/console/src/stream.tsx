// The live stream of the operator's tenant (GET /v1/stream, server-sent events): one EventSource for
// the whole console; pages subscribe to the events they show.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";

// resync: events may have been missed (a reconnect): whatever is shown is fetched again.
export type StreamEventType = "message.created" | "message.updated" | "conversation.updated" | "resync";
export const STREAM_EVENTS: StreamEventType[] = [
  "message.created",
  "message.updated",
  "conversation.updated",
  "resync",
];
export interface StreamEvent {
  type: StreamEventType;
  conversationId?: string;
  messageId?: string;
}
type Listener = (event: StreamEvent) => void;

interface Stream {
  connected: boolean;
  listen(listener: Listener): () => void;
}
const StreamContext = createContext<Stream>({ connected: false, listen: () => () => {} });

export function StreamProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource("/v1/stream", { withCredentials: true });
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(source.readyState === EventSource.OPEN);
    for (const type of STREAM_EVENTS)
      source.addEventListener(type, (message) => {
        const data = JSON.parse((message as MessageEvent<string>).data) as Omit<StreamEvent, "type">;
        for (const listener of listeners.current) listener({ ...data, type });
      });
    return () => source.close();
  }, []);
  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ connected, listen }), [connected, listen]);
  return <StreamContext.Provider value={value}>{children}</StreamContext.Provider>;
}

/** Calls `onEvent` for every live event while the component is shown. */
export function useStreamEvents(onEvent: Listener): boolean {
  const { connected, listen } = useContext(StreamContext);
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => listen((event) => latest.current(event)), [listen]);
  return connected;
}

export function useStreamConnected(): boolean {
  return useContext(StreamContext).connected;
}
