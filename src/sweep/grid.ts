/** Grid search: every combination of the parameter values, the last parameter varying fastest. */
export type ParamValue = string | number | boolean;
export type Assignment = Record<string, ParamValue>;

export function gridAssignments(parameters: Record<string, ParamValue[]>): Assignment[] {
  return Object.entries(parameters).reduce<Assignment[]>(
    (combos, [path, values]) => combos.flatMap((c) => values.map((v) => ({ ...c, [path]: v }))),
    [{}],
  );
}

/** Sets a dotted path in a plain object, creating the mappings on the way. */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}
