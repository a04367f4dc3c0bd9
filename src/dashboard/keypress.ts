/**
 * Key presses out of one read of the terminal. Ink 6 splits each chunk it reads at escape
 * sequences (its input-parser: `\x1b[B`, `\x1bOA`, Esc + one character, a lone Esc) and parses
 * each of those as one key, but hands a run of other characters to useInput as one event with
 * a blank Key (parse-keypress names only single characters): `s\r`, `q\x03`, `\r\x7f` arrive
 * as input 's\r' with key.return false. keyPresses splits such a run into its characters, each
 * with the Key Ink gives it when it comes alone, and passes Ink's own keys through as they are.
 */
import type { Key } from 'ink';

export interface KeyPress {
  input: string;
  key: Key;
}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

const FLAGS = Object.keys(NO_KEY).filter((k) => k !== 'shift') as (keyof Key)[];

/** One character as Ink's useInput reports it when it arrives alone (escape sequences never reach here). */
export function keyOf(ch: string): KeyPress {
  const key = (flags: Partial<Key>, input = '') => ({ input, key: { ...NO_KEY, ...flags } });
  if (ch === '\r') return key({ return: true }, '\r');
  if (ch === '\t') return key({ tab: true });
  if (ch === '\b') return key({ backspace: true });
  if (ch === '\u007F') return key({ delete: true }); // Ink's name for the Backspace key's DEL
  if (ch === '\u001B') return key({ escape: true, meta: true });
  if (ch === '\n') return key({}, '\n');
  if (ch < '\u001B') return key({ ctrl: true }, String.fromCharCode(ch.charCodeAt(0) + 96)); // \x03: Ctrl-C
  return key({ shift: /^[A-Z]$/.test(ch) }, ch);
}

/**
 * The key presses in what useInput passed: Ink's parsed key as it is, or, for a run of several
 * characters that Ink left unparsed (a blank Key), each character with its own Key. The Backspace
 * key's DEL (Ink: delete) counts as backspace.
 */
export function keyPresses(input: string, key: Key): KeyPress[] {
  const chars = [...input];
  const unparsed = chars.length > 1 && FLAGS.every((f) => !key[f]);
  const presses = unparsed ? chars.map(keyOf) : [{ input, key }];
  return presses.map((p) => (p.key.delete && !p.key.backspace ? { ...p, key: { ...p.key, backspace: true } } : p));
}
