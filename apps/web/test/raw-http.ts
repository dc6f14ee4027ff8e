import { connect, type Socket } from 'node:net';

/** What came back on a raw connection: the status line's code (null: none), the whole reply. */
export interface RawReply {
  status: number | null;
  head: string;
  body: string;
}

export interface RawOptions {
  /** After writing: `reset` sends a TCP RST, `hang-up` half-closes; either way no reply is awaited. */
  after?: 'reset' | 'hang-up';
  timeoutMs?: number;
}

function parseReply(buffer: Buffer): { reply: RawReply; complete: boolean } | null {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buffer.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? Number.NaN);
  let body = buffer.subarray(end + 4);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  let complete = status === 101 || (length !== undefined && body.length >= Number(length));
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    const chunks = dechunk(body);
    complete = chunks !== null;
    body = chunks ?? body;
  }
  return { reply: { status: Number.isNaN(status) ? null : status, head, body: body.toString('utf8') }, complete };
}

/** A chunked body's bytes once its last chunk has arrived; null before. */
function dechunk(raw: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd < 0) return null;
    const size = Number.parseInt(raw.subarray(offset, lineEnd).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(parts);
    if (raw.length < lineEnd + 2 + size + 2) return null;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** Opens a TCP connection to `url`'s host and port. */
export function rawConnect(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes raw bytes to the server and reads its reply up to the end of the first response (or
 * the end of the connection), without an HTTP client that would refuse to send them.
 */
export async function rawExchange(url: string, payload: string | Buffer, options: RawOptions = {}): Promise<RawReply & { socket: Socket }> {
  const socket = await rawConnect(url);
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.write(payload, () => resolve()));
  if (options.after === 'reset') {
    socket.resetAndDestroy();
    return { status: null, head: '', body: '', socket };
  }
  if (options.after === 'hang-up') {
    socket.destroy();
    return { status: null, head: '', body: '', socket };
  }
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${options.timeoutMs ?? 10_000} ms; got ${JSON.stringify(buffer.toString('latin1').slice(0, 300))}`));
    }, options.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      const parsed = parseReply(buffer);
      resolve({ ...(parsed?.reply ?? { status: null, head: buffer.toString('latin1'), body: '' }), socket });
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseReply(buffer);
      if (parsed?.complete) {
        socket.removeAllListeners('close');
        finish();
      }
    });
    socket.once('close', finish);
  });
}

/** A client-to-server WebSocket frame (masked unless told otherwise). */
export function wsFrame(options: { opcode: number; payload?: Buffer; fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: bigint }): Buffer {
  const payload = options.payload ?? Buffer.alloc(0);
  const masked = options.masked ?? true;
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | options.opcode;
  const length = options.declaredLength ?? BigInt(payload.length);
  let header: Buffer;
  if (length < 126n) header = Buffer.from([first, (masked ? 0x80 : 0) | Number(length)]);
  else if (length < 65536n) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(length), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([header, mask, body]);
}

/** Reads server frames until a close frame arrives; its status code (null when the socket just ends). */
export function awaitCloseFrame(socket: Socket, timeoutMs = 10_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no close frame from the server')), timeoutMs);
    const done = (code: number | null) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(code);
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer[0]! & 0x0f;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        if (opcode === 0x8) return done(length >= 2 ? buffer.readUInt16BE(offset) : null);
        buffer = buffer.subarray(offset + length);
      }
    });
    socket.once('close', () => done(null));
  });
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a request head over a raw socket, then lets `send` write as much (or as little) of the
 * body as it likes without ever finishing it; resolves with the server's answer once the
 * server has closed the connection. A server that waits for the rest of the body never answers,
 * which fails the test after `timeoutMs`.
 */
export function rawPartialBody(url: string, head: string, send: (write: (chunk: string | Buffer) => void) => void, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms (the server waited for the whole body); got: ${Buffer.concat(received).toString('latin1').slice(0, 200)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    // The server may close while the body is still being written: that is the point.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const [headText = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = rest.join('\r\n\r\n');
      if (headers['transfer-encoding'] === 'chunked') body = dechunkText(body);
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.on('connect', () => {
      socket.write(head);
      send((chunk) => {
        if (!socket.destroyed) socket.write(chunk);
      });
    });
  });
}

function dechunkText(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return out;
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
