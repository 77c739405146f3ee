-- AlterTable
ALTER TABLE "Intent" ADD COLUMN     "inputContexts" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "outputContexts" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "EntityType" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "entries" JSONB NOT NULL DEFAULT '[]',
    "pattern" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "EntityType_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NluModel" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "definition" JSONB NOT NULL,
    "weights" BYTEA NOT NULL,
    "trainedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NluModel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "EntityType_tenantId_name_key" ON "EntityType"("tenantId", "name");

-- CreateIndex
CREATE INDEX "NluModel_tenantId_fingerprint_idx" ON "NluModel"("tenantId", "fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "NluModel_tenantId_version_key" ON "NluModel"("tenantId", "version");

-- AddForeignKey
ALTER TABLE "EntityType" ADD CONSTRAINT "EntityType_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NluModel" ADD CONSTRAINT "NluModel_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

