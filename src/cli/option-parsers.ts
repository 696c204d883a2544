/**
 * Parsers of command-line options, shared by every command: a value that is not a whole
 * number in range is refused by commander with the option's name ("option '--limit <n>' argument
 * 'abc' is invalid. must be an integer from 1 to 1000"), before anything runs. A bare
 * `Number.parseInt` let `NaN` or a negative number reach SQL, which answered with its own errors.
 */
import { InvalidArgumentError, Option } from 'commander';
import { tenantNamePattern } from '../api/keys.ts';
import { unstorablePart } from '../db/storable.ts';

/** A whole number from `minimum` to `maximum`, written as one (no `12abc`, no `1e3`). */
export function integerOption(minimum: number, maximum: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    const parsed = Number.parseInt(value, 10);
    if (!Number.isSafeInteger(parsed) || String(parsed) !== value.trim() || parsed < minimum || parsed > maximum) {
      throw new InvalidArgumentError(maximum === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${minimum}` : `must be an integer from ${minimum} to ${maximum}`);
    }
    return parsed;
  };
}

/** A whole number of at least 1. */
export const positiveIntegerOption = integerOption(1);

/**
 * A JSON option (`--data`, `--payload`): refused by commander, naming the option, when it is not
 * JSON, or when it holds what PostgreSQL cannot store (a NUL character, a lone surrogate; the
 * API's own check), which reached the database and came back as an internal error.
 */
export function jsonOption(option: string): (value: string) => unknown {
  return (value: string): unknown => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${option} must be JSON: ${(error as Error).message}`);
    }
    const unstorable = unstorablePart(parsed);
    if (unstorable) throw new InvalidArgumentError(`${option}: ${unstorable.path}: ${unstorable.message}`);
    return parsed;
  };
}

/**
 * `--tenant <name>` (default `default`), refused unless it is a name a tenant can have (the rule
 * `keys create` applies): a task written for "bad name!" belonged to a tenant no API key can ever
 * act for, so nothing in the API or the dashboard would see it.
 */
export function tenantOption(description = 'tenant'): Option {
  return new Option('--tenant <name>', description).default('default').argParser((value: string) => {
    if (!tenantNamePattern.test(value)) throw new InvalidArgumentError('must be 1-63 letters, digits, \'_\', \'.\' or \'-\', starting with a letter or digit');
    return value;
  });
}
