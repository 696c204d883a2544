/**
 * Word identity, in one place: two spellings are the same word when their normalised forms are
 * equal. The form is NFKC (full-width letters, ligatures and compatibility characters folded),
 * lower-cased, NFKC again (lower-casing can leave a string that is not in NFKC), with WordNet's
 * underscores and any run of whitespace turned into one space and the ends trimmed.
 */

/** The longest word (in characters, after normalising) the pipeline accepts. */
export const maxWordLength = 60;

export function normaliseWord(word: string): string {
  return word.normalize('NFKC').toLowerCase().normalize('NFKC').replace(/[_\s]+/gu, ' ').trim();
}

/**
 * True when a proposed token is worth queueing: letters (any script) with inner spaces, hyphens
 * or apostrophes, at most three words and `maxWordLength` characters. Numbers, URLs, markup and
 * sentences a model may slip into a word list are dropped before they reach the queue.
 */
export function isLearnableWord(normalised: string): boolean {
  if (normalised.length === 0 || normalised.length > maxWordLength) return false;
  if (normalised.split(' ').length > 3) return false;
  return /^\p{L}[\p{L}\p{M}'’-]*(?: \p{L}[\p{L}\p{M}'’-]*)*$/u.test(normalised) && !/[-'’]$/u.test(normalised);
}

/**
 * Normalises a round's tokens and drops the ones that are not learnable or repeat an earlier
 * token of the same list; the first spelling of each word wins.
 */
export function distinctLearnableWords(tokens: readonly string[]): Array<{ word: string; normalised: string }> {
  const seen = new Set<string>();
  const words: Array<{ word: string; normalised: string }> = [];
  for (const token of tokens) {
    const normalised = normaliseWord(token);
    if (!isLearnableWord(normalised) || seen.has(normalised)) continue;
    seen.add(normalised);
    words.push({ word: token.normalize('NFKC').replace(/[_\s]+/gu, ' ').trim(), normalised });
  }
  return words;
}
