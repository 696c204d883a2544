/**
 * Files named on the command line (`--set`, `--file`). A file that cannot be read is the user's
 * to fix, named with its option: not an `internal_error` with Node's `ENOENT` asking for a bug
 * report.
 */
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../errors.ts';

const reasons: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links in the path',
  ENAMETOOLONG: 'the path is too long',
};

/** The text of `file`, given as `option`; a file that cannot be read is a ValidationError saying why. */
export async function readOptionFile(option: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === undefined ? undefined : reasons[code];
    if (reason === undefined) throw error;
    throw new ValidationError(`${option} ${file}: ${reason}`, { issues: [{ path: option, message: reason }] });
  }
}
