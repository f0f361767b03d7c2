// A WebSocket target in a process of its own, for tests that watch its pid, kill it, or load it next to the
// generator. Prints its URL on stdout when it listens; GET /probe answers 200 with what it has done so far.
//   MODE=cycle: answers a {"type":"join"} with {"type":"joined"} after DELAY_MS, and keeps its side of a
//               connection open for LINGER_MS after the client has left, as a busy media server does (the
//               client's port then stays in FIN-WAIT-2).
//   MODE=hold:  welcomes a connection at once ({"type":"welcome"}) and answers {"type":"ping","t"} with a pong.
import { createHash } from 'node:crypto';
import net from 'node:net';

const MODE = process.env.MODE ?? 'cycle';
const DELAY = Number(process.env.DELAY_MS ?? 0);
const LINGER = Number(process.env.LINGER_MS ?? 0);
const seen = { upgrades: 0, joins: 0, pings: 0, open: 0 };

const frame = (text) => {
  const b = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, b.length]), b]);
};

/** Unmasks the client's text frames in `buf`; returns them and what is left over. */
function frames(buf) {
  const out = [];
  while (buf.length >= 6) {
    let len = buf[1] & 0x7f;
    let at = 2;
    if (len === 126) [len, at] = [buf.readUInt16BE(2), 4];
    if (buf.length < at + 4 + len) break;
    const mask = buf.subarray(at, at + 4);
    const data = Buffer.from(buf.subarray(at + 4, at + 4 + len)).map((x, i) => x ^ mask[i % 4]);
    if ((buf[0] & 0x0f) === 1) out.push(data.toString());
    buf = buf.subarray(at + 4 + len);
  }
  return [out, buf];
}

const server = net.createServer({ allowHalfOpen: true }, (s) => {
  seen.open++;
  s.on('error', () => undefined);
  s.on('close', () => seen.open--);
  let buf = Buffer.alloc(0);
  let upgraded = false;
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
      const key = /sec-websocket-key: *(.*)/i.exec(head)?.[1]?.trim();
      if (!key) {
        const body = JSON.stringify({ ...seen, pid: process.pid });
        s.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
        return;
      }
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
      seen.upgrades++;
      if (MODE === 'hold') s.write(frame('{"type":"welcome"}'));
    }
    const [texts, rest] = frames(buf);
    buf = rest;
    for (const t of texts) {
      const m = JSON.parse(t);
      if (m.type === 'join') setTimeout(() => (seen.joins++, s.destroyed || s.write(frame('{"type":"joined"}'))), DELAY);
      if (m.type === 'ping') (seen.pings++, s.write(frame(JSON.stringify({ type: 'pong', t: m.t }))));
    }
  });
  s.on('end', () => setTimeout(() => s.destroy(), LINGER));
});
server.listen(0, '127.0.0.1', 4096, () => console.log(`http://127.0.0.1:${server.address().port}`));
