-- Scheduled notifications wait in "Notification" until they are near: graphile-worker's fetch of due
-- jobs scans past future jobs of the same priority (its index is (priority, run_at)), so a million
-- future jobs slowed every worker's poll from 0.03 ms to over 100 ms. A minutely job hands those due
-- within the next two minutes over to graphile-worker, found through this partial index.
ALTER TABLE "Notification" ADD COLUMN "enqueuedAt" TIMESTAMPTZ(3);

-- Those scheduled so far already have their jobs.
UPDATE "Notification" SET "enqueuedAt" = "createdAt" WHERE status = 'scheduled';

CREATE INDEX "Notification_waiting_dueAt_idx" ON "Notification" ("dueAt") WHERE status = 'scheduled' AND "enqueuedAt" IS NULL;
