/**
 * Text primitives of the offline analyser: sentences, tokens, stop words, a background list of
 * words every study project uses (the analyser's stand-in for document frequency), a light
 * plural folding, and a syllable estimate for readability.
 */

/**
 * Function words of the languages study projects are most often written in besides English
 * (French, Spanish, German, Italian, Portuguese, Russian, Hindi): without them "le-solfège-et"
 * and "और-अभ्यास-करना" were tags. Words that are also English or technical words (German "die",
 * "war", "hat", "den", "mit"; Spanish "son", "sin"; Italian "come", "io"; French "car", "des",
 * "pour", "plus"; Portuguese "os", "eu") are left out.
 */
const otherLanguagesFunctionWords = `
  le la les un une  du de d l et ou mais donc  ni que qui quoi dont où ce cet cette ces sa ses leur leurs mon ma mes ton ta tes notre nos
  votre vos en dans par  sur sous avec  vers chez entre est sont être avoir ai avons avez ont été je tu il elle nous vous ils elles au aux
   moins très tout tous toute toutes aussi pas ne se y
  el los las unos unas del al y o pero quien cual como por para con sobre hasta desde es ser estar está están fue yo él ella nosotros ellos ellas
  su sus mi mis tus lo le se muy más menos también sí
  der das  dem  ein eine einer eines einem einen und oder aber dass  von zu zum zur im auf aus bei für über unter ist sind sein haben
  habe ich du er sie es wir ihr nicht auch sehr mehr wie 
  il lo gli di della dei delle e ma che  tra fra è sono essere avere ho ha  lui lei noi voi loro non anche molto più
   um uma do da  das em no na nos   são  ele nós eles seu sua não muito mais
  и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему когда даже
  ли если уже или ни быть был до вас там потом себя ей может они тут где есть надо ней для мы тебя их чем была сам без чего раз тоже себе под
  будет тогда кто этот того потому этого какой здесь этом один мой тем чтобы при об хочу хочется
  का के की को में से पर और या है हैं था थे थी हो होना करना कर किया एक यह वह ये वे इस उस इन उन भी तो ही ने लिए तक जो कि अपने अपना अपनी
  साथ द्वारा`;

/** Function words: never a tag, never counted as content. English, then otherLanguagesFunctionWords. */
export const stopWords = new Set(`a about above across after afterwards again against all almost alone along already also although always am among
  an and another any anyhow anyone anything anyway anywhere are around as at back be became because become becomes been before beforehand behind
  being below beside besides between beyond both but by can cannot could did do does doing done down due during each eg e.g either else elsewhere
  enough etc even ever every everyone everything everywhere except few first for former formerly from further get gets getting give given go goes
  going got had has have having he hence her here hereby herein hers herself him himself his how however i ie i.e if in inc indeed into is it its
  itself just keep last latter least less let lets like made make makes making many may me meanwhile might mine more moreover most mostly much
  must my myself namely neither never nevertheless next no nobody none nor not nothing now nowhere of off often on once one only onto or other
  others otherwise our ours ourselves out over own per perhaps please put quite rather re really same see seem seemed seems several she should
  show since so some somehow someone something sometime sometimes somewhere still such than that the their theirs them themselves then thence
  there thereafter thereby therefore therein these they thing things this those though through throughout thru thus to together too toward towards
  under until up upon us very via was we well were what whatever when whenever where whereas wherever whether which while who whoever whole whom
  whose why will with within without would yet you your yours yourself yourselves want wants wanted need needs needed able also i'm i've i'll
  i'd you're it's don't can't won't doesn't isn't aren't we're they're that's there's let's way ways lot lots new good great best better really
  try trying tried include includes including includes based around mainly especially particularly specifically actually simply
  ${otherLanguagesFunctionWords}`.split(/\s+/).filter(Boolean));

/**
 * Words nearly every study project uses. They stay tokens (so "machine learning" and "exam
 * preparation" can still form phrases) but weigh a fifth as much alone: they say a text is about
 * studying, not what it studies. This is the analyser's document frequency: a word found in every
 * project's text carries almost no information about any one of them.
 */
export const genericWords = new Set(`learn learning learned learns learner learners study studies studying student students course courses class classes
  lesson lessons lecture lectures week weeks weekly day days daily month months monthly hour hours time times minute minutes session sessions goal
  goals project projects understand understanding basic basics introduction intro topic topics chapter chapters note notes file files assignment
  assignments exam exams final finals midterm midterms homework practice practise practicing skill skills knowledge build building builds built use
  uses using used work works working plan plans planning material materials book books textbook unit units module modules semester term terms
  teacher teachers school university college self-study self part parts section sections overview review reviews exercise exercises task tasks
  problem problems example examples concept concepts idea ideas start starting end finish deadline deadlines due date dates important first second
  third level levels step steps guide complete completed completing cover covers covered covering focus focused focusing include included main key
  core essential simple simply various different common general introduce introduces introduced teach teaches taught explain explains explained
  reading read write writing written quiz quizzes test tests grade grades submit submission year years today tomorrow monday tuesday wednesday
  thursday friday saturday sunday january february march april june july august september october november december beginner beginners
  intermediate advanced level`.split(/\s+/).filter(Boolean));

export interface Token {
  /** As written (case kept, for display and proper-noun detection). */
  surface: string;
  lower: string;
  /** The folding key: lower case, plural folded. */
  key: string;
  /** Capitalised where a sentence does not start: a name (Python, TensorFlow) or an acronym. */
  properNoun: boolean;
}

/** Splits prose into sentences (a period inside "e.g." or "Node.js" does not end one). */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n+/)) {
    const parts = paragraph.split(/(?<=[.!?])\s+(?=["“'([]?[\p{Lu}\p{N}])/u);
    for (const part of parts) {
      const sentence = part.replace(/\s+/g, ' ').trim();
      if (sentence.length > 0) sentences.push(sentence);
    }
  }
  return sentences;
}

/** "networks" -> "network", "libraries" -> "library"; words that only look plural stay. */
export function foldPlural(word: string): string {
  if (word.length <= 3) return word;
  if (/(?:ss|us|is|ics|ous|sis|xis)$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:ches|shes|xes|zes|sses)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith("'s")) return word.slice(0, -1);
  return word;
}

// Words with inner dots or dashes stay whole (node.js, scikit-learn, object-oriented), and so do
// C++ and C#. Combining marks belong to their word: Devanagari's vowel signs and viramas, Thai's
// vowels and tones, an accent written apart from its letter (the text is NFKC by then, but a
// script's marks have no precomposed form).
const wordPattern = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:[-.'’][\p{L}\p{N}][\p{L}\p{M}\p{N}]*)*(?:\+\+|#)?/gu;

/**
 * Clauses of tokens: a phrase never spans punctuation, so "Python, NumPy" is not a phrase.
 * `sentenceStart` is true for a clause that begins a sentence.
 */
export function tokenizeClauses(sentence: string): Token[][] {
  const clauses: Token[][] = [];
  let first = true;
  for (const clause of sentence.split(/[,;:()[\]{}"“”!?]+|\s[-–—]\s|\.(?=\s|$)/u)) {
    const words = clause.match(wordPattern) ?? [];
    const tokens: Token[] = words.map((surface, index) => {
      const clean = surface.replace(/['’]s$/u, '');
      const lower = clean.toLowerCase();
      const capitalised = /^\p{Lu}/u.test(clean) || /\p{Lu}.*\p{Lu}/u.test(clean);
      return { surface: clean, lower, key: foldPlural(lower), properNoun: capitalised && !(first && index === 0) };
    });
    if (tokens.length > 0) clauses.push(tokens);
    if (words.length > 0) first = false;
  }
  return clauses;
}

/** A token that can carry meaning: not a stop word, not a bare number, at least two characters (or C, R). */
export function isContentToken(token: Token): boolean {
  if (stopWords.has(token.lower)) return false;
  // Numbers, dates and versions on their own ("2026-03-01", "3.5") are not topics.
  if (/^\p{N}+(?:[-.,/:]\p{N}+)*$/u.test(token.lower)) return false;
  // Roman numerals number parts ("Organic Chemistry II"); they are not topics either.
  if (/^(?:i{1,3}|iv|vi{0,3}|ix|xi{0,3})$/.test(token.lower)) return false;
  if (token.lower.length < 2 && !/^[cr]$/.test(token.lower)) return false;
  return true;
}

/** Vowel groups, less a silent final e: good to within a syllable for English words. */
export function countSyllables(word: string): number {
  const letters = word.toLowerCase().replace(/[^a-z]/g, '');
  if (letters.length === 0) return 0;
  if (letters.length <= 3) return 1;
  const trimmed = letters.replace(/(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$/, (ending) => ending[0]!).replace(/^y/, '');
  const groups = trimmed.match(/[aeiouy]+/g);
  return Math.max(1, groups?.length ?? 1);
}
