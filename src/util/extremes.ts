/**
 * The largest and smallest of a collection of numbers, as Math.max and Math.min give them (NaN
 * if any is NaN; -Infinity and Infinity when there are none), in a loop. Math.max(...values)
 * passes every value as an argument on the stack, which holds about 120,000 of them: a sweep of
 * 200,000 trials made it throw "Maximum call stack size exceeded".
 */

export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  return max;
}

export function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) min = Math.min(min, v);
  return min;
}
