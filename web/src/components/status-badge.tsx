/**
 * Status badges carry their status as text and a distinct symbol, not colour alone.
 */
import type { TaskStatus } from '../api/types.ts';

const symbols: Record<TaskStatus, string> = {
  queued: '◷',
  running: '▶',
  retrying: '↻',
  // A pause sign in a glyph common fonts have (U+23F8 renders as a missing-glyph box in many).
  waiting: '‖',
  completed: '✓',
  failed: '✕',
  cancelled: '⊘',
};

export function StatusBadge({ status, large }: { status: TaskStatus; large?: boolean }) {
  return (
    <span class={`badge badge-${status}${large ? ' badge-large' : ''}`} data-status={status} role="status" aria-label={`Status: ${status}`}>
      <span aria-hidden="true" class="badge-symbol">{symbols[status] ?? '•'}</span>
      {status}
    </span>
  );
}

/** A neutral or toned label (threshold reached, duplicate, ...), always with text. */
export function Tag({ children, tone }: { children: string; tone?: 'good' | 'bad' | 'warn' | 'info' }) {
  return <span class={`tag${tone ? ` tag-${tone}` : ''}`}>{children}</span>;
}
