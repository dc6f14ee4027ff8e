import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';
import { textArray } from './tx.ts';

let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

describe('textArray', () => {
  it('sends any strings as one text[] that PostgreSQL reads back exactly', async () => {
    const values = ['task_1', 'a"quote', 'back\\slash', '', 'a,comma', '{braces}', 'NULL', ' spaced ', 'ünï', '\\"both'];
    const [row] = await h.database.db.execute<{ values: string[]; n: number }>(sql`select ${textArray(values)} as values, cardinality(${textArray(values)}) as n`);
    expect(row).toEqual({ values, n: values.length });
    const [empty] = await h.database.db.execute<{ n: number }>(sql`select cardinality(${textArray([])}) as n`);
    expect(empty?.n).toBe(0);
  });
});
