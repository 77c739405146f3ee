-- The events of one subject notify one at a time, in the order they were stored ("position"); an
-- event whose notifying failed waits until "retryAt" (the subject's later events behind it), and
-- after its last attempt is given up on; "notifiedAt" marks it done.
ALTER TABLE "OrderEvent" ADD COLUMN "position" BIGSERIAL NOT NULL,
  ADD COLUMN "notifiedAt" TIMESTAMPTZ(3),
  ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "retryAt" TIMESTAMPTZ(3),
  ADD COLUMN "error" TEXT;

-- Events stored before are done, except those whose notify job still waits.
UPDATE "OrderEvent" SET "notifiedAt" = "receivedAt";
DO $$
BEGIN
  IF to_regclass('graphile_worker._private_jobs') IS NOT NULL THEN
    UPDATE "OrderEvent" e SET "notifiedAt" = NULL
    WHERE EXISTS (SELECT 1 FROM graphile_worker._private_jobs j WHERE j.payload->>'orderEventId' = e.id::text);
  END IF;
END $$;

-- The next event of a subject to notify (not in schema.prisma: Prisma has no partial indexes).
CREATE INDEX "OrderEvent_waiting_idx" ON "OrderEvent" ("tenantId", subject, position) WHERE current AND "notifiedAt" IS NULL;
