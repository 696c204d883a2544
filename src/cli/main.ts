/**
 * The `taskloom` command line.
 */
import { Command, CommanderError } from 'commander';
import { configurationMarkdown } from '../config.ts';
import { keysCommand } from './keys-command.ts';
import { llmCommand } from './llm-command.ts';
import { pipelines } from '../pipelines/index.ts';
import { createRuntime, reportError } from './runtime.ts';
import { serviceCommands } from './service-commands.ts';
import { taskCommands } from './task-commands.ts';
import { waitpointsCommand } from './waitpoints-command.ts';

export async function main(argv: string[] = process.argv): Promise<number> {
  const runtime = createRuntime();
  const program = new Command('taskloom')
    .description('Durable background tasks for LLM content pipelines, on one PostgreSQL')
    .exitOverride()
    .showHelpAfterError();
  for (const command of [...serviceCommands(runtime), ...taskCommands(runtime), llmCommand(runtime)]) program.addCommand(command);
  for (const pipeline of pipelines) if (pipeline.cli) program.addCommand(pipeline.cli(runtime));
  program.addCommand(keysCommand(runtime));
  program.addCommand(waitpointsCommand(runtime));
  program.addCommand(new Command('config').description('Print every environment variable taskloom reads, as a Markdown table').action(() => {
    process.stdout.write(`${configurationMarkdown()}\n`);
  }));
  // Every command closes on SIGINT/SIGTERM, so it detaches from the shared embedded PostgreSQL
  // (which runs in its own session and does not hear the terminal's Ctrl-C): `serve` and
  // `worker` stop gracefully on the first signal themselves; anything else closes now; a second
  // signal detaches at once and exits.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1 && runtime.handlesSignals) return;
    const exitCode = signal === 'SIGINT' ? 130 : 143;
    const finishing = signals === 1 ? runtime.close() : runtime.abandon();
    void finishing.finally(() => process.exit(exitCode));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    return reportError(error);
  } finally {
    await runtime.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
