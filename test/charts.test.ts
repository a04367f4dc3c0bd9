import { describe, expect, it } from 'vitest';
import { lineChart, progressBar, sparkline } from '../src/view/charts.js';

describe('sparkline', () => {
  it('maps min to ▁ and max to █, linearly in between', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([10, -5, 3])).toBe('█▁▅'); // (3 - -5) / 15 * 7 = 3.73 → index 4
  });

  it('renders nulls and non-finite values as spaces and ignores them for scaling', () => {
    expect(sparkline([1, null, NaN, 3, Infinity, 2])).toBe('▁  █ ▅');
  });

  it('draws a constant series at mid height', () => {
    expect(sparkline([5, 5, null, 5])).toBe('▄▄ ▄');
  });

  it('keeps the last `width` values when truncating', () => {
    const s = sparkline([100, 0, 1, 2, 3], 3);
    expect(s).toBe('▁▅█');
    expect(s.length).toBe(3);
    expect(sparkline([1, 2], 5)).toBe('▁█');
    expect(sparkline([1, 2, 3], 0)).toBe('');
  });

  it('handles empty and all-null input', () => {
    expect(sparkline([])).toBe('');
    expect(sparkline([null, null])).toBe('  ');
  });
});

describe('progressBar', () => {
  it('is always exactly `width` characters', () => {
    for (const width of [1, 3, 8, 17]) {
      for (const f of [-1, 0, 0.01, 0.33, 0.5, 0.999, 1, 2, NaN]) {
        expect(progressBar(f, width).length).toBe(width);
      }
    }
  });

  it('draws full, partial and empty cells', () => {
    expect(progressBar(0, 8)).toBe('░░░░░░░░');
    expect(progressBar(0.5, 8)).toBe('████░░░░');
    expect(progressBar(1, 8)).toBe('████████');
    expect(progressBar(0.0625, 8)).toBe('▌░░░░░░░'); // half of the first cell
    expect(progressBar(1 / 64, 8)).toBe('▏░░░░░░░');
    expect(progressBar(0.3, 10)).toBe('███░░░░░░░');
    expect(progressBar(0.29, 100)).toBe('█'.repeat(29) + '░'.repeat(71));
    expect(progressBar(0.37, 20)).toBe('███████▍░░░░░░░░░░░░'); // 7.4 cells → 7 full + 3/8
  });

  it('only looks complete when complete', () => {
    expect(progressBar(0.999, 8)).toBe('███████▉');
  });

  it('clamps the fraction', () => {
    expect(progressBar(-0.5, 4)).toBe('░░░░');
    expect(progressBar(1.5, 4)).toBe('████');
  });

  it('returns an empty string for non-positive widths', () => {
    expect(progressBar(0.5, 0)).toBe('');
    expect(progressBar(0.5, -3)).toBe('');
  });
});

describe('lineChart', () => {
  const train = [2.3, 1.2, 0.8, 0.6, 0.5, 0.45, 0.4, null, 0.35, 0.33];
  const val = [2.1, 1.3, 0.9, 0.75, 0.7, 0.68, 0.69, 0.7, 0.72, 0.74];
  const series = [
    { label: 'train_loss', values: train },
    { label: 'val_loss', values: val },
  ];

  it('has height + 2 lines, none wider than `width`', () => {
    for (const [width, height] of [[40, 8], [20, 3], [60, 12], [12, 1]]) {
      const lines = lineChart(series, { width, height });
      expect(lines).toHaveLength(height + 2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
    }
  });

  it('puts the max in the top row and the min in the bottom row', () => {
    const lines = lineChart(series, { width: 40, height: 8 });
    // Max 2.3 is train's first point, min 0.33 its last: first and last plot columns.
    expect(lines[0]).toMatch(/^ 2\.3 ┤●/);
    expect(lines[7]).toMatch(/^0\.33 ┤.*●$/);
    expect(lines[1]).toMatch(/^ {5}│○/); // val's 2.1 sits one row below
    expect(lines.slice(1, 7).join('')).not.toContain('●'.repeat(2));
  });

  it('labels top, middle and bottom rows', () => {
    const lines = lineChart(series, { width: 40, height: 8 });
    const labelled = lines.slice(0, 8).map((l) => l.slice(0, 6));
    // Middle row 3 of 0..7: 2.3 - 3/7 * (2.3 - 0.33) = 1.456 → "1.46".
    expect(labelled).toEqual([' 2.3 ┤', '     │', '     │', '1.46 ┤', '     │', '     │', '     │', '0.33 ┤']);
  });

  it('uses opts.format for the y labels', () => {
    const lines = lineChart([{ label: 'acc', values: [0.5, 1] }], {
      width: 30,
      height: 3,
      format: (v) => `${(v * 100).toFixed(0)}%`,
    });
    expect(lines.slice(0, 3).map((l) => l.slice(0, 6))).toEqual(['100% ┤', ' 75% ┤', ' 50% ┤']);
  });

  it('draws an x axis with the first and last epoch, and a legend', () => {
    const lines = lineChart(series, { width: 40, height: 8 });
    expect(lines[8]).toBe('     └1' + '─'.repeat(31) + '10');
    expect(lines[9]).toBe('● train_loss  ○ val_loss');
  });

  it('spreads x over the plot width and leaves gaps for nulls', () => {
    const lines = lineChart([{ label: 'a', values: [1, null, 3] }], { width: 13, height: 3 });
    // Labels "3", "2", "1" → prefix of 3 characters, plot width 10: x at columns 0, (5), 9.
    expect(lines.slice(0, 3)).toEqual(['3 ┤         ●', '2 ┤          ', '1 ┤●         ']);
    expect(lines[3]).toBe('  └1────────3');
  });

  it('lets the later series win a shared cell', () => {
    const lines = lineChart(
      [
        { label: 'a', values: [1, 2] },
        { label: 'b', values: [1, 0] },
        { label: 'c', values: [null, 2] },
        { label: 'd', values: [0] },
      ],
      { width: 12, height: 3 },
    );
    expect(lines[0].endsWith('◆')).toBe(true);
    expect(lines[1]).toMatch(/┤○/);
    expect(lines[2]).toMatch(/┤× +○$/);
    expect(lines[4]).toBe('● a  ○ b  ◆ ');
  });

  it('centres a constant single point in one column', () => {
    const lines = lineChart([{ label: 'acc', values: [0.98] }], { width: 30, height: 5 });
    expect(lines[2]).toMatch(/^ 0\.98 ┤●\s*$/);
    expect(lines.join('').split('●').length - 1).toBe(2); // the point and the legend
    expect(lines[5]).toBe('      └1' + '─'.repeat(22)); // labels "1.08", "0.98", "0.882": plot width 30 - 7
  });

  it('reports missing data', () => {
    expect(lineChart([], { width: 40, height: 8 })).toEqual(['(no data yet)']);
    expect(lineChart([{ label: 'x', values: [null, NaN] }], { width: 40, height: 8 })).toEqual(['(no data yet)']);
  });

  it('uses only single-code-unit characters, so length is display width', () => {
    const text = [
      ...lineChart(series, { width: 40, height: 8 }),
      sparkline([1, 5, null, 3]),
      progressBar(0.4, 9),
    ].join('');
    expect([...text].length).toBe(text.length);
    expect(text).not.toMatch(/\x1b/);
  });
});
