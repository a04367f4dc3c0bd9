/** The --json outputs' layout: JSON.stringify's values, rows on one line each. */
import { describe, expect, it } from 'vitest';
import { jsonLines } from '../src/cli/output.js';
import { jsonText } from '../src/cli/json-text.js';

describe('jsonText', () => {
  it('a matrix is a row a line; objects of plain values in an array are a line each; the rest is indented as JSON.stringify(v, null, 2)', () => {
    const value = { trial: 'abc', confusion: [[1, 2], [3, 4]], history: [{ epoch: 1, acc: 0.5 }, { epoch: 2, acc: null }], config: { schedule: { milestones: [5, 8] } }, empty: [], none: {} };
    expect(jsonText(value)).toBe(`{
  "trial": "abc",
  "confusion": [
    [1, 2],
    [3, 4]
  ],
  "history": [
    {"epoch": 1, "acc": 0.5},
    {"epoch": 2, "acc": null}
  ],
  "config": {
    "schedule": {
      "milestones": [5, 8]
    }
  },
  "empty": [],
  "none": {}
}`);
  });

  it('says what JSON.stringify says: toJSON, undefined and functions left out of objects and null in arrays, NaN as null, strings escaped', () => {
    const values: unknown[] = [
      { at: new Date(0), skip: undefined, f: () => 1, n: NaN, s: 'a "quoted"\nline', list: [undefined, () => 1, Infinity, 'x'] },
      [{ a: { b: [1, [2, 3]] } }, [], {}],
      [1, 'two', null, true],
      'plain',
      42,
      null,
    ];
    for (const v of values) expect(JSON.parse(jsonText(v))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it('jsonLines streams the same text as jsonText of the whole array', async () => {
    const lines = async (values: unknown[]) => {
      const all: string[] = [];
      for await (const line of jsonLines(values)) all.push(line);
      return all.join('\n');
    };
    const rows = [{ id: 'a', params: { lr: 0.1 } }, { id: 'b', n: 2 }];
    expect(await lines(rows)).toBe(jsonText(rows));
    expect(await lines([])).toBe(jsonText([]));
  });
});
