-- Which embedding made each stored gather vector, beyond the model id: `offline:embedding` is
-- GloVe word vectors now (hashed n-grams when the vectors are missing), and vectors of two
-- embeddings are not comparable. The gather re-embeds a department's items whose model, version
-- or dimensions differ from the current embedding before comparing. Rows written
-- before this migration have a NULL version, so they are re-embedded on the next run.
ALTER TABLE gather_items ADD COLUMN embedding_version text;
ALTER TABLE gather_items ADD COLUMN embedding_dimensions integer;
UPDATE gather_items SET embedding_dimensions = array_length(embedding, 1) WHERE embedding IS NOT NULL;
