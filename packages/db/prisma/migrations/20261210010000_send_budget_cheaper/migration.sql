-- reserve_send_slot ran about 0.4 ms of PostgreSQL's CPU per send (a turn's costliest statement), most of it
-- not its work: the WAL and the commit's flush of a few rows that only remember the last seconds of sends,
-- and a fresh plan for four of its five statements on every call (plpgsql's plan cache kept choosing
-- custom plans). Now about 0.12 ms (README, "Where the time goes").
--
-- Unlogged: no WAL, and a transaction that wrote only here commits without waiting for a flush. After a
-- crash of PostgreSQL (not a clean restart) or on a promoted standby the table starts empty: the budgets
-- forget at most the last minute of sends, so a bot may go over a platform's pace briefly, which the
-- platform answers with a 429 and Retry-After, handled as before. Nothing else depends on these rows.
ALTER TABLE "SendBudget" SET UNLOGGED;

-- Its statements' plans do not depend on the keys given: one generic plan each, made once per connection.
ALTER FUNCTION reserve_send_slot(TEXT[], INTEGER[], INTEGER[], BIGINT) SET plan_cache_mode = force_generic_plan;
