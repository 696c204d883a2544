-- An llm_calls row is written when a provider request starts (state in_flight) and completed when
-- it ends (finished), so a request cut off by a crash still counts. A request cannot outlive its
-- per-call timeout, so an in_flight row past deadline_at belongs to a process that died: the
-- gateway's sweep marks it interrupted. Rows written before this migration are finished.
ALTER TABLE llm_calls
  ADD COLUMN state text NOT NULL DEFAULT 'finished' CHECK (state IN ('in_flight', 'finished', 'interrupted')),
  ADD COLUMN deadline_at timestamptz;

CREATE INDEX llm_calls_in_flight ON llm_calls (deadline_at) WHERE state = 'in_flight';
