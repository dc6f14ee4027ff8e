/**
 * Where a server validation error goes in the strategy form. The API names the field as a path
 * into the definition (`name`, `items[2].dependsOn[0]`, `items[0].input.to[1]`); the form shows
 * the message beside that field: a strategy field, an item's field, or a field of its input.
 */
export type FormErrorPlace =
  | { at: 'strategy'; field: string }
  | { at: 'item'; index: number; field: string }
  | { at: 'input'; index: number; path: (string | number)[] };

/** `items[0].input.to[1]` → ['items', 0, 'input', 'to', 1] */
export function parsePath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  return parts;
}

export function placeOf(field: string | null): FormErrorPlace | null {
  if (!field) return null;
  const parts = parsePath(field);
  const [head, index, name, ...rest] = parts;
  if (head !== 'items' || typeof index !== 'number') return { at: 'strategy', field: String(head ?? '') };
  if (name === undefined) return { at: 'item', index, field: 'item' };
  if (name === 'input') return { at: 'input', index, path: rest };
  return { at: 'item', index, field: String(name) };
}

/** A path inside an item's input as the schema form names its fields: `to`, `attendees[0].email`. */
export function inputPathKey(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}
