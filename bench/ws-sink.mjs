// The WebSocket half of the benchmark sink: holds every connection it is given and answers the reference
// platform's media heartbeat ({"type":"ping","t"} → {"type":"pong","t"}), in as many processes as asked
// (one process may hold only as many sockets as it may open files).
import cluster from 'node:cluster';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

// firstbell's own ws, not a peer tool's older copy under bench/node_modules.
const { WebSocketServer } = createRequire(new URL('../package.json', import.meta.url))('ws');

const port = Number(process.env.SINK_WS_PORT);
const processes = Number(process.env.SINK_WS_PROCESSES ?? 2);

// The kernel deals new connections to the processes (they share the listening socket): no hop through the primary.
cluster.schedulingPolicy = cluster.SCHED_NONE;

if (cluster.isPrimary) {
  let ready = 0;
  for (let k = 0; k < processes; k++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++ready === processes) process.stdout.write(`ws-sink ${port}\n`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The process that started the sink may die without stopping it (SIGKILL, a crash): then this process, handed to
  // another parent, stops nginx (its pid and folder given by startSink) and itself, leaving no port taken.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    const nginx = Number(process.env.SINK_NGINX_PID);
    try {
      if (nginx > 0) process.kill(nginx, 'SIGTERM');
    } catch {
      // gone already
    }
    setTimeout(() => {
      if (process.env.SINK_DIR) rmSync(process.env.SINK_DIR, { recursive: true, force: true });
      stop();
    }, 1_000);
  }, 500).unref();
} else {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, backlog: 65535, perMessageDeflate: false, clientTracking: false, skipUTF8Validation: true });
  wss.on('connection', (ws, req) => {
    ws.on('error', () => undefined);
    // Held participants are greeted; a join-and-leave cycle (/ws/…) is one message each way, ping and pong.
    if (!req.url?.startsWith('/ws/')) ws.send('{"type":"joined"}');
    ws.on('message', (data) => {
      const s = data.toString();
      if (s.startsWith('{"type":"ping"')) ws.send(s.replace('"ping"', '"pong"'));
    });
  });
  wss.on('listening', () => process.send('listening'));
}
