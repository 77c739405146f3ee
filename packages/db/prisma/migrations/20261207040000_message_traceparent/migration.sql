-- Inbound: the W3C traceparent of the webhook that brought the message, so its turn joins that trace.
ALTER TABLE "Message" ADD COLUMN "traceparent" TEXT;
