/**
 * The one error type for user mistakes. Each problem names the file and, where known, the line
 * and column; the CLI prints one line per problem (`file:line:col: message`) and exits with 2.
 */
export interface Problem {
  file?: string;
  line?: number;
  col?: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.col].filter((v) => v !== undefined).join(':');
  return where ? `${where}: ${p.message}` : p.message;
}

export class UserError extends Error {
  override readonly name = 'UserError';
  readonly problems: Problem[];

  constructor(problems: Problem[] | Problem | string) {
    const list = typeof problems === 'string' ? [{ message: problems }] : Array.isArray(problems) ? problems : [problems];
    super(list.map(formatProblem).join('\n'));
    this.problems = list;
  }
}
