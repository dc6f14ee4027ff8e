import { z } from 'zod';

/**
 * zod compiles object parsers with `new Function` when it may, and finds out by trying one: under
 * this app's Content-Security-Policy (no 'unsafe-eval') that probe is a reported violation. The
 * browser parses little (the execution contract's stream messages), so it parses without it.
 */
z.config({ jitless: true });
