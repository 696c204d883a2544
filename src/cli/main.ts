/**
 * The `taskloom` command line. Only the module of the command being run is loaded (all of them,
 * and the pipelines' commands, for help or a pipeline's command), so `taskloom status` does not
 * pay for the API, the pipelines and the LLM providers.
 */
import { Command, CommanderError } from 'commander';
import { createRuntime, reportError, type Runtime } from './runtime.ts';

type CommandModule = (runtime: Runtime) => Promise<Command[]>;

const services: CommandModule = async (runtime) => (await import('./service-commands.ts')).serviceCommands(runtime);
const tasks: CommandModule = async (runtime) => (await import('./task-commands.ts')).taskCommands(runtime);
const commandModules: Record<string, CommandModule> = {
  serve: services,
  worker: services,
  migrate: services,
  submit: tasks,
  status: tasks,
  tasks,
  cancel: tasks,
  watch: tasks,
  types: tasks,
  llm: async (runtime) => [(await import('./llm-command.ts')).llmCommand(runtime)],
  keys: async (runtime) => [(await import('./keys-command.ts')).keysCommand(runtime)],
  waitpoints: async (runtime) => [(await import('./waitpoints-command.ts')).waitpointsCommand(runtime)],
  db: async (runtime) => [(await import('./db-command.ts')).dbCommand(runtime)],
  config: async () => [new Command('config').description('Print every environment variable taskloom reads, as a Markdown table').action(async () => {
    process.stdout.write(`${(await import('../config.ts')).configurationMarkdown()}\n`);
  })],
};

export async function main(argv: string[] = process.argv): Promise<number> {
  const runtime = createRuntime();
  const program = new Command('taskloom')
    .description('Durable background tasks for LLM content pipelines, on one PostgreSQL')
    .option('--verbose', 'log progress to stderr (otherwise only warnings and errors, unless LOG_LEVEL says more)')
    .exitOverride()
    .showHelpAfterError();
  program.hook('preAction', (_program, actionCommand) => {
    runtime.verbose = program.opts<{ verbose?: boolean }>().verbose ?? false;
    let name = actionCommand.name();
    for (let parent = actionCommand.parent; parent && parent !== program; parent = parent.parent) name = `${parent.name()} ${name}`;
    runtime.commandName = name;
  });
  const named = argv.slice(2).find((argument) => !argument.startsWith('-'));
  const core = named !== undefined && Object.hasOwn(commandModules, named);
  for (const load of core ? [commandModules[named]!] : new Set(Object.values(commandModules))) for (const command of await load(runtime)) program.addCommand(command);
  if (!core) {
    const { pipelines } = await import('../pipelines/index.ts');
    const commands = await Promise.all(pipelines.flatMap((pipeline) => (pipeline.cli ? [pipeline.cli(runtime)] : [])));
    for (const command of commands) program.addCommand(command);
  }

  // Every command closes on SIGINT/SIGTERM, so it detaches from the shared embedded PostgreSQL
  // (which runs in its own session and does not hear the terminal's Ctrl-C): `serve` and
  // `worker` stop gracefully on the first signal themselves; anything else closes now; a second
  // signal detaches at once and exits.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (runtime.childInForeground) return;
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
    // Closing on a signal ends what the command was waiting on (a watch's event stream): that is
    // the interruption asked for, not an error to report.
    if (signals > 0) return 130;
    return reportError(error, { verbose: runtime.verbose });
  } finally {
    await runtime.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
