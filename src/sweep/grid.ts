/** Assignments of swept values to config paths, and setting them into a config. */
export type ParamValue = string | number | boolean;
export type Assignment = Record<string, ParamValue>;

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
