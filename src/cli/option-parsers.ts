/**
 * Parsers of numeric command-line options, shared by every command: a value that is not a whole
 * number in range is refused by commander with the option's name ("option '--limit <n>' argument
 * 'abc' is invalid. must be an integer from 1 to 1000"), before anything runs. A bare
 * `Number.parseInt` let `NaN` or a negative number reach SQL, which answered with its own errors.
 */
import { InvalidArgumentError } from 'commander';

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
