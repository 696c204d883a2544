/**
 * Runs a commander command in this process and returns what it wrote to stdout: for testing a
 * pipeline's CLI against an engine the test controls.
 */
import type { Command } from 'commander';
import { vi } from 'vitest';

export async function runCommand(command: Command, args: string[]): Promise<string> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await command.exitOverride().parseAsync(['node', command.name(), ...args]);
  } finally {
    spy.mockRestore();
  }
  return written.join('');
}
