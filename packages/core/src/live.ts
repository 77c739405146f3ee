/** What the database's triggers tell of a tenant's conversations (LISTEN/NOTIFY): ids and states, never text. */
export type LiveEvent =
  | {
      type: "message.created" | "message.updated";
      tenantId: string;
      conversationId: string;
      messageId: string;
      direction: "in" | "out";
      status: string;
    }
  | { type: "conversation.updated"; tenantId: string; conversationId: string; mode: string };

/** What a listener is told: an event, or that events may have been missed (the listener reconnected). */
export type LiveSignal = { event: LiveEvent } | { resync: true };

/** Every process's live events, per tenant (the web role's hub in @cb/admin-api). */
export interface LiveUpdates {
  /** Listens for one tenant's events until the returned function is called. */
  subscribe(tenantId: string, listener: (signal: LiveSignal) => void): () => void;
  /** How often open streams send a keep-alive comment. */
  readonly pingMs: number;
}
