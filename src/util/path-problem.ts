/**
 * Why a path the user named could not be looked at or opened, in words rather than fs's codes:
 * `cannot read (ELOOP)` means nothing to most people, and existsSync() says "no such file" of
 * a link that leads back to itself, which sends them looking for a file that is there.
 */
export function pathProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ELOOP':
      return 'a loop of symbolic links (a link that leads back to itself); point the link at a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return `cannot read (${code ?? (err as Error)?.message ?? String(err)})`;
  }
}

/** Why `path` cannot be looked at, or null when stat() can (it exists, as far as links go). */
export function statProblem(path: string, stat: (path: string) => unknown): string | null {
  try {
    stat(path);
    return null;
  } catch (err) {
    return pathProblem(err);
  }
}
