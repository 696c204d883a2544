/**
 * Which model wrote a content row's text (the `model` column of personas, topics, blog posts and
 * social posts, migration content/0002), and whether that was the offline stand-in. Shared by the
 * jobs that write the rows and the dashboard that labels them, so it imports nothing else.
 */
import { isOfflineModel } from '../../llm/model-id.ts';

/**
 * What a row records as the model that wrote it, from the models of the calls that did (the
 * gateway's id after any fallback): each distinct one in order, comma-separated, so a post whose
 * one section fell back to the offline model says so. Null when none is known (a checkpoint from
 * before migration content/0002 holds none).
 */
export function writtenBy(models: ReadonlyArray<string | undefined>): string | null {
  const distinct = [...new Set(models.filter((model): model is string => model !== undefined))];
  return distinct.length === 0 ? null : distinct.join(', ');
}

/** Whether any of the models a row records (`writtenBy`) is the offline one: its text is a stand-in. */
export function writtenOffline(model: string | null | undefined): boolean {
  return model !== null && model !== undefined && model.split(', ').some(isOfflineModel);
}
