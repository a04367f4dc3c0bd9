/** Plain-object helpers shared by config loading and search spaces. */

export type Mapping = Record<string, unknown>;

export const isMapping = (v: unknown): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at a path of keys (list indices as strings too), or undefined. */
export function valueAt(root: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Mapping)[k] : undefined), root);
}
