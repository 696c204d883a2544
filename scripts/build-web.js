#!/usr/bin/env node
/**
 * Builds the dashboard (web/ -> web/dist) when web/dist is missing or older than its sources;
 * a fast no-op otherwise. `npm start` runs it first (prestart), so a fresh clone needs no second
 * step; `npm run build:web` forces a build.
 *
 * Without vite (an install with --omit=dev) it says so and exits 0: the API still starts, only
 * without the dashboard.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const webRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');
const builtIndex = path.join(webRoot, 'dist', 'index.html');
const force = process.argv.includes('--force');

/** Newest modification time among the dashboard's sources. */
function newestSource() {
  let newest = 0;
  const visit = (target) => {
    const stats = statSync(target);
    if (stats.isDirectory()) {
      for (const name of readdirSync(target)) visit(path.join(target, name));
    } else {
      newest = Math.max(newest, stats.mtimeMs);
    }
  };
  visit(path.join(webRoot, 'src'));
  // Pipelines' own dashboard pages.
  const pipelinesRoot = path.resolve(webRoot, '../src/pipelines');
  for (const name of readdirSync(pipelinesRoot)) {
    const pages = path.join(pipelinesRoot, name, 'dashboard');
    if (existsSync(pages)) visit(pages);
  }
  for (const name of ['index.html', 'vite.config.ts']) visit(path.join(webRoot, name));
  return newest;
}

function stale() {
  if (!existsSync(builtIndex)) return 'web/dist is missing';
  return statSync(builtIndex).mtimeMs < newestSource() ? 'web/src changed since the last build' : null;
}

const reason = force ? 'forced' : stale();
if (reason === null) process.exit(0);

// The bundle users get, whoever runs the build: under the test runner NODE_ENV is `test`, and
// vite then built a development bundle (Preact's debug hooks, JSX with source locations; 280 KB
// instead of 200, and its renders several times slower), so the browser tests ran another
// dashboard than `npm start` serves.
process.env.NODE_ENV = 'production';

let vite;
try {
  vite = await import('vite');
} catch {
  process.stderr.write('taskloom: the dashboard is not built and vite is not installed (npm install without --omit=dev builds it); the API starts without it.\n');
  process.exit(0);
}

const started = Date.now();
process.stderr.write(`taskloom: building the dashboard (${reason})...\n`);
try {
  await vite.build({ configFile: path.join(webRoot, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
} catch (error) {
  process.stderr.write(`taskloom: the dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
process.stderr.write(`taskloom: dashboard built into web/dist in ${Date.now() - started} ms\n`);
