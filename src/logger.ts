/**
 * The process logger (pino). Logs go to stderr so that stdout stays clean for command output
 * (JSON lines from `submit --wait`, tables from `tasks`).
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = 'info', name = 'taskloom'): Logger {
  return pino({ name, level }, pino.destination(2));
}
