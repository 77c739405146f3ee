-- A tenant's NLU model is trained by a background job (task "nlu-train", packages/nlu/src/training.ts)
-- as soon as its training version (revision or language) moves, whoever moved it: the admin API,
-- an agent import or plain SQL. The job key keeps one job waiting per tenant however many rows
-- change, and the tenant's own queue runs them one at a time across the deployment.
CREATE FUNCTION "nlu_training_enqueue"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The enqueue side of the queue-collection gate (packages/jobs/src/queues.ts), before add_job.
  PERFORM pg_advisory_xact_lock_shared(hashtext('graphile-worker:queues'));
  PERFORM graphile_worker.add_job(
    identifier => 'nlu-train',
    payload => json_build_object('tenantId', NEW.id),
    queue_name => 'nlu-train:' || NEW.id,
    job_key => 'nlu-train:' || NEW.id,
    max_attempts => 10
  );
  RETURN NULL;
END
$$;

CREATE TRIGGER "Tenant_nlu_training" AFTER UPDATE OF "trainingRevision", language ON "Tenant"
  FOR EACH ROW
  WHEN (OLD."trainingRevision" IS DISTINCT FROM NEW."trainingRevision" OR OLD.language IS DISTINCT FROM NEW.language)
  EXECUTE FUNCTION "nlu_training_enqueue"();
