-- The tasks trigger joins a statement's old and new rows; with no statistics on transition tables
-- the planner picks a nested loop, quadratic in the rows a statement touches (60-93 ms for a
-- 500-row claim, measured by `npm run bench -- --diagnose`). A hash join makes it ~1 ms.
ALTER FUNCTION taskmaster_announce_tasks() SET enable_nestloop = off;
