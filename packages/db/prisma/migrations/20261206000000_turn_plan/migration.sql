-- What a turn decided for an inbound message before sending anything (its record, the dialog state
-- to keep, its events), written in one transaction with the turn's outbound rows: a retried job
-- sends what is still pending of that plan instead of understanding and fulfilling again.
ALTER TABLE "Message" ADD COLUMN "plan" JSONB;
