-- CreateTable
CREATE TABLE "SentenceVector" (
    "tenantId" UUID NOT NULL,
    "encoder" TEXT NOT NULL,
    "textHash" BYTEA NOT NULL,
    "vector" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SentenceVector_pkey" PRIMARY KEY ("tenantId","encoder","textHash")
);

-- AddForeignKey
ALTER TABLE "SentenceVector" ADD CONSTRAINT "SentenceVector_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
