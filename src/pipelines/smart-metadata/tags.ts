/**
 * The tag rule, in one place: what a stored tag is (`tagPattern`, `maxTagChars`, used by the
 * stored row's schema) and how any answer's tags, the model's or the offline analyser's, are
 * brought to it (`normaliseTag`, `normaliseTags`, used by the validator). Nothing else in the
 * pipeline defines what a tag may hold.
 *
 * A tag is lower-case words of letters and digits of any script, joined by single dashes:
 * "machine-learning", "квантовая-механика", "éducation", "機械学習". A project written in Russian
 * gets Russian tags; stripping everything outside a-z left such answers with no tag at all.
 */

/** Fewest tags a model's answer must keep after normalising (the offline analyser: see offline/index.ts). */
export const minTags = 3;
/** Most tags stored; an answer's tags beyond these are dropped. */
export const maxTags = 10;
/** Longest tag, in UTF-16 code units (what the schema's `max` counts). */
export const maxTagChars = 60;

// A word starts with a letter or digit; combining marks may follow inside it (the vowel signs of
// Devanagari, say: "हिन्दी" is letters and marks). Upper- and title-case letters are not allowed.
const wordPattern = String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{N}][\p{Ll}\p{Lm}\p{Lo}\p{M}\p{N}]*`;

/** A tag as stored: lower-case words of letters (any script) and digits, joined by single dashes. */
export const tagPattern = new RegExp(`^${wordPattern}(?:-${wordPattern})*$`, 'u');

/** `text` cut to at most `limit` UTF-16 code units, never inside a surrogate pair. */
function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const end = /[\uD800-\uDBFF]/.test(text[limit - 1]!) ? limit - 1 : limit;
  return text.slice(0, end);
}

/**
 * "Machine Learning", "machine_learning", " machine--learning " -> "machine-learning";
 * "Квантовая Механика" -> "квантовая-механика"; "ＰＹＴＨＯＮ" -> "python" (NFKC). camelCase is kept
 * whole ("JavaScript" -> "javascript"); C++ -> "cpp", C# -> "csharp". Accents stay ("Éducation" ->
 * "éducation"): stripping them also turned Russian "й" into "и". Lower-casing is Unicode's, the same
 * in every locale.
 */
export function normaliseTag(raw: string): string {
  const tag = raw
    .normalize('NFKC')
    .replace(/\+\+/g, 'pp')
    .replace(/#/g, 'sharp')
    .toLowerCase()
    .normalize('NFKC')
    // Joiners shape letters inside a word (Persian, Indic scripts); they separate nothing.
    .replace(/[\u200C\u200D]/g, '')
    // A combining mark with no letter before it marks nothing.
    .replace(/(^|[^\p{L}\p{M}\p{N}])\p{M}+/gu, '$1')
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return cut(tag, maxTagChars).replace(/-+$/, '');
}

/** Each tag normalised; those that end up empty or invalid, and duplicates, dropped (order kept). */
export function normaliseTags(raw: string[]): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const entry of raw) {
    // A leading "#" is a hashtag, not C#.
    const tag = normaliseTag(entry.normalize('NFKC').trim().replace(/^#+/, ''));
    if (!tagPattern.test(tag) || seen.has(tag)) continue;
    seen.add(tag);
    tags.push(tag);
  }
  return tags;
}
