-- A conversation's inbound messages are answered in the order they were stored (`arrival`: a
-- number per write, times 2^20, plus the message's place in that write), one at a time; a message
-- whose turn failed waits until "retryAt", and after its last attempt is marked failed.
CREATE SEQUENCE "Message_arrival_seq";

ALTER TABLE "Message" ADD COLUMN "arrival" BIGINT,
  ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "retryAt" TIMESTAMPTZ(3);

-- Messages still waiting for their turn keep their order of storage.
UPDATE "Message" m SET "arrival" = o.rn * 1048576
FROM (SELECT id, row_number() OVER (ORDER BY "createdAt", id) AS rn FROM "Message" WHERE direction = 'in' AND status = 'received') o
WHERE m.id = o.id;
SELECT setval('"Message_arrival_seq"', (SELECT count(*) + 1 FROM "Message" WHERE direction = 'in' AND status = 'received'));

-- The next message of a conversation to answer (not in schema.prisma: Prisma has no partial indexes).
CREATE INDEX "Message_waiting_idx" ON "Message" ("conversationId", "arrival") WHERE direction = 'in' AND status = 'received';
