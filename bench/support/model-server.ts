/**
 * The fixed-latency OpenAI-compatible model server (bench/fixed-latency-server.ts) in its own
 * process, like a remote provider: its work never blocks the benchmark's event loop.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ModelServerProcess {
  baseUrl: string;
  close(): Promise<void>;
}

export async function startModelServerProcess(latencyMs: number): Promise<ModelServerProcess> {
  const child = spawn(process.execPath, [new URL('../fixed-latency-server.ts', import.meta.url).pathname, String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [first] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    baseUrl: (JSON.parse(first) as { baseUrl: string }).baseUrl,
    async close() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
