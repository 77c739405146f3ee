-- CreateTable
CREATE TABLE "InboundBatch" (
    "id" BIGSERIAL NOT NULL,
    "events" JSON NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "error" TEXT,

    CONSTRAINT "InboundBatch_pkey" PRIMARY KEY ("id")
);
