import WebSocket from 'ws';

export interface StreamEvent {
  id: number;
  type: string;
  executionId: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** Reads an SSE stream with fetch until it ends or `stopAfter` says so. */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  options: { stopAfter?: (events: StreamEvent[]) => boolean; signal?: AbortSignal } = {},
): Promise<{ status: number; events: StreamEvent[]; body?: unknown }> {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort());
  const response = await fetch(url, { headers, signal: controller.signal });
  if (!response.ok || !response.body) return { status: response.status, events: [], body: await response.json() };
  const events: StreamEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data) events.push(JSON.parse(data) as StreamEvent);
        end = buffer.indexOf('\n\n');
      }
      if (options.stopAfter?.(events)) {
        controller.abort();
        break;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return { status: response.status, events };
}

/** Reads a WebSocket stream until the server closes it or `stopAfter` says so. */
export function readWs(
  url: string,
  headers: Record<string, string>,
  options: { stopAfter?: (events: StreamEvent[]) => boolean } = {},
): Promise<{ status: number; events: StreamEvent[]; closeCode?: number }> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    const socket = new WebSocket(url, { headers });
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, events }));
    socket.on('message', (message) => {
      events.push(JSON.parse(String(message)) as StreamEvent);
      if (options.stopAfter?.(events)) socket.terminate();
    });
    socket.on('close', (code) => resolve({ status: 101, events, closeCode: code }));
    socket.on('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}
