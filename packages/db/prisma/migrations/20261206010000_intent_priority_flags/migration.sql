-- What else Dialogflow ES agents say about an intent (its action, events and slot-filling webhook came before).
ALTER TABLE "Intent"
  ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 500000,
  ADD COLUMN "resetContexts" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "endInteraction" BOOLEAN NOT NULL DEFAULT false;
