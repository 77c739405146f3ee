-- CreateTable
CREATE TABLE "NluEvaluation" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "revision" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "report" JSONB,
    "error" TEXT,
    "durationMs" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NluEvaluation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "NluEvaluation_tenantId_fingerprint_key" ON "NluEvaluation"("tenantId", "fingerprint");

-- CreateIndex
CREATE INDEX "NluEvaluation_tenantId_createdAt_idx" ON "NluEvaluation"("tenantId", "createdAt");

-- AddForeignKey
ALTER TABLE "NluEvaluation" ADD CONSTRAINT "NluEvaluation_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
