/**
 * Formatting of times, durations and numbers for people.
 */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export function between(start: string | null, end: string | null, now = Date.now()): number | null {
  if (!start) return null;
  return (end ? Date.parse(end) : now) - Date.parse(start);
}

// Each formatter is made once. `toLocaleTimeString(locale, options)` and `new Intl.NumberFormat`
// build a formatter per call, which dominated the task page's renders: a finished gather's page
// (134 events, its model calls, re-rendered every second for its clocks) spent most of its CPU
// in them (10-16 s of a 14-29 s load with Chromium's CPU slowed 20x).
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const hourAndMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return (sameDay ? timeOfDay : dateAndTime).format(date);
}

/** "14:05": a clock time for chart axes. */
export function formatClock(time: number | Date): string {
  return hourAndMinute.format(time);
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return numbers.format(value);
}

/** A cost in USD; null means some of the calls it sums have no price (TASKLOOM_LLM_PRICES). */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return 'unpriced';
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '< $0.0001';
  // Cents would hide what one call costs; four decimals show it without a wall of digits.
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

export function shortId(id: string): string {
  // The end, not the start: ids are time-ordered (UUIDv7), so their first eight characters are a
  // timestamp every task of the same minute shares, and a list of them read the same on each row.
  return id.length > 8 ? id.slice(-8) : id;
}

/** "task_started" -> "task started". */
export function humanize(name: string): string {
  return name.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
