import { writeFileSync } from 'node:fs';
import { it } from 'vitest';

// Must never run: the global setup stops the run first.
it('ran', () => writeFileSync(process.env.FIXTURE_MARKER ?? '', 'ran'));
