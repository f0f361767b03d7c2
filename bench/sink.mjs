// The benchmark sink: nginx answering every request at once (and the reference platform's journey with canned
// pages), beside the WebSocket sink for held participants. Start with startSink(); stop with its stop().
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function nginxConf(dir, port, wsPort) {
  const signal = JSON.stringify({ signalUrl: `ws://127.0.0.1:${wsPort}/media` });
  return `
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19000; multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type text/html;
  server {
    listen 127.0.0.1:${port} backlog=65535 reuseport;
    location = / { return 200 'ok'; }
    location = /nginx_status { stub_status; }
    location = /login {
      if ($request_method = POST) { add_header Set-Cookie 'sid=bench; Path=/; HttpOnly'; return 303 /dashboard; }
      return 200 '<form method="post"><input type="hidden" name="csrf" value="bench-csrf"></form>';
    }
    location = /dashboard { return 200 '<meta name="csrf-token" content="bench-token"><a data-conference="c1">class</a>'; }
    location /api/conferences/ { default_type application/json; return 200 '${signal}'; }
    # Join-and-leave cycles go through nginx to the WebSocket sink, so that its counter sees each one.
    location /ws/ { proxy_pass http://127.0.0.1:${wsPort}; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; }
  }
}`;
}

function waitForLine(child, re, what, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s: ${out}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with code ${code}: ${out}`)));
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      if (r.ok) return;
    } catch {
      if (Date.now() > end) throw new Error(`nginx did not answer on ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Fails when something listens on `port` already. nginx's `reuseport` would share the port silently with a sink an
 * earlier run left behind: connections would be split between them, and this sink's counter would see only its part.
 */
function portFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is taken, perhaps by a sink an earlier run left behind (see: ss -ltnp 'sport = :${port}'); stop it and run again`) : e),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Starts nginx on `port` and the WebSocket sink on `wsPort` (in `wsProcesses` processes). */
export async function startSink({ port = 18181, wsPort = 18182, wsProcesses = 2 } = {}) {
  try {
    execFileSync('/usr/sbin/nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    throw new Error('nginx is missing: run ./setup.sh (apt install nginx)');
  }
  await portFree(port);
  await portFree(wsPort);
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-sink-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, wsPort));
  const nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ws = spawn(process.execPath, [join(here, 'ws-sink.mjs')], {
    env: { ...process.env, SINK_WS_PORT: String(wsPort), SINK_WS_PROCESSES: String(wsProcesses), SINK_NGINX_PID: String(nginx.pid), SINK_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await Promise.all([waitForPort(port), waitForLine(ws, /ws-sink/, 'the WebSocket sink')]);
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}/media`,
    pids: () => [nginx.pid, ws.pid],
    /** Requests nginx has handled so far (its stub_status counter, this request included). */
    async requests() {
      const text = await (await fetch(`http://127.0.0.1:${port}/nginx_status`)).text();
      return Number(/\n\s*\d+\s+\d+\s+(\d+)/.exec(text)?.[1] ?? NaN);
    },
    async stop() {
      nginx.kill('SIGTERM');
      ws.kill('SIGTERM');
      await Promise.all([nginx, ws].map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
