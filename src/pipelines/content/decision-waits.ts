/**
 * The waitpoint keys of a content_pipeline run's decision waits, `decisions:<phase>:<round>`
 * (gates.ts): the run waits on them, the deciding routes complete them, the CLI stops following
 * a run at one, and the dashboard says where each is decided. No imports: the dashboard's bundle
 * reads it too.
 */
export const decisionWaitPrefix = 'decisions:';

/** The phase a decision wait's key names (`personas`, `topic`, `blog_post`), or null for any other wait. */
export function decisionPhaseOf(key: string): string | null {
  if (!key.startsWith(decisionWaitPrefix)) return null;
  return key.slice(decisionWaitPrefix.length).split(':')[0] || null;
}
