// Node's own floor for a new-connection arrival: node:net alone connects, writes one GET, reads the answer and
// closes, at a fixed rate for a fixed time, recording nothing. What no Node.js generator can do for less.
//   node bench/node-floor.mjs <url> <arrivals per second> <seconds>
import { connect } from 'node:net';

const [url, ratePerSec, seconds] = [new URL(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const request = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
const total = ratePerSec * seconds;
let sent = 0;
let answered = 0;
let failed = 0;

function arrival() {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.once('connect', () => socket.write(request));
  socket.once('data', () => {
    answered++;
    socket.destroy();
  });
  socket.once('error', () => failed++);
}

const t0 = performance.now();
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * ratePerSec));
  for (; sent < due; sent++) arrival();
  if (sent >= total && answered + failed >= total) {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ sent, answered, failed, wallS: (performance.now() - t0) / 1000 }) + '\n');
  }
}, 1);
