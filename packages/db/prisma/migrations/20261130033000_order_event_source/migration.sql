-- CloudEvents identifies an event by source + id: two systems may use the same id. Rows stored
-- before this carry "webhook" (their source was not kept).
ALTER TABLE "OrderEvent" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'webhook';
DROP INDEX "OrderEvent_tenantId_eventId_key";
CREATE UNIQUE INDEX "OrderEvent_tenantId_source_eventId_key" ON "OrderEvent"("tenantId", "source", "eventId");
