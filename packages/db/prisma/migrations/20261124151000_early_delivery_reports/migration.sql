-- CreateTable
CREATE TABLE "DeliveryReport" (
    "id" UUID NOT NULL,
    "channelAccountId" UUID NOT NULL,
    "platformMessageId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "error" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeliveryReport_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DeliveryReport_channelAccountId_platformMessageId_idx" ON "DeliveryReport"("channelAccountId", "platformMessageId");

