/**
 * How the early-termination rules write their figures into a verdict's reason: up to 4
 * significant digits, as people read them. A value and the cutoff it missed never read the
 * same: when 4 digits would show them equal (0.93412 against 0.93415), more are used.
 */

/** `x` with up to `digits` significant digits, without trailing zeros (0.912, 12350, NaN). */
export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(digits)));
}

/** Two figures that differ, written with the fewest digits (4 or more) that show they differ. */
export function fmtPair(a: number, b: number): [string, string] {
  for (let digits = 4; digits < 17; digits++) {
    const pair: [string, string] = [fmt(a, digits), fmt(b, digits)];
    if (pair[0] !== pair[1]) return pair;
  }
  return [fmt(a, 17), fmt(b, 17)];
}

/** 1 → "1st", 2 → "2nd", 13 → "13th". */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
