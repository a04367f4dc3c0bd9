/**
 * JSON for people and programs alike: indented as JSON.stringify(value, null, 2), except that
 * rows stay on one line each: an array of plain values (a confusion matrix's row, a list of
 * milestones) and an object of plain values within an array (an epoch of a history). A 10×10
 * matrix is 12 lines, not 130.
 */
export function jsonText(value: unknown, indent = ''): string {
  const v = plain(value);
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    const items = v.map((item) => plain(item) ?? null);
    if (!items.length) return '[]';
    if (items.every(isFlat)) return `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
    return `[\n${items.map((item) => `${inner}${jsonRow(item, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v).map(([k, item]) => [k, plain(item)] as const).filter(([, item]) => item !== undefined);
  if (!entries.length) return '{}';
  return `{\n${entries.map(([k, item]) => `${inner}${JSON.stringify(k)}: ${jsonText(item, inner)}`).join(',\n')}\n${indent}}`;
}

/** A value as JSON.stringify sees it: toJSON applied, what JSON has no form for undefined. */
function plain(value: unknown): unknown {
  const v = value !== null && typeof (value as { toJSON?: unknown })?.toJSON === 'function' ? (value as { toJSON: () => unknown }).toJSON() : value;
  return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
}

const isFlat = (v: unknown) => v === null || v === undefined || typeof v !== 'object';

const isFlatObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((item) => isFlat(plain(item)));

function flatObject(v: Record<string, unknown>): string {
  const entries = Object.entries(v).map(([k, item]) => [k, plain(item)] as const).filter(([, item]) => item !== undefined);
  return entries.length ? `{${entries.map(([k, item]) => `${JSON.stringify(k)}: ${JSON.stringify(item)}`).join(', ')}}` : '{}';
}

/** An element of an array: an object of plain values on one line, anything else as jsonText. */
export function jsonRow(value: unknown, indent: string): string {
  const v = plain(value);
  return isFlatObject(v) ? flatObject(v) : jsonText(v, indent);
}
