-- The idle hand-off, reshaped: a new task due now that an offer takes is inserted PICKED, bound and
-- leased, instead of being inserted SCHEDULED and then moved by an UPDATE in an AFTER trigger (a
-- second row version with its index entries, and that UPDATE's own count and announcement
-- triggers). EXPLAIN ANALYZE of the idle path's one-row INSERT with an offer waiting, p50 of 100
-- (the INSERT runs inside the acceptance-to-handler-start latency): 1.76 -> 1.14 ms. Without offers
-- (a busy system), 20,000 rows inserted 1,000 per statement: 698 -> 724 ms, the median of 6 rounds each.
--
-- How: a BEFORE INSERT statement trigger looks once per statement for any offer and says so in the
-- transaction-local setting `taskmaster.hand_off`; only then does the row trigger run (its WHEN reads
-- that setting, so a bulk INSERT on a busy system costs one check, not one per row). The row
-- trigger takes the oldest usable offer (SKIP LOCKED, worker ONLINE under the offering coordinator,
-- not lapsed: as before), rewrites the new row as attempt 1 of that worker, counts it and sends
-- `taskmaster_handoff` with the same payload as before (one task per message now). When offers run
-- out it turns the setting off for the rest of the statement. Rows are handed off in the order they
-- are inserted: the server inserts one task, or a batch of identical ones, so this is the priority
-- order for everything it schedules (a hand-written multi-row INSERT of mixed priorities is no
-- longer reordered).
--
-- What a BEFORE trigger must not do is hand off a row the INSERT then does not insert: its side
-- effects (the offer taken, the notification) would stay while the row is skipped, and the
-- coordinator would dispatch a task that does not exist. An INSERT skips a row only on ON CONFLICT,
-- so rows with an idempotency key (the one conflict the server's INSERT handles) are not handed off
-- (they are claimed as before, a few milliseconds later when idle), and neither is a row whose id
-- already exists.
--
-- The dashboard's feed now says 'I' with the row PICKED, with no 'U' after it; the INSERT's
-- `taskmaster_due` is not sent for it (nothing is left to claim), so no coordinator wakes for an
-- empty claim. The previous release against this schema: its coordinators read the same channel and
-- payload; its servers' INSERTs go through the same triggers.
DROP TRIGGER tasks_hand_off ON tasks;
DROP FUNCTION taskmaster_hand_off();

CREATE FUNCTION taskmaster_hand_off_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('taskmaster.hand_off', CASE WHEN EXISTS (SELECT 1 FROM task_offers) THEN 'on' ELSE 'off' END, true);
  RETURN NULL;
END $$;

CREATE FUNCTION taskmaster_hand_off() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  offer record;
  task jsonb;
  body text;
BEGIN
  IF EXISTS (SELECT 1 FROM tasks WHERE id = NEW.id) THEN
    RETURN NEW; -- ON CONFLICT (id) would skip it: the INSERT decides, not this trigger
  END IF;
  DELETE FROM task_offers o
   WHERE o.id = (SELECT f.id FROM task_offers f
                   JOIN workers w ON w.id = f.worker_id AND w.status = 'ONLINE' AND w.coordinator_id = f.coordinator_id
                  WHERE f.expires_at > now()
                  ORDER BY f.id
                  LIMIT 1
                    FOR UPDATE OF f SKIP LOCKED)
  RETURNING o.id, o.coordinator_id, o.worker_id, o.lease_ms INTO offer;
  IF offer.id IS NULL THEN
    PERFORM set_config('taskmaster.hand_off', 'off', true);
    RETURN NEW;
  END IF;
  NEW.status := 'PICKED';
  NEW.attempt := NEW.attempt + 1;
  NEW.picked_at := now();
  NEW.started_at := NULL;
  NEW.worker_id := offer.worker_id;
  NEW.coordinator_id := offer.coordinator_id;
  NEW.progress := 0;
  NEW.lease_expires_at := now() + offer.lease_ms * interval '1 millisecond';
  NEW.updated_at := now();
  INSERT INTO counters (name, value) VALUES ('tasks_handed_off', 1)
  ON CONFLICT (name) DO UPDATE SET value = counters.value + 1;
  task := jsonb_build_object('offer', offer.id::text, 'id', NEW.id::text, 'attempt', NEW.attempt, 'worker', offer.worker_id,
                             'command', NEW.command, 'payload', NEW.payload::text, 'timeout_ms', NEW.timeout_ms);
  body := jsonb_build_object('coordinator', offer.coordinator_id, 'tasks', jsonb_build_array(task))::text;
  -- A NOTIFY payload holds under 8000 bytes: over that, the id only (the coordinator reads the rest).
  IF octet_length(body) > 7500 THEN
    body := jsonb_build_object('coordinator', offer.coordinator_id,
                               'tasks', jsonb_build_array(task - 'command' - 'payload' - 'timeout_ms'))::text;
  END IF;
  PERFORM pg_notify('taskmaster_handoff', body);
  RETURN NEW;
END $$;

CREATE TRIGGER tasks_hand_off_check BEFORE INSERT ON tasks
  FOR EACH STATEMENT EXECUTE FUNCTION taskmaster_hand_off_check();
-- scheduled_at is stored to the millisecond, rounded: "now" may have been rounded up.
CREATE TRIGGER tasks_hand_off BEFORE INSERT ON tasks FOR EACH ROW
  WHEN (current_setting('taskmaster.hand_off', true) = 'on' AND NEW.status = 'SCHEDULED'
        AND NEW.scheduled_at <= now() + interval '1 millisecond' AND NEW.idempotency_key IS NULL)
  EXECUTE FUNCTION taskmaster_hand_off();
