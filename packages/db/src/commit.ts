/**
 * A condition, always true, for the WHERE of a write in a statement that runs on its own (autocommit,
 * never inside a caller's transaction): that statement's transaction then commits without waiting
 * for its WAL to reach the disk (synchronous_commit off, for that transaction only). The flush costs
 * PostgreSQL a tenth of a millisecond or more of CPU per commit, and the commit milliseconds.
 *
 * Only for writes that a crash of PostgreSQL may undo harmlessly: such a commit can be lost only
 * while no synchronous commit has followed it (each flushes the WAL up to itself, so everything
 * committed before it too), and at most the last moments before the crash. A write qualifies when
 * everything done outside the database on its account comes after a synchronous commit (a reply is
 * sent after its plan's, an event delivered after its job's fetch, a job completed by its own), and
 * when its loss is made good by running the job again.
 */
export const COMMIT_WITHOUT_FLUSH = `(SELECT set_config('synchronous_commit', 'off', true)) = 'off'`;
