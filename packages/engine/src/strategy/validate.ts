import { validationError } from '../errors.ts';
import { KNOWN_AGENT_TYPES } from './schema.ts';

interface ItemShape {
  key: string;
  agentType: string;
  dependsOn: readonly string[];
}

/**
 * Finds a dependency cycle, returned as the keys along it with the first repeated at the end
 * (`a -> b -> a`), or undefined. Iterative, so 10,000-deep chains do not overflow the stack.
 */
export function findCycle(items: readonly ItemShape[]): string[] | undefined {
  const deps = new Map(items.map((item) => [item.key, item.dependsOn]));
  const state = new Map<string, 1 | 2>(); // 1: on the current path, 2: done
  for (const root of deps.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [];
    const stack: { key: string; next: number }[] = [{ key: root, next: 0 }];
    state.set(root, 1);
    path.push(root);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const children = deps.get(frame.key) ?? [];
      if (frame.next >= children.length) {
        state.set(frame.key, 2);
        stack.pop();
        path.pop();
        continue;
      }
      const child = children[frame.next++]!;
      const seen = state.get(child);
      if (seen === 1) return [...path.slice(path.indexOf(child)), child];
      if (seen === undefined && deps.has(child)) {
        state.set(child, 1);
        path.push(child);
        stack.push({ key: child, next: 0 });
      }
    }
  }
  return undefined;
}

/**
 * Checks what a strategy's items must satisfy to run: known agent types, unique keys,
 * dependencies that exist, each listed once, and no cycle. Throws a VALIDATION error naming the item or cycle.
 */
export function validateItems(items: readonly ItemShape[], agentTypes: readonly string[] = KNOWN_AGENT_TYPES): void {
  const keys = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (!agentTypes.includes(item.agentType)) {
      throw validationError(`Item "${item.key}": unknown agent type "${item.agentType}" (expected one of ${agentTypes.join(', ')})`, {
        item: item.key,
        index,
        path: `items[${index}].agentType`,
      });
    }
    if (keys.has(item.key)) throw validationError(`Item "${item.key}": duplicate key`, { item: item.key, index, path: `items[${index}].key` });
    keys.add(item.key);
  }
  for (const [index, item] of items.entries()) {
    const seen = new Set<string>();
    for (const [at, dep] of item.dependsOn.entries()) {
      const path = `items[${index}].dependsOn[${at}]`;
      if (!keys.has(dep)) throw validationError(`Item "${item.key}": unknown dependency "${dep}"`, { item: item.key, index, path });
      if (dep === item.key) throw validationError(`Item "${item.key}": depends on itself`, { item: item.key, index, cycle: [dep, dep], path });
      // Refused rather than merged: the author meant something, and a strategy reads as it was written.
      if (seen.has(dep)) throw validationError(`Item "${item.key}": duplicate dependency "${dep}"`, { item: item.key, index, path });
      seen.add(dep);
    }
  }
  const cycle = findCycle(items);
  if (cycle) {
    // Shown at the dependencies of the first item on the cycle.
    const index = items.findIndex((item) => item.key === cycle[0]);
    throw validationError(`Dependency cycle: ${cycle.join(' -> ')}`, { cycle, path: `items[${index}].dependsOn` });
  }
}
