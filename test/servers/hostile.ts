// A target that answers too much or breaks the WebSocket protocol, on loopback: each answer is bounded in time.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Hostile {
  url: string;
  close(): Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** No answer streams for longer than this. */
const MAX_STREAM_MS = 20_000;

/** Writes `next()` for as long as the peer reads, up to MAX_STREAM_MS. */
function stream(sock: Socket, next: () => Buffer): void {
  const until = Date.now() + MAX_STREAM_MS;
  const pump = () => {
    while (!sock.destroyed && Date.now() < until) if (!sock.write(next())) return void sock.once('drain', pump);
    sock.destroy();
  };
  pump();
}

/** A server frame: unmasked, with the given first byte. */
function frame(first: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([first, len]) : len < 65536 ? Buffer.from([first, 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([first, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, payload]);
}

/**
 * /big: a Content-Length of 2 GB and bytes as fast as they are read; /chunked: a chunked body that never ends;
 * /frag: a WebSocket whose first message never ends (continuation frames); /garbage: a WebSocket frame with a
 * reserved opcode; /masked: a masked server frame. Anything else: 200 "ok".
 */
export async function startHostile(): Promise<Hostile> {
  const block = Buffer.alloc(64 * 1024, 120);
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const path = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1];
      const upgrade = () => sock.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${createHash('sha1').update(key + GUID).digest('base64')}\r\n\r\n`);
      if (path === '/big') {
        sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2147483648\r\n\r\n');
        stream(sock, () => block);
      } else if (path === '/chunked') {
        sock.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
        const chunk = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]);
        stream(sock, () => chunk);
      } else if (path.startsWith('/frag') && key) {
        upgrade();
        let first = true;
        stream(sock, () => {
          const f = frame(first ? 0x01 : 0x00, block);
          first = false;
          return f;
        });
      } else if (path.startsWith('/garbage') && key) {
        upgrade();
        sock.write(frame(0x83, Buffer.from('reserved opcode')));
      } else if (path.startsWith('/masked') && key) {
        upgrade();
        sock.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x69 ^ 2]));
      } else sock.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
