import { securityHeadersHandle } from '#lib/server/security-headers.ts';

export const handle = securityHeadersHandle;
