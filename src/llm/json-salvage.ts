/**
 * A structured answer a model wrapped in a Markdown code fence or a sentence ("Here is the JSON:
 * ```json {...} ```"). Some providers and local servers do so even when asked for JSON; the AI SDK
 * refuses the text as unparseable, and the repair round and every retry got the same wrapping
 * back, failing a call whose answer was right. Only a value the call's schema accepts is taken.
 */
import type { z } from 'zod';

/** The JSON value inside `text` that `schema` accepts, as parsed and as the text it came from; undefined when none does. */
export async function salvageStructuredAnswer<T>(text: string, schema: z.ZodType<T>): Promise<{ value: T; json: string } | undefined> {
  const candidates: string[] = [];
  const fenced = /```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)```/.exec(text);
  if (fenced) candidates.push(fenced[1]!.trim());
  // From the first opening bracket to the last closing one: a sentence before or after the value.
  const start = text.search(/[{[]/);
  const end = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(candidate);
    } catch {
      continue;
    }
    const result = await schema.safeParseAsync(parsed);
    if (result.success) return { value: result.data, json: candidate };
  }
  return undefined;
}
