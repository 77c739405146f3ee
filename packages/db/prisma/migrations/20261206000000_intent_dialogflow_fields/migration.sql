-- What Dialogflow ES agents say about an intent beside its phrases and responses.
ALTER TABLE "Intent"
  ADD COLUMN "events" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  ADD COLUMN "action" TEXT,
  ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 500000,
  ADD COLUMN "resetContexts" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "webhookForSlotFilling" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "endInteraction" BOOLEAN NOT NULL DEFAULT false;
