-- The operator console: the conversation list (last activity, last message, the customer as the
-- platform named them, searchable) and live updates through LISTEN/NOTIFY. Triggers do both, so
-- no writer (the ingestor's batched SQL, the worker's replies, an agent's reply, plain SQL) can
-- forget to.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE "Conversation"
  ADD COLUMN "lastActivityAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  ADD COLUMN "lastMessageId" UUID,
  ADD COLUMN "customerName" TEXT,
  ADD COLUMN "customerUsername" TEXT,
  ADD COLUMN "customerExternalId" TEXT;

UPDATE "Conversation" c SET
  "lastActivityAt" = l."createdAt",
  "lastMessageId" = l.id
FROM (
  SELECT DISTINCT ON ("conversationId") "conversationId", id, "createdAt"
  FROM "Message" ORDER BY "conversationId", "createdAt" DESC, id DESC
) l
WHERE l."conversationId" = c.id;

UPDATE "Conversation" c SET
  "customerName" = s.sender->>'name',
  "customerUsername" = s.sender->>'username',
  "customerExternalId" = s.sender->>'externalId'
FROM (
  SELECT DISTINCT ON ("conversationId") "conversationId", content->'sender' AS sender
  FROM "Message" WHERE direction = 'in' ORDER BY "conversationId", "createdAt" DESC, id DESC
) s
WHERE s."conversationId" = c.id;

UPDATE "Conversation" SET "lastActivityAt" = "createdAt" WHERE "lastMessageId" IS NULL;

-- The list, newest activity first, keyset-paginated on (lastActivityAt, id).
CREATE INDEX "Conversation_tenantId_lastActivityAt_id_idx" ON "Conversation"("tenantId", "lastActivityAt" DESC, id DESC);
-- Search (ILIKE '%q%'): the customer's name, username and ids; and every message's text.
CREATE INDEX "Conversation_customer_trgm_idx" ON "Conversation" USING gin (
  (COALESCE("customerName", '') || ' ' || COALESCE("customerUsername", '') || ' ' || COALESCE("customerExternalId", '') || ' ' || "externalId") gin_trgm_ops
);
CREATE INDEX "Message_text_trgm_idx" ON "Message" USING gin ((content->>'text') gin_trgm_ops);

-- New messages: one statement's rows at once (the ingestor stores hundreds per statement), moving
-- each conversation's last activity and customer once, and one notification per message.
CREATE FUNCTION "live_messages_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH latest AS (
    SELECT DISTINCT ON ("conversationId") "conversationId", id, "createdAt"
    FROM new_rows ORDER BY "conversationId", "createdAt" DESC, id DESC
  ), senders AS (
    SELECT DISTINCT ON ("conversationId") "conversationId", content->'sender' AS sender
    FROM new_rows WHERE direction = 'in' ORDER BY "conversationId", "createdAt" DESC, id DESC
  )
  UPDATE "Conversation" c SET
    "lastActivityAt" = CASE WHEN c."lastMessageId" IS NULL OR c."lastActivityAt" <= l."createdAt" THEN l."createdAt" ELSE c."lastActivityAt" END,
    "lastMessageId" = CASE WHEN c."lastMessageId" IS NULL OR c."lastActivityAt" <= l."createdAt" THEN l.id ELSE c."lastMessageId" END,
    "customerName" = COALESCE(s.sender->>'name', c."customerName"),
    "customerUsername" = COALESCE(s.sender->>'username', c."customerUsername"),
    "customerExternalId" = COALESCE(s.sender->>'externalId', c."customerExternalId")
  FROM latest l LEFT JOIN senders s USING ("conversationId")
  WHERE c.id = l."conversationId";
  -- Ids only: no text, no names (NOTIFY payloads are visible to every session of the database).
  PERFORM pg_notify('cb_live', json_build_object(
    'tenantId', "tenantId", 'type', 'message.created', 'conversationId', "conversationId",
    'messageId', id, 'direction', direction, 'status', status)::text)
  FROM (SELECT * FROM new_rows ORDER BY arrival NULLS LAST, "createdAt", id) ordered;
  RETURN NULL;
END
$$;

CREATE TRIGGER "Message_live_inserted" AFTER INSERT ON "Message"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "live_messages_inserted"();

-- A message's status moved (received → processed, pending → sent → delivered → read, failed).
CREATE FUNCTION "live_message_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cb_live', json_build_object(
    'tenantId', NEW."tenantId", 'type', 'message.updated', 'conversationId', NEW."conversationId",
    'messageId', NEW.id, 'direction', NEW.direction, 'status', NEW.status)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "Message_live_updated" AFTER UPDATE OF status ON "Message"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "live_message_updated"();

-- A conversation changed hands (bot, pending, human) or assignee. Its last activity moving is
-- already told by message.created.
CREATE FUNCTION "live_conversation_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cb_live', json_build_object(
    'tenantId', NEW."tenantId", 'type', 'conversation.updated', 'conversationId', NEW.id,
    'mode', NEW.mode)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "Conversation_live_updated" AFTER UPDATE OF mode, assignee ON "Conversation"
  FOR EACH ROW WHEN (OLD.mode IS DISTINCT FROM NEW.mode OR OLD.assignee IS DISTINCT FROM NEW.assignee)
  EXECUTE FUNCTION "live_conversation_updated"();
