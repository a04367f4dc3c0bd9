import { describe, expect, it } from 'vitest';
import { UserError } from '../src/config/errors.js';
import { parseWhere, type Value } from '../src/query/where.js';

const known = ['val_acc', 'test_acc', 'status', 'sweep', 'id', 'model.pooling', 'model.batchnorm', 'optimizer.lr', 'training.seed'];

type Trial = Record<string, Value>;
const trials: Trial[] = [
  { id: 'a', status: 'done', val_acc: 0.99, 'model.pooling': 'max', 'model.batchnorm': true, 'optimizer.lr': 1e-3, 'training.seed': 1 },
  { id: 'b', status: 'done', val_acc: 0.97, 'model.pooling': 'max', 'model.batchnorm': false, 'optimizer.lr': 0.01, 'training.seed': -2 },
  { id: 'c', status: 'done', val_acc: 0.985, 'model.pooling': 'avg', 'model.batchnorm': true, 'optimizer.lr': 0.1, 'training.seed': 3 },
  // Still running: no accuracy yet, and a pooling name with a quote in it.
  { id: 'd', status: 'running', val_acc: null, 'model.pooling': "l'2", 'model.batchnorm': null, 'optimizer.lr': 1e-3, 'training.seed': 4 },
];

/** The ids of the trials that pass EXPR. */
function select(expr: string): string[] {
  const where = parseWhere(expr, known);
  return trials.filter((t) => where.test((name) => t[name] ?? null)).map((t) => t.id as string);
}

/** Whether EXPR holds for a trial whose every name looks up VALUES[name]. */
function holds(expr: string, values: Trial): boolean {
  return parseWhere(expr, known).test((name) => values[name] ?? null);
}

/** The message of the UserError that EXPR raises, checking it is one `--where: ` problem on one line. */
function errorFor(expr: string): string {
  try {
    parseWhere(expr, known);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const problems = (err as UserError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^--where: /);
    expect(problems[0].message).not.toContain('\n');
    return problems[0].message;
  }
  throw new Error(`expected ${JSON.stringify(expr)} to be rejected`);
}

describe('parseWhere: evaluation', () => {
  it('filters by the documented example', () => {
    expect(select("model.pooling = 'max' and val_acc > 0.98")).toEqual(['a']);
    expect(select("model.pooling = 'avg' and val_acc > 0.98")).toEqual(['c']);
  });

  it("binds 'and' tighter than 'or', and parentheses override", () => {
    // a or (b and c): only a satisfies the left side; b fails val_acc.
    expect(select("id = 'a' or model.pooling = 'max' and val_acc > 0.98")).toEqual(['a']);
    expect(select("id = 'c' or model.pooling = 'max' and val_acc > 0.98")).toEqual(['a', 'c']);
    expect(select("(id = 'b' or model.pooling = 'avg') and val_acc > 0.98")).toEqual(['c']);
    expect(select("id = 'b' or model.pooling = 'avg' and val_acc > 0.98")).toEqual(['b', 'c']);
  });

  it("negates with 'not', which binds tighter than 'and'", () => {
    expect(select("not status = 'done'")).toEqual(['d']);
    expect(select("not model.pooling = 'max' and status = 'done'")).toEqual(['c']);
    expect(select("not (model.pooling = 'max' and status = 'done')")).toEqual(['c', 'd']);
    expect(select("not not status = 'running'")).toEqual(['d']);
  });

  it('treats keywords case-insensitively', () => {
    expect(select("model.pooling = 'max' AND val_acc > 0.98")).toEqual(['a']);
    expect(select("status IS NOT NULL And Not model.batchnorm OR id In ('c')")).toEqual(['b', 'c']);
  });

  it("supports 'in' and 'not in' with mixed literals", () => {
    expect(select("model.pooling in ('avg', 'max')")).toEqual(['a', 'b', 'c']);
    expect(select("model.pooling not in ('avg', 'max')")).toEqual(['d']);
    expect(select('training.seed in (-2, 3, 99)')).toEqual(['b', 'c']);
    expect(select("training.seed in ('1', 4)")).toEqual(['d']);
    expect(select('model.batchnorm in (true)')).toEqual(['a', 'c']);
  });

  it("supports 'is null' and 'is not null'", () => {
    expect(select('val_acc is null')).toEqual(['d']);
    expect(select('val_acc is not null')).toEqual(['a', 'b', 'c']);
    expect(select('sweep is null')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reads ints, decimals, exponents and negative numbers', () => {
    expect(select('optimizer.lr = 1e-3')).toEqual(['a', 'd']);
    expect(select('optimizer.lr <= 1E-2')).toEqual(['a', 'b', 'd']);
    expect(select('optimizer.lr > .05')).toEqual(['c']);
    expect(select('training.seed < 0')).toEqual(['b']);
    expect(select('training.seed>-3 and training.seed<=-2')).toEqual(['b']);
    expect(select('training.seed = -2.0')).toEqual(['b']);
    expect(select('val_acc >= 9.85e-1')).toEqual(['a', 'c']);
  });

  it('accepts all comparison operators, including the SQL spellings', () => {
    const at = (op: string) => select(`training.seed ${op} 3`);
    expect(at('=')).toEqual(['c']);
    expect(at('==')).toEqual(['c']);
    expect(at('!=')).toEqual(['a', 'b', 'd']);
    expect(at('<>')).toEqual(['a', 'b', 'd']);
    expect(at('<')).toEqual(['a', 'b']);
    expect(at('<=')).toEqual(['a', 'b', 'c']);
    expect(at('>')).toEqual(['d']);
    expect(at('>=')).toEqual(['c', 'd']);
  });

  it('uses a bare boolean name as a condition, true only when the value is exactly true', () => {
    expect(select('model.batchnorm')).toEqual(['a', 'c']);
    // d has no value: not unknown is unknown, as in SQL.
    expect(select('not model.batchnorm')).toEqual(['b']);
    expect(select('model.batchnorm = true')).toEqual(['a', 'c']);
    expect(select('model.batchnorm = FALSE')).toEqual(['b']);
    expect(holds('val_acc', { val_acc: 1 })).toBe(false);
    expect(holds('true', {})).toBe(true);
    expect(holds('false or (true)', {})).toBe(true);
  });

  it('reads both quote styles and doubled-quote escapes', () => {
    expect(select("model.pooling = 'l''2'")).toEqual(['d']);
    expect(select('model.pooling = "l\'2"')).toEqual(['d']);
    expect(holds('status = "say ""hi"""', { status: 'say "hi"' })).toBe(true);
    expect(holds("status = ''", { status: '' })).toBe(true);
    expect(holds("status = 'and or not ( )'", { status: 'and or not ( )' })).toBe(true);
  });

  it('makes every comparison with null unknown (never true), except is null', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>=']) {
      expect(holds(`val_acc ${op} 0.5`, { val_acc: null }), op).toBe(false);
      expect(holds(`val_acc ${op} null`, { val_acc: 0.5 }), op).toBe(false);
      expect(holds(`val_acc ${op} null`, { val_acc: null }), op).toBe(false);
    }
    expect(holds('val_acc in (null, 0.5)', { val_acc: null })).toBe(false);
    // Three-valued, as in SQL: `not` of an unknown comparison is still unknown.
    expect(holds('not val_acc > 0.5', { val_acc: null })).toBe(false);
    expect(holds('val_acc not in (0.5)', { val_acc: null })).toBe(false);
    expect(holds('val_acc > 0.5 or true', { val_acc: null })).toBe(true);
    expect(holds('not (val_acc > 0.5 and false)', { val_acc: null })).toBe(true);
    expect(select('not val_acc > 0.98')).toEqual(['b']);
  });

  it('never equates or orders a number with a string, and never throws', () => {
    expect(holds("training.seed = '1'", { 'training.seed': 1 })).toBe(false);
    expect(holds("training.seed != '1'", { 'training.seed': 1 })).toBe(true);
    expect(holds("training.seed <> '1'", { 'training.seed': 1 })).toBe(true);
    for (const op of ['<', '<=', '>', '>=']) {
      expect(holds(`training.seed ${op} '1'`, { 'training.seed': 1 }), op).toBe(false);
      expect(holds(`status ${op} 1`, { status: 'done' }), op).toBe(false);
    }
  });

  it('compares booleans with numbers as SQLite stores them (1 and 0)', () => {
    expect(holds('model.batchnorm = 1', { 'model.batchnorm': true })).toBe(true);
    expect(holds('model.batchnorm = 0', { 'model.batchnorm': false })).toBe(true);
    expect(holds('model.batchnorm > 0', { 'model.batchnorm': false })).toBe(false);
    expect(select('model.batchnorm = 0')).toEqual(['b']);
  });

  it("'not in' a list with null is unknown unless the value is in it, as in SQL", () => {
    expect(select('training.seed not in (1, null)')).toEqual([]);
    expect(select('training.seed in (1, null)')).toEqual(['a']);
    expect(select('training.seed not in (1, 3)')).toEqual(['b', 'd']);
  });

  it('compares strings by code units', () => {
    expect(holds("status < 'e'", { status: 'done' })).toBe(true);
    expect(holds("status >= 'e'", { status: 'done' })).toBe(false);
    expect(holds("status < 'a'", { status: 'Z' })).toBe(true);
  });

  it('compares two names with each other', () => {
    expect(holds('val_acc > test_acc', { val_acc: 0.99, test_acc: 0.98 })).toBe(true);
    expect(holds('val_acc > test_acc', { val_acc: 0.99, test_acc: null })).toBe(false);
  });

  it('lists the names used, once each, in order of appearance', () => {
    expect(parseWhere("model.pooling = 'max' and val_acc > 0.98 or val_acc is null", known).names).toEqual(['model.pooling', 'val_acc']);
    expect(parseWhere('not (optimizer.lr in (1, 2)) and model.batchnorm', known).names).toEqual(['optimizer.lr', 'model.batchnorm']);
    expect(parseWhere("'x' = 'x'", known).names).toEqual([]);
  });

  it('only looks up names the expression uses', () => {
    const asked: string[] = [];
    parseWhere('training.seed = 1', known).test((name) => (asked.push(name), 1));
    expect(asked).toEqual(['training.seed']);
  });
});

describe('parseWhere: errors', () => {
  it('rejects an unknown name with a did-you-mean and a reminder of what names are', () => {
    const msg = errorFor("model.pool = 'max'");
    expect(msg).toBe(
      "--where: unknown name 'model.pool' at column 1 (did you mean 'model.pooling'?); " +
        'names are metric columns (val_acc, test_acc, status, …) and config paths (model.pooling, model.batchnorm, optimizer.lr, …)',
    );
    expect(errorFor('val_ac > 0.9')).toContain("unknown name 'val_ac' at column 1 (did you mean 'val_acc'?)");
    expect(errorFor("status = 'done' and wibble")).toMatch(/unknown name 'wibble' at column 21; names are metric columns/);
  });

  it('hints to quote a bare word compared to a name', () => {
    expect(errorFor('model.pooling = max')).toBe("--where: unknown name 'max' at column 17; 'max' is not a name; quote text values: 'max'");
    expect(errorFor('done = status')).toContain("unknown name 'done' at column 1; 'done' is not a name; quote text values: 'done'");
    expect(errorFor('model.pooling in (max)')).toBe(
      "--where: expected a value (number, quoted text, true, false or null) after '(' at column 19, found name 'max'; quote text values: 'max'",
    );
  });

  it('rejects an unterminated string, saying where it starts and how to close it', () => {
    expect(errorFor("status = 'done")).toBe("--where: unterminated string starting at column 10; end it with ' (write '' for a ' inside it)");
    expect(errorFor('status = "it""s')).toContain('unterminated string starting at column 10; end it with "');
  });

  it('rejects an empty expression', () => {
    expect(errorFor('')).toBe('--where: empty expression; write a condition such as val_acc > 0.98');
    expect(errorFor('   ')).toContain('empty expression');
  });

  it('rejects an expression that ends too early', () => {
    expect(errorFor('val_acc >')).toBe("--where: expected a name, a value or '(' after '>' at column 10, found the end of the expression");
    expect(errorFor("status = 'done' and")).toContain("expected a name, a value or '(' after 'and' at column 20, found the end of the expression");
    expect(errorFor('val_acc is')).toBe("--where: expected 'null' after 'is' at column 11, found the end of the expression; write 'is null' or 'is not null'");
  });

  it('rejects unexpected tokens, saying what was expected', () => {
    expect(errorFor('val_acc 0.9')).toBe(
      "--where: expected 'and', 'or' or the end after name 'val_acc' at column 9, found number 0.9; compare with an operator (= != <> < <= > >=) or join conditions with 'and' / 'or'",
    );
    expect(errorFor('val_acc > 0.9 test_acc > 0.9')).toContain("found name 'test_acc'");
    expect(errorFor('val_acc > and')).toContain("expected a name, a value or '(' after '>' at column 11, found 'and'");
    expect(errorFor('val_acc not = 1')).toContain("expected 'in' after 'not' at column 13, found '='");
    expect(errorFor('val_acc in 1')).toContain("expected '(' after 'in' at column 12, found number 1; write a list like in ('max', 'avg')");
    expect(errorFor('val_acc > 0.5)')).toContain("at column 14, found ')'; remove the extra ')'");
    expect(errorFor('val_acc @ 1')).toBe("--where: unexpected character '@' at column 9; names use letters, digits, _ and dots, and text values need quotes");
    expect(errorFor('optimizer.lr = 1e')).toContain("malformed number '1e' at column 16; write numbers like 0.98, -2 or 1e-3");
  });

  it('rejects a value used as a condition', () => {
    expect(errorFor("'max'")).toBe("--where: 'max' at column 1 is a value, not a condition; compare it with a name, e.g. model.pooling = 'max'");
    expect(errorFor('val_acc > 0.5 and 0.9')).toContain('0.9 at column 19 is a value, not a condition');
  });

  it("rejects a missing ')', pointing at the '(' it should close", () => {
    expect(errorFor("(status = 'done' or val_acc > 0.9")).toBe(
      "--where: expected ')' after number 0.9 at column 34, found the end of the expression; add ')' to close the '(' at column 1",
    );
    expect(errorFor("status in ('done', 'running'")).toContain("expected ',' or ')' after text 'running' at column 29, found the end of the expression; close the list opened at column 11");
  });

  it('rejects unknown operators, listing the real ones', () => {
    expect(errorFor('val_acc => 0.9')).toBe("--where: unknown operator '=>' at column 9; use one of = != <> < <= > >=");
    expect(errorFor("model.pooling ~ 'max'")).toBe("--where: unknown operator '~' at column 15; use one of = != <> < <= > >=");
    expect(errorFor('val_acc === 1')).toContain("unknown operator '===' at column 9");
    expect(errorFor('model.batchnorm && val_acc > 0.9')).toContain("unknown operator '&&' at column 17; write 'and'");
    expect(errorFor('model.batchnorm || val_acc > 0.9')).toContain("write 'or'");
    expect(errorFor('! model.batchnorm')).toContain("unknown operator '!' at column 1; write 'not'");
    expect(errorFor('training.seed = - 1')).toContain("unknown operator '-' at column 17; there is no arithmetic");
  });
});

it('refuses an expression nested too deeply to evaluate, as bad input', () => {
  expect(() => parseWhere(`${'not '.repeat(50_000)}true`, [])).toThrow(/^--where: the expression is nested too deeply; simplify it$/);
  expect(() => parseWhere(`${'not '.repeat(50_000)}true`, [])).toThrow(UserError);
});
