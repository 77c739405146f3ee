-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "nluSettings" JSONB NOT NULL DEFAULT '{}';

