/**
 * Child processes for tests: spawned with Node 24 running TypeScript directly, tracked so that
 * none outlives its test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const children = new Set<ChildProcess>();

export interface Child {
  process: ChildProcess;
  output: () => string;
  waitForLine: (text: string, timeoutMs?: number) => Promise<void>;
  exited: Promise<number | null>;
}

export function spawnNode(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const child = spawn(process.execPath, [path.resolve(script), ...args], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = once(child, 'exit').then(([code]) => {
    children.delete(child);
    return code as number | null;
  });
  return {
    process: child,
    output: () => output,
    exited,
    waitForLine: async (text, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}) before printing "${text}":\n${output}`);
        if (Date.now() > deadline) throw new Error(`child did not print "${text}" within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

/** Kills every child still running (afterAll). */
export async function killChildren(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => {});
  }));
}
