/**
 * A call to the running app's API with a Bearer token: POST with a JSON body when one is given,
 * else GET. Answers the body's JSON; any other status than 2xx fails with the path and the answer.
 */
export async function callJson<T = Record<string, unknown>>(baseUrl: string, token: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}
