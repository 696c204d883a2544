/**
 * "12 s ago", kept current: a relative time computed once at render read "just now" for as long
 * as the page stayed open. Only this element re-renders on the clock.
 */
import { formatRelative, formatTime } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';

export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  const now = useNow(5000);
  if (!iso) return <span>–</span>;
  return <time dateTime={iso} title={formatTime(iso)}>{formatRelative(iso, now)}</time>;
}
