/**
 * The filter language of `sweep runs list --where EXPR`, e.g. `model.pooling = 'max' and val_acc > 0.98`.
 *
 * Trials are filtered in memory (never translated to SQL), so this is a tokenizer, a recursive descent
 * parser into a tiny AST, and an evaluator. The syntax is SQL-flavoured so SQLite users feel at home,
 * and every mistake becomes one `--where: …` line saying what is wrong, at which column, and how to fix it.
 */
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';

export type Value = string | number | boolean | null;

export interface Where {
  /** The names the expression uses (for callers that want to know, e.g. to load only needed data). */
  names: string[];
  /** Whether a trial passes; `lookup` returns the trial's value for a known name (null when the trial has none). */
  test(lookup: (name: string) => Value): boolean;
}

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** Both SQL spellings are accepted (`==` and `<>` too), normalised here so the evaluator sees six operators. */
const OPS: Record<string, Op> = { '=': '=', '==': '=', '!=': '!=', '<>': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const OP_LIST = '= != <> < <= > >=';
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

interface Token {
  kind: 'num' | 'str' | 'word' | 'op' | 'punct' | 'end';
  /** The source text (for words: a name or keyword, told apart by the parser since keywords are case-insensitive). */
  text: string;
  /** 1-based, as users count. */
  col: number;
  /** The literal's value for numbers and strings. */
  value: Value;
}

type Node =
  | { kind: 'value'; value: Value; col: number }
  | { kind: 'name'; name: string; col: number }
  | { kind: 'compare'; op: Op; left: Node; right: Node }
  | { kind: 'in'; operand: Node; list: Value[]; negated: boolean }
  | { kind: 'isNull'; operand: Node; negated: boolean }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; operand: Node };

function fail(message: string): never {
  // The CLI prints one line per problem, so a newline inside a quoted value must not split the message.
  throw new UserError(`--where: ${message.replace(/[\r\n]+/g, ' ')}`);
}

/** Hints for operators people bring from other languages. */
function operatorHint(text: string): string {
  if (text.startsWith('&')) return "write 'and'";
  if (text.startsWith('|')) return "write 'or'";
  if (text === '!') return "write 'not'";
  if (text === '-') return 'there is no arithmetic; write negative numbers as -1, without a space';
  return `use one of ${OP_LIST}`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const col = i + 1;
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if (/\s/.test(ch)) {
      i++;
    } else if ((m = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest))) {
      // There is no binary minus, so a '-' right before a digit can only be a sign.
      const junk = /^[\w.]+/.exec(rest.slice(m[0].length));
      if (junk) fail(`malformed number '${m[0]}${junk[0]}' at column ${col}; write numbers like 0.98, -2 or 1e-3, and quote text values`);
      tokens.push({ kind: 'num', text: m[0], col, value: Number(m[0]) });
      i += m[0].length;
    } else if (ch === "'" || ch === '"') {
      // SQL escaping: the quote character doubled stands for itself.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail(`unterminated string starting at column ${col}; end it with ${ch} (write ${ch}${ch} for a ${ch} inside it)`);
        if (text[j] === ch) {
          if (text[j + 1] !== ch) break;
          value += ch;
          j += 2;
        } else {
          value += text[j++];
        }
      }
      tokens.push({ kind: 'str', text: text.slice(i, j + 1), col, value });
      i = j + 1;
    } else if ((m = /^[A-Za-z_][\w.]*/.exec(rest))) {
      tokens.push({ kind: 'word', text: m[0], col, value: null });
      i += m[0].length;
    } else if ('(),'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, col, value: null });
      i++;
    } else if ((m = /^[=!<>]+/.exec(rest)) || (m = /^[~&|+\-*/%^]+/.exec(rest))) {
      // Take the whole run of operator characters so `=>` is reported as itself, not as `=` then `>`.
      if (!(m[0] in OPS)) fail(`unknown operator '${m[0]}' at column ${col}; ${operatorHint(m[0])}`);
      tokens.push({ kind: 'op', text: m[0], col, value: null });
      i += m[0].length;
    } else {
      fail(`unexpected character '${ch}' at column ${col}; names use letters, digits, _ and dots, and text values need quotes`);
    }
  }
  tokens.push({ kind: 'end', text: '', col: text.length + 1, value: null });
  return tokens;
}

function isKeyword(t: Token, keyword?: string): boolean {
  return t.kind === 'word' && (keyword === undefined ? KEYWORDS.has(t.text.toLowerCase()) : t.text.toLowerCase() === keyword);
}

/** The literal a token stands for (numbers, strings, true, false, null), or undefined. */
function literal(t: Token): { value: Value } | undefined {
  const word = t.text.toLowerCase();
  if (t.kind === 'num' || t.kind === 'str') return { value: t.value };
  if (t.kind === 'word' && (word === 'true' || word === 'false')) return { value: word === 'true' };
  if (isKeyword(t, 'null')) return { value: null };
  return undefined;
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the expression';
  if (t.kind === 'num') return `number ${t.text}`;
  if (t.kind === 'str') return `text ${t.text}`;
  if (t.kind === 'word' && !isKeyword(t)) return `name '${t.text}'`;
  return `'${t.text}'`;
}

/** A value as the user would write it, for hints. */
function show(v: Value): string {
  return typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v);
}

/** "names are metric columns (val_acc, test_acc, …) and config paths (model.pooling, …)": a reminder, not a catalogue. */
function namesHelp(known: readonly string[]): string {
  const few = (list: string[]) => list.slice(0, 3).join(', ') + (list.length > 3 ? ', …' : '');
  const metrics = known.filter((n) => !n.includes('.'));
  const paths = known.filter((n) => n.includes('.'));
  const parts = [metrics.length ? `metric columns (${few(metrics)})` : '', paths.length ? `config paths (${few(paths)})` : ''];
  const kinds = parts.filter(Boolean).join(' and ');
  return kinds ? `names are ${kinds}` : 'no names are known';
}

export function parseWhere(text: string, known: readonly string[]): Where {
  try {
    return parse(text, known);
  } catch (err) {
    // Thousands of nested 'not's or parentheses exhaust the recursive descent: bad input too.
    if (err instanceof RangeError) fail('the expression is nested too deeply; simplify it');
    throw err;
  }
}

function parse(text: string, known: readonly string[]): Where {
  const tokens = tokenize(text);
  if (tokens.length === 1) fail(`empty expression; write a condition such as val_acc > 0.98`);
  const names: string[] = [];
  let pos = 0;
  const peek = () => tokens[pos];
  const accept = (keyword: string) => (isKeyword(peek(), keyword) ? (pos++, true) : false);
  const atPunct = (p: string) => peek().kind === 'punct' && peek().text === p;

  function expected(what: string, hint = ''): never {
    const t = peek();
    const after = pos > 0 ? ` after ${describe(tokens[pos - 1])}` : '';
    fail(`expected ${what}${after} at column ${t.col}, found ${describe(t)}${hint ? `; ${hint}` : ''}`);
  }

  /** Names are checked where they are compared, so a bare word next to a name can get the "quote it" hint. */
  function checkName(node: Node, other?: Node): void {
    if (node.kind !== 'name') return;
    if (known.includes(node.name)) {
      if (!names.includes(node.name)) names.push(node.name);
      return;
    }
    const comparedToName = other?.kind === 'name' && known.includes(other.name);
    const hint = comparedToName ? `'${node.name}' is not a name; quote text values: '${node.name}'` : namesHelp(known);
    fail(`unknown name '${node.name}' at column ${node.col}${didYouMean(node.name, known)}; ${hint}`);
  }

  /** A condition must be something that can be true: `where 'max'` or `where 0.5` is surely a slip. */
  function asCondition(node: Node): Node {
    if (node.kind === 'value' && typeof node.value !== 'boolean') {
      const name = known.find((n) => n.includes('.')) ?? known[0] ?? 'val_acc';
      const example = node.value === null ? `${name} is null` : `${name} = ${show(node.value)}`;
      fail(`${show(node.value)} at column ${node.col} is a value, not a condition; compare it with a name, e.g. ${example}`);
    }
    return node;
  }

  // Precedence, loosest first: or, and, not, comparison — as in SQL.
  function parseOr(): Node {
    let node = parseAnd();
    while (accept('or')) node = { kind: 'or', left: asCondition(node), right: asCondition(parseAnd()) };
    return node;
  }

  function parseAnd(): Node {
    let node = parseNot();
    while (accept('and')) node = { kind: 'and', left: asCondition(node), right: asCondition(parseNot()) };
    return node;
  }

  function parseNot(): Node {
    return accept('not') ? { kind: 'not', operand: asCondition(parseNot()) } : parseComparison();
  }

  function parseComparison(): Node {
    const left = parseOperand();
    const t = peek();
    if (t.kind === 'op') {
      pos++;
      const right = parseOperand();
      checkName(left, right);
      checkName(right, left);
      return { kind: 'compare', op: OPS[t.text], left, right };
    }
    checkName(left);
    if (accept('is')) {
      const negated = accept('not');
      if (!accept('null')) expected("'null'", "write 'is null' or 'is not null'");
      return { kind: 'isNull', operand: left, negated };
    }
    if (isKeyword(t, 'not') || isKeyword(t, 'in')) {
      const negated = accept('not');
      if (!accept('in')) expected("'in'", "write 'not in (…)', or put 'not' before the whole condition");
      return { kind: 'in', operand: left, list: parseList(), negated };
    }
    return left;
  }

  function parseList(): Value[] {
    if (!atPunct('(')) expected("'('", "write a list like in ('max', 'avg')");
    const open = tokens[pos++];
    const list: Value[] = [];
    for (;;) {
      const t = peek();
      const lit = literal(t);
      if (!lit) expected('a value (number, quoted text, true, false or null)', t.kind === 'word' && !isKeyword(t) ? `quote text values: '${t.text}'` : '');
      list.push(lit.value);
      pos++;
      if (!atPunct(',')) break;
      pos++;
    }
    if (!atPunct(')')) expected("',' or ')'", `close the list opened at column ${open.col} with ')'`);
    pos++;
    return list;
  }

  function parseOperand(): Node {
    const t = peek();
    const lit = literal(t);
    if (lit) {
      pos++;
      return { kind: 'value', value: lit.value, col: t.col };
    }
    if (t.kind === 'word' && !isKeyword(t)) {
      pos++;
      return { kind: 'name', name: t.text, col: t.col };
    }
    if (atPunct('(')) {
      pos++;
      const inner = parseOr();
      if (!atPunct(')')) expected("')'", `add ')' to close the '(' at column ${t.col}`);
      pos++;
      return inner;
    }
    return expected("a name, a value or '('");
  }

  const root = asCondition(parseOr());
  if (peek().kind !== 'end') {
    const hint = atPunct(')') ? "remove the extra ')'" : `compare with an operator (${OP_LIST}) or join conditions with 'and' / 'or'`;
    expected("'and', 'or' or the end", hint);
  }
  return { names, test: (lookup) => evaluate(root, lookup) === true };
}

/** SQL's: a comparison involving null is unknown (null); values of different types are unequal, never ordered. */
function compare(op: Op, a: Value, b: Value): boolean | null {
  if (a === null || b === null) return null;
  // SQLite stores booleans as 1 and 0, so `model.batchnorm = 1` means what it means in runs sql.
  if (typeof a === 'boolean' && typeof b === 'number') a = Number(a);
  if (typeof b === 'boolean' && typeof a === 'number') b = Number(b);
  if (typeof a !== typeof b) return op === '!=';
  // Same typeof now, so JS's < and > mean numeric, code-unit or false<true order; the casts only calm TS.
  const [x, y] = [a as number, b as number];
  switch (op) {
    case '=': return x === y;
    case '!=': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
  }
}

/** A value as a condition: true, false, or unknown (null, or a value that is not a boolean). */
const truth = (v: Value): boolean | null => (typeof v === 'boolean' ? v : null);

/**
 * SQL's three-valued logic, so that filters mean what they mean in `sweep runs sql`: unknown
 * (a comparison with a missing value) is neither true nor false, `not` of unknown is unknown,
 * and a trial passes only when the whole condition is true. So `not (val_acc > 0.9)` and
 * `val_acc not in (0.9)` both leave out trials without a val_acc, as `val_acc <= 0.9` does.
 */
function evaluate(node: Node, lookup: (name: string) => Value): Value {
  switch (node.kind) {
    case 'value': return node.value;
    case 'name': return lookup(node.name) ?? null;
    case 'compare': return compare(node.op, evaluate(node.left, lookup), evaluate(node.right, lookup));
    case 'in': {
      const v = evaluate(node.operand, lookup);
      if (v === null) return null;
      if (node.list.some((item) => compare('=', v, item) === true)) return !node.negated;
      // As in SQL: not found in a list with a null is unknown, not false.
      return node.list.includes(null) ? null : node.negated;
    }
    case 'isNull': return (evaluate(node.operand, lookup) === null) !== node.negated;
    case 'and': {
      const [l, r] = [truth(evaluate(node.left, lookup)), truth(evaluate(node.right, lookup))];
      return l === false || r === false ? false : l === null || r === null ? null : true;
    }
    case 'or': {
      const [l, r] = [truth(evaluate(node.left, lookup)), truth(evaluate(node.right, lookup))];
      return l === true || r === true ? true : l === null || r === null ? null : false;
    }
    case 'not': {
      const v = truth(evaluate(node.operand, lookup));
      return v === null ? null : !v;
    }
  }
}
