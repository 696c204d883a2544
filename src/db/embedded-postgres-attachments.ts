/**
 * Which taskloom processes use the embedded server: one file per attachment under
 * `TASKLOOM_HOME/postgres.attached/`, naming the process and the port it connects to.
 *
 * The last process to detach stops the server, so a process that exits never stops it under
 * another one still using it (`serve` exiting while a `worker` from another terminal runs). A
 * process killed without detaching leaves its file behind; files whose process is gone are
 * ignored and removed. The port is recorded because a server that died must come back on the
 * port its attached processes have in their connection strings.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { markAlive, processMark, type ProcessMark } from './process-liveness.ts';

export interface Attachment {
  mark: ProcessMark;
  port: number;
}

export interface AttachmentRecord {
  /** Removes this attachment. Idempotent. */
  remove(): Promise<void>;
}

function folderFor(homePath: string): string {
  return path.join(homePath, 'postgres.attached');
}

/** Records that this process uses the server on `port`. Call under the start lock. */
export async function recordAttachment(homePath: string, port: number): Promise<AttachmentRecord> {
  const folder = folderFor(homePath);
  await mkdir(folder, { recursive: true });
  const filePath = path.join(folder, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  const attachment: Attachment = { mark: await processMark(), port };
  // Written aside and renamed into place, so a reader never sees half a file.
  await writeFile(`${filePath}.tmp`, JSON.stringify(attachment));
  await rename(`${filePath}.tmp`, filePath);
  return { remove: () => rm(filePath, { force: true }) };
}

function parseAttachment(text: string): Attachment | undefined {
  try {
    const value = JSON.parse(text) as Partial<Attachment>;
    if (typeof value.port !== 'number' || typeof value.mark?.pid !== 'number') return undefined;
    return { mark: value.mark, port: value.port };
  } catch {
    return undefined;
  }
}

/** The attachments of processes still running; removes the files of the others. */
export async function liveAttachments(homePath: string): Promise<Attachment[]> {
  const folder = folderFor(homePath);
  const names = await readdir(folder).catch(() => [] as string[]);
  const live: Attachment[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const filePath = path.join(folder, name);
    let text: string;
    try {
      text = await readFile(filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      // Unreadable for now (EMFILE, EIO, ...): count it as a live process rather than delete the
      // record of one that may be using the server and let the last-one-out stop it under it.
      live.push({ mark: { pid: -1, startTime: 'unknown' } as ProcessMark, port: -1 });
      continue;
    }
    const attachment = parseAttachment(text);
    if (attachment && !(await markAlive(attachment.mark))) {
      await rm(filePath, { force: true });
    } else if (attachment) {
      live.push(attachment);
    } else {
      // Files are renamed into place whole, so one that does not parse was damaged: no process
      // can be identified by it.
      await rm(filePath, { force: true });
    }
  }
  return live;
}
