-- Dialogflow's per-intent action (sent to fulfillment as queryResult.action), the events that
-- trigger the intent (followupEventInput, welcome events), and whether its webhook is called while
-- its required parameters are prompted for.
ALTER TABLE "Intent" ADD COLUMN "action" TEXT NOT NULL DEFAULT '';
ALTER TABLE "Intent" ADD COLUMN "events" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "Intent" ADD COLUMN "webhookForSlotFilling" BOOLEAN NOT NULL DEFAULT false;
