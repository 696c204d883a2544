-- Deep mode's attempts per entry. An entry the source could not deepen used to stay first in
-- line (oldest, deepened_at still NULL), so every later deep run picked the same entries again
-- and no other entry was ever deepened. Each failed attempt is now counted: entries that failed
-- fewer times go first, and after 3 failures (knowledge-store.ts, maxDeepenAttempts) an entry is
-- no longer picked. The queue of words to learn (unknown_words.attempts) works the same way.
ALTER TABLE solidified_knowledge
  ADD COLUMN deepen_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN deepen_last_error text;

DROP INDEX solidified_knowledge_to_deepen;
CREATE INDEX solidified_knowledge_deepen_queue ON solidified_knowledge (tenant, deepen_attempts, created_at, normalised) WHERE deepened_at IS NULL;
