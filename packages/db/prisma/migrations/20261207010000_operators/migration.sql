-- Operators: people of a tenant who sign in to the console, and their sessions.
CREATE TABLE "Operator" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" TEXT NOT NULL,
    "passwordHash" TEXT,
    "invitationHash" TEXT,
    "invitationExpiresAt" TIMESTAMPTZ(3),
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastLoginAt" TIMESTAMPTZ(3),

    CONSTRAINT "Operator_pkey" PRIMARY KEY ("id"),
    -- Unique whatever the case: the code stores e-mails lower-cased, the database holds it to that.
    CONSTRAINT "Operator_email_lower" CHECK ("email" = lower("email")),
    CONSTRAINT "Operator_role" CHECK ("role" IN ('admin', 'agent', 'viewer'))
);

CREATE UNIQUE INDEX "Operator_email_key" ON "Operator"("email");
CREATE UNIQUE INDEX "Operator_invitationHash_key" ON "Operator"("invitationHash");
CREATE INDEX "Operator_tenantId_createdAt_id_idx" ON "Operator"("tenantId", "createdAt", "id");

ALTER TABLE "Operator" ADD CONSTRAINT "Operator_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "OperatorSession" (
    "id" TEXT NOT NULL,
    "operatorId" UUID NOT NULL,
    "csrfToken" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "absoluteExpiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "OperatorSession_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "OperatorSession_operatorId_idx" ON "OperatorSession"("operatorId");
CREATE INDEX "OperatorSession_expiresAt_idx" ON "OperatorSession"("expiresAt");

ALTER TABLE "OperatorSession" ADD CONSTRAINT "OperatorSession_operatorId_fkey" FOREIGN KEY ("operatorId") REFERENCES "Operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;
