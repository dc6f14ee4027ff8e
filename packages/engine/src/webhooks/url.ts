import { refusedAsWritten } from '@strata/net';
import { validationError } from '../errors.ts';
import { WEBHOOK_LIMITS } from './contract.ts';

/**
 * A webhook's URL as it will be stored, or a VALIDATION error naming `url`: absolute http(s),
 * no longer than the limit, without credentials in it, and not a private or internal address as
 * written (a literal address, localhost) unless its host is on WEBHOOK_ALLOW_HOSTS. A name that
 * resolves to a private address is refused at delivery, where it is resolved.
 */
export function checkWebhookUrl(input: string, allowHosts: ReadonlySet<string>): string {
  const text = input.trim();
  const fail = (why: string) => validationError(`url: ${why}`, { path: 'url' });
  if (text.length === 0) throw fail('url is required');
  if (text.length > WEBHOOK_LIMITS.urlMaxChars) throw fail(`must be at most ${WEBHOOK_LIMITS.urlMaxChars} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail('must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail('must be an absolute http:// or https:// URL');
  if (url.username || url.password) throw fail('must not carry a user name or password (deliveries are signed; put any token in the path or query)');
  if (refusedAsWritten(url.hostname, allowHosts)) {
    throw fail(`${url.hostname} is a private or internal address; webhooks are not sent there unless the host is listed in WEBHOOK_ALLOW_HOSTS`);
  }
  return url.href;
}
