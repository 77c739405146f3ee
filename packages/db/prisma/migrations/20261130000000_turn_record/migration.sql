-- What a turn did with an inbound message (intent, confidence, parameters, contexts, fulfillment,
-- replies, time), written with the message's status by the turn's last statement: why the bot
-- answered as it did, read through the admin API (the chat's /debug).
ALTER TABLE "Message" ADD COLUMN "turn" JSONB;
