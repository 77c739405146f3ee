-- A tenant's NLU model is keyed by its training revision and language: checking that a cached
-- model is current reads one row, however many intents the tenant has (the fingerprint before
-- this read every intent and entity type on every message). Triggers keep the revision, so no
-- writer (admin API, agent import, plain SQL) can forget to move it.
ALTER TABLE "Tenant" ADD COLUMN "trainingRevision" BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION "training_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- OLD is null for an insert and NEW for a delete; an update may even move a row between tenants.
  UPDATE "Tenant" SET "trainingRevision" = "trainingRevision" + 1 WHERE id IN (OLD."tenantId", NEW."tenantId");
  RETURN NULL;
END
$$;

CREATE TRIGGER "Intent_training_changed" AFTER INSERT OR UPDATE OR DELETE ON "Intent"
  FOR EACH ROW EXECUTE FUNCTION "training_changed"();

CREATE TRIGGER "EntityType_training_changed" AFTER INSERT OR UPDATE OR DELETE ON "EntityType"
  FOR EACH ROW EXECUTE FUNCTION "training_changed"();
