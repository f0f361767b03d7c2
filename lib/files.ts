// Files written whole or not at all, and a file system error in words.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { FirstbellError } from './errors.js';

/** A file system error in words: "no space left on device (ENOSPC)". */
export function fsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on device', EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'not permitted', ENOTDIR: 'a file is in the way of a folder',
    EISDIR: 'is a folder, not a file', ENOENT: 'no such file or folder', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EMFILE: 'too many open files',
  };
  return code ? `${words[code] ?? (e as Error).message} (${code})` : e instanceof Error ? e.message : String(e);
}

/** A file that could not be written (a run folder's, a bundle's): names the file and why; the user's to fix (exit 2). */
export class WriteError extends FirstbellError {
  constructor(readonly path: string, cause: unknown) {
    super(`cannot write ${path}: ${fsErrorText(cause)}`, { cause });
  }
}

/**
 * Writes a file whole or not at all, so a crash never leaves half a JSON file, and a failed write leaves no temporary
 * file. `data` is the text, or writes it in pieces to the file descriptor it is given. The temporary file is the
 * writer's own (`<path>.<pid>-<random>.tmp`): processes writing the same path at once each rename a whole file onto it.
 */
export function writeFileAtomic(path: string, data: string | ((fd: number) => void)): void {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (typeof data === 'string') writeFileSync(tmp, data);
    else {
      const fd = openSync(tmp, 'w');
      try {
        data(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new WriteError(path, e);
  }
}
