/**
 * Duplicate-detection benchmark: scores every embedding model available on the labelled pairs in
 * bench/data/dedup-pairs.jsonl (paraphrases are duplicates; related and unrelated pairs are not)
 * and prints, per model, one progress line, then one JSON line last:
 *
 * {"pairs","duplicates","models":[{"model","version","dimensions","auc","best":{threshold,precision,recall,f1},
 *   "gather":{threshold,precision,recall,f1},"precision_0_9":{...}|null,"mean_duplicate","mean_different",
 *   "embeddings_per_second","load_ms"}]}
 *
 * - auc: ROC AUC, the chance a random duplicate pair scores above a random different pair
 * - best: the threshold with the best F1 on this set
 * - gather: precision and recall at the threshold the gather uses for this model (its per-model
 *   default, or TASKLOOM_GATHER_DUPLICATE_THRESHOLD when set)
 * - precision_0_9: the lowest threshold reaching precision 0.9 (how the defaults are chosen)
 *
 * Models: `offline:embedding` (word vectors), `offline:embedding-hashed` (character n-grams), and
 * TASKLOOM_LLM_EMBEDDING_MODEL when it names a configured provider (its key set).
 */
import { embedMany, type EmbeddingModel } from 'ai';
import { loadConfig } from '../src/config.ts';
import { cosineSimilarity } from '../src/llm/cosine-similarity.ts';
import { duplicateThresholdFor } from '../src/llm/duplicate-thresholds.ts';
import { configureProviders } from '../src/llm/provider-registry.ts';
import { bestThreshold, figuresAt, rocAuc, thresholdForPrecision, type ScoredPair } from './support/dedup-metrics.ts';
import { loadEvaluationPairs } from './support/dedup-pairs.ts';
import { log } from './support/statistics.ts';

const config = loadConfig();
const { configured, embeddingModel } = configureProviders(config);
const pairs = loadEvaluationPairs();
const texts = [...new Set(pairs.flatMap((pair) => [pair.a, pair.b]))];

const models = ['offline:embedding', 'offline:embedding-hashed'];
const provider = config.llmEmbeddingModel;
if (provider && !provider.startsWith('offline:') && configured.includes(provider.split(':')[0] ?? '')) models.push(provider);
else log(`no provider embedding model measured: set TASKLOOM_LLM_EMBEDDING_MODEL (e.g. openai:text-embedding-3-small) and its provider's key`);

const rows = [];
for (const id of models) {
  const model = (await embeddingModel(id)) as EmbeddingModel;
  // The first call loads the word vectors (or derives them on a first run): timed apart.
  const loadStarted = performance.now();
  const first = await embedMany({ model, values: [texts[0]!], maxRetries: 2 });
  const loadMs = performance.now() - loadStarted;
  const started = performance.now();
  const result = await embedMany({ model, values: texts, maxRetries: 2 });
  const seconds = (performance.now() - started) / 1000;
  const vectorOf = new Map(texts.map((text, index) => [text, result.embeddings[index]!]));
  const scored: ScoredPair[] = pairs.map((pair) => ({ score: cosineSimilarity(vectorOf.get(pair.a)!, vectorOf.get(pair.b)!), duplicate: pair.kind === 'paraphrase' }));
  const version = (result.providerMetadata?.offline?.embeddingVersion as string | undefined) ?? null;
  const gatherThreshold = config.gatherDuplicateThreshold ?? duplicateThresholdFor({ model: id, version }).duplicate;
  const mean = (duplicate: boolean): number => {
    const scores = scored.filter((pair) => pair.duplicate === duplicate).map((pair) => pair.score);
    return Math.round((scores.reduce((sum, score) => sum + score, 0) / scores.length) * 1000) / 1000;
  };
  const row = {
    model: id,
    version,
    dimensions: first.embeddings[0]?.length ?? 0,
    auc: rocAuc(scored),
    best: bestThreshold(scored),
    gather: figuresAt(scored, gatherThreshold),
    precision_0_9: thresholdForPrecision(scored, 0.9),
    mean_duplicate: mean(true),
    mean_different: mean(false),
    embeddings_per_second: Math.round(texts.length / seconds),
    load_ms: Math.round(loadMs),
  };
  log(`${id} (${version ?? 'provider'}, ${row.dimensions} dims): AUC ${row.auc}; best F1 ${row.best.f1} at ${row.best.threshold}; at the gather's ${row.gather.threshold}: precision ${row.gather.precision}, recall ${row.gather.recall}`);
  rows.push(row);
}
process.stdout.write(`${JSON.stringify({ pairs: pairs.length, duplicates: pairs.filter((pair) => pair.kind === 'paraphrase').length, models: rows })}\n`);
