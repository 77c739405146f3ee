-- Scheduled and delayed messages (issue 23): rules that send later, reminders through the API and
-- fulfillment follow-ups are notifications with a due time and a graphile-worker job (its job_key
-- kept here, so cancelling removes exactly that job).
ALTER TABLE "Contact" ADD COLUMN "timezone" TEXT;

ALTER TABLE "NotificationRule" ADD COLUMN "delay" JSONB,
  ADD COLUMN "cancelOn" JSONB NOT NULL DEFAULT '[]',
  ADD COLUMN "replace" BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE "Notification" ALTER COLUMN "orderEventId" DROP NOT NULL,
  ALTER COLUMN "ruleId" DROP NOT NULL,
  ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'rule',
  ADD COLUMN "conversationId" UUID,
  ADD COLUMN "dueAt" TIMESTAMPTZ(3),
  ADD COLUMN "jobKey" TEXT,
  ADD COLUMN "subject" TEXT,
  ADD COLUMN "contactKey" TEXT,
  ADD COLUMN "content" JSONB,
  ADD COLUMN "cancelIfCustomerWrites" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "idempotencyKey" TEXT;

CREATE UNIQUE INDEX "Notification_tenantId_idempotencyKey_key" ON "Notification"("tenantId", "idempotencyKey");
CREATE INDEX "Notification_ruleId_status_idx" ON "Notification"("ruleId", "status");
CREATE INDEX "Notification_conversationId_status_idx" ON "Notification"("conversationId", "status");
