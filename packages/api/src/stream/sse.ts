import { authorizeStream, openStream, resumePoint, type StreamDeps } from './session.ts';
import type { WireEvent } from './hub.ts';

const HEARTBEAT_MS = 15_000;
/** Bytes a client may leave unread before it is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const encoder = new TextEncoder();

const frame = (event: WireEvent) => encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${event.json}\n\n`);

const jsonError = (status: number, error: string) =>
  new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

/** `GET /api/executions/:id/stream` without an upgrade: Server-Sent Events. */
export async function handleSse(request: Request, deps: StreamDeps, executionId: string): Promise<Response> {
  const url = new URL(request.url);
  const auth = await authorizeStream(deps, { headers: request.headers, url, executionId });
  if (!auth.ok) return jsonError(auth.status, auth.error);
  await deps.hub.start();
  const after = resumePoint(request.headers, url);
  let stop: () => void = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        let open = true;
        const close = () => {
          if (!open) return;
          open = false;
          clearInterval(heartbeat);
          try {
            controller.close();
          } catch {}
        };
        heartbeat = setInterval(() => {
          if (open) controller.enqueue(encoder.encode(': ping\n\n'));
        }, HEARTBEAT_MS);
        heartbeat.unref();
        controller.enqueue(encoder.encode('retry: 2000\n\n'));
        stop = await openStream(deps, executionId, after, {
          send(event) {
            if (!open) return false;
            // A client that stopped reading is dropped rather than buffered without limit.
            if ((controller.desiredSize ?? 0) < -MAX_BUFFERED_BYTES) {
              close();
              return false;
            }
            controller.enqueue(frame(event));
            return true;
          },
          close,
        });
      },
      cancel() {
        clearInterval(heartbeat);
        stop();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
}
