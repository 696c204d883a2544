/**
 * How `submit --wait` and `watch` show a task's events: a live progress bar on a terminal, one
 * JSON object per line otherwise (for scripts and CI logs).
 */
import type { TaskEvent } from '../engine/index.ts';

const terminalTypes = new Set(['task_completed', 'task_failed', 'task_cancelled']);

export function isTerminalEvent(event: TaskEvent): boolean {
  return terminalTypes.has(event.type);
}

export interface ProgressDisplay {
  show(event: TaskEvent): void;
  finish(): void;
}

function bar(percent: number, width = 30): string {
  const filled = Math.round((percent / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%`;
}

export function createProgressDisplay(stream: NodeJS.WriteStream = process.stdout): ProgressDisplay {
  if (!stream.isTTY) {
    return {
      show: (event) => stream.write(`${JSON.stringify(event)}\n`),
      finish: () => {},
    };
  }
  let percent = 0;
  let message = '';
  let status = 'queued';
  let barShown = false;
  const render = (): void => {
    // Cut to the terminal's width so the line redraws in place; a pty that reports no width
    // (columns 0, as under `script` or some CI runners) gets the whole line.
    const full = `${status.padEnd(9)} ${bar(percent)} ${message}`;
    const line = stream.columns && stream.columns > 1 ? full.slice(0, stream.columns - 1) : full;
    stream.write(`\r\x1b[2K${line}`);
    barShown = true;
  };
  return {
    show(event) {
      const payload = event.payload as Record<string, unknown>;
      switch (event.type) {
        case 'task_queued': status = 'queued'; break;
        case 'task_started': status = 'running'; message = `attempt ${String(payload.attempt)}`; break;
        case 'task_progress':
          percent = Number(payload.progress ?? percent);
          message = String(payload.message ?? '');
          break;
        case 'task_retrying': status = 'retrying'; message = String((payload.error as { message?: string } | undefined)?.message ?? ''); break;
        case 'task_completed': status = 'completed'; percent = 100; message = ''; break;
        case 'task_failed': status = 'failed'; message = String((payload.error as { message?: string } | undefined)?.message ?? ''); break;
        case 'task_cancelled': status = 'cancelled'; message = ''; break;
        default:
          // A pipeline's own event: print it above the bar.
          if (barShown) stream.write('\r\x1b[2K');
          stream.write(`  ${event.type} ${JSON.stringify(payload)}\n`);
      }
      render();
    },
    finish() {
      if (barShown) stream.write('\n');
    },
  };
}
