/**
 * Model talk: text in which a model talks about itself, apologises, or hands back a failure's
 * text instead of the answer it was asked for. A model may write such text into a perfectly
 * well-formed structured answer ("I am having trouble accessing my knowledge base", "Sorry, I am
 * unable to access the project description right now. Request failed with status 503."), and
 * the seeds stored it as knowledge and as project metadata, counted as successes. One detector,
 * here in the LLM layer, so every pipeline that stores a model's prose refuses the same phrases:
 * the learning pipeline (definitions, explanations) and smart metadata (summaries, tags).
 *
 * It looks for phrases, never for single topic words: "error-handling", "apologies" as a word
 * being defined or a course on HTTP status codes are not model talk (see `source`).
 */

/**
 * First person and the model's own workings only, so a text may still be about apologies or
 * knowledge bases ("lost": "unable to find one's way"); quoted text is left out, as a definition
 * or a summary may quote a usage ("I'm sorry").
 */
const selfTalk: readonly RegExp[] = [
  /\b(?:I am|I'm|I was) (?:currently |temporarily |still )?(?:sorry|afraid|unable|not able|having (?:trouble|difficulty|issues)|an? (?:AI|language model|assistant))\b/i,
  /\bI (?:cannot|can't|can not|could not|couldn't|do not|don't|did not|didn't) (?:find|access|locate|retrieve|provide|define|verify|help|answer|determine|research)\b/i,
  /\bI apologi[sz]e\b/i,
  /\b(?:my|our) apologies\b/i,
  /\b(?:sorry|unfortunately),? (?:but )?I\b/i,
  // "As an AI language model, I ..."; not "acts as an assistant to a witch" (WordNet's "familiar").
  /\bas an? (?:AI|artificial intelligence|(?:large )?language model|LLM)(?: (?:language )?model| assistant)?,? I\b/i,
  /\bmy (?:knowledge base|knowledge cut-?off|training data|sources|database|search results|capabilities)\b/i,
  /\b(?:unable to|could not|couldn't|cannot|can't) (?:find|locate|retrieve|access) (?:any |reliable |relevant |enough )?(?:information|a definition|definitions|details|sources|results|data)\b/i,
  // An apology or an error opening the text, in place of the answer ("Sorry, ..."; not the word's
  // own "Sorry: feeling regret").
  /^\W*(?:sorry|apologies|unfortunately)(?:,|\s+but\b)/i,
  /^\W*(?:error|not found)\s*(?:$|[:.!])/i,
].map((pattern) => new RegExp(pattern.source, `${pattern.flags}g`));

/**
 * A failure's report in place of the answer: "no definition could be found", a service
 * "temporarily unavailable", an HTTP status. None of WordNet's 117,791 definitions matches
 * (test/learning/llm-answers.test.ts), but a technical project is rightly summarised in such
 * words (status codes, a call that failed, a service unavailable during maintenance), so callers
 * whose texts may be about them leave these out (`failureReports: false`).
 */
const failureReports: readonly RegExp[] = [
  /\bno (?:definition|information|data|results?|entry|entries|details|summary|description|metadata|content) (?:could be |was |were |is |are |has been )?(?:found|available|returned|provided)\b/i,
  /\b(?:definition|information|data|summary|description|metadata|content) (?:is |was )?(?:currently |temporarily )?not (?:available|found)\b/i,
  /\b(?:definition|information|data|service|knowledge base|server|source) (?:is |was )?(?:currently |temporarily )?(?:unavailable|unreachable)\b/i,
  /\berror (?:retrieving|fetching|looking up|getting|loading)\b/i,
  /\b(?:due to|because of) an? (?:network|server|technical|internal|connection) (?:error|issue|problem|failure)\b/i,
  /\b(?:request|call) failed\b/i,
  /\bstatus(?: code)? [45]\d\d\b/i,
  /\brate limit(?:ed| exceeded)\b/i,
].map((pattern) => new RegExp(pattern.source, `${pattern.flags}g`));

export interface ModelTalkOptions {
  /**
   * Whether a failure's report counts (failureReports): yes for texts that can never be about
   * failures (a word's definition); for those that may be (a project's summary and tags),
   * `'opening'`: only a report that opens the text (within its first three words), which is the
   * answer being a failure ("The request failed with status code 500."), not a text about one.
   * @default true
   */
  failureReports?: boolean | 'opening';
  /**
   * The text the answer is about (a project's text, for its summary and tags). A phrase this text
   * says itself is the answer repeating it, not the model talking: a course on HTTP clients may
   * well be summarised as retrying "when a request failed with status 503". The phrase and the
   * four words after it must appear in that order in this text (compared word by word, ignoring
   * case and punctuation): a project that says "error handling" or "I am unable to keep up" does
   * not excuse "Error: the upstream model is overloaded" or "I am unable to access the project".
   * @default none: every phrase counts
   */
  source?: string;
}

/** `text`'s words, lower-case, each between spaces: " request failed with status 503 ". */
function wordsOf(text: string): string {
  return ` ${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
}

/**
 * Words of the text after a phrase that must follow it in the source too: enough that the
 * phrase's own object is among them ("I am unable to access the project" is no repeat of "I am
 * unable to access the lab remotely"), few enough that a summary repeating a clause matches.
 */
const contextWordsAfter = 4;

/** The phrase found at `index` and the words after it (as many as there are, up to contextWordsAfter). */
function phraseInContext(text: string, index: number, phrase: string): string {
  const after = text.slice(index + phrase.length).split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, contextWordsAfter);
  return wordsOf([phrase, ...after].join(' '));
}

/** How many words a failure's report may follow to count as opening the text (`failureReports: 'opening'`). */
const openingWords = 3;

/** The phrase of `text` in which a model talks about itself, apologises or reports a failure, if any. */
export function modelTalkIn(text: string, options: ModelTalkOptions = {}): string | undefined {
  const unquoted = text.replace(/"[^"]*"|\u201c[^\u201d]*\u201d/g, ' ');
  const source = options.source === undefined ? undefined : wordsOf(options.source);
  const excused = (found: RegExpExecArray | RegExpMatchArray): boolean => source !== undefined && source.includes(phraseInContext(unquoted, found.index!, found[0]));
  for (const pattern of selfTalk) {
    // matchAll works on a copy of the pattern, so the shared global patterns keep no state.
    for (const found of unquoted.matchAll(pattern)) if (!excused(found)) return found[0];
  }
  if (options.failureReports === false) return undefined;
  for (const pattern of failureReports) {
    for (const found of unquoted.matchAll(pattern)) {
      if (options.failureReports === 'opening' && wordsOf(unquoted.slice(0, found.index)).trim().split(' ').filter(Boolean).length > openingWords) continue;
      if (!excused(found)) return found[0];
    }
  }
  return undefined;
}
