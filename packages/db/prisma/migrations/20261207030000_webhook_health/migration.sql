-- Webhook health: what each attempt sent and got back, its error class, and the stored
-- degraded/healthy state of each endpoint and subscription (webhook-health job).
ALTER TABLE "Tenant" ADD COLUMN "healthSettings" JSONB NOT NULL DEFAULT '{}';

ALTER TABLE "FulfillmentEndpoint" ADD COLUMN "degradedSince" TIMESTAMPTZ(3);
ALTER TABLE "EventSubscription" ADD COLUMN "degradedSince" TIMESTAMPTZ(3);

ALTER TABLE "FulfillmentCall"
  ADD COLUMN "errorClass" TEXT,
  ADD COLUMN "requestBody" TEXT,
  ADD COLUMN "requestHeaders" JSONB,
  ADD COLUMN "responseBody" TEXT,
  ADD COLUMN "replayOf" UUID;
CREATE INDEX "FulfillmentCall_endpointId_createdAt_idx" ON "FulfillmentCall"("endpointId", "createdAt");

-- Calls recorded before: the class read from the stored status and message (call.ts, egress).
UPDATE "FulfillmentCall" SET "errorClass" = CASE
  WHEN "httpStatus" BETWEEN 400 AND 499 THEN 'http_4xx'
  WHEN "httpStatus" BETWEEN 500 AND 599 THEN 'http_5xx'
  WHEN error LIKE 'circuit open%' THEN 'circuit_open'
  WHEN error LIKE 'no complete answer%' THEN 'timeout'
  WHEN error LIKE 'connection%' OR error LIKE 'refused%' OR error LIKE 'not a valid URL%' OR error LIKE '% is not allowed%' THEN 'connection'
  ELSE 'invalid_response' END
WHERE NOT ok;

ALTER TABLE "DeliveryAttempt"
  ADD COLUMN "subscriptionId" UUID,
  ADD COLUMN "errorClass" TEXT,
  ADD COLUMN "requestBody" TEXT,
  ADD COLUMN "requestHeaders" JSONB;
UPDATE "DeliveryAttempt" a SET "subscriptionId" = d."subscriptionId" FROM "EventDelivery" d WHERE d.id = a."deliveryId";
UPDATE "DeliveryAttempt" SET "errorClass" = CASE
  WHEN "httpStatus" BETWEEN 400 AND 499 THEN 'http_4xx'
  WHEN "httpStatus" BETWEEN 500 AND 599 THEN 'http_5xx'
  WHEN error LIKE 'timeout:%' THEN 'timeout'
  WHEN error LIKE 'connect_failed:%' OR error LIKE 'blocked:%' OR error LIKE 'invalid_url:%' THEN 'connection'
  ELSE 'invalid_response' END
WHERE error IS NOT NULL;
ALTER TABLE "DeliveryAttempt" ALTER COLUMN "subscriptionId" SET NOT NULL;
ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "DeliveryAttempt_subscriptionId_fkey"
  FOREIGN KEY ("subscriptionId") REFERENCES "EventSubscription"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "DeliveryAttempt_subscriptionId_at_idx" ON "DeliveryAttempt"("subscriptionId", "at");
