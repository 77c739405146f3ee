-- Human handoff: a conversation is answered by the bot, waits for an agent (pending), or is with
-- one (human). handoffId names the current handoff (its events, its one waiting notice, its idle
-- job); handoffActivityAt is the last thing said in it, from which the idle return is counted.
ALTER TABLE "Conversation"
  ADD COLUMN "mode" TEXT NOT NULL DEFAULT 'bot',
  ADD COLUMN "assignee" TEXT,
  ADD COLUMN "handoffId" UUID,
  ADD COLUMN "handoffReason" TEXT,
  ADD COLUMN "handoffAt" TIMESTAMPTZ(3),
  ADD COLUMN "handoffActivityAt" TIMESTAMPTZ(3),
  ADD COLUMN "fallbackStreak" INTEGER NOT NULL DEFAULT 0;
CREATE INDEX "Conversation_tenantId_mode_idx" ON "Conversation"("tenantId", "mode");

-- An intent that hands the conversation to an agent when it matches.
ALTER TABLE "Intent" ADD COLUMN "handoff" BOOLEAN NOT NULL DEFAULT false;

-- { waitingMessage?, fallbackLimit?, idleMinutes? }
ALTER TABLE "Tenant" ADD COLUMN "handoffSettings" JSONB NOT NULL DEFAULT '{}';
