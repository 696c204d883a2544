-- Claims on queued words. A quick, a deep and a big job of one tenant may run at once; each used
-- to read the head of the queue without taking it, so they researched the same words (paying the
-- provider twice) and a word both failed counted two attempts. A job now claims the words of a
-- batch in the statement that selects them (FOR UPDATE SKIP LOCKED, knowledge-store.ts
-- claimQueuedWords): another job skips a word claimed by a job other than itself until the claim
-- expires. The claim is the task's, not the attempt's, so a job resumed after its worker died
-- continues its own words; it lasts until the job's cut-off (deadline plus grace), after which the
-- job cannot research it any more, so a crashed job's claim lapses by then at the latest.
ALTER TABLE unknown_words
  ADD COLUMN claimed_by uuid,
  ADD COLUMN claim_expires_at timestamptz;

-- Releasing a job's claims (at its end, in its failure handler) finds them without a scan of the
-- queue; only the few words of batches in hand are claimed at any time.
CREATE INDEX unknown_words_claimed_by ON unknown_words (claimed_by) WHERE claimed_by IS NOT NULL;
