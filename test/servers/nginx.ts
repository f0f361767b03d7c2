// nginx from Debian in front of a loopback upstream, with a request-rate or a connection limit on a path: a known truth for the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, as the kernel hands one out. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface NginxLimits {
  /** `limit_req` of `perSec` (burst 10, no delay) on the exact path. */
  rate?: { path: string; perSec: number };
  /** `limit_conn` of `max` open connections on WebSockets under /ws/. */
  wsConns?: number;
}

/** nginx with the given `http` block content (its server listening on the port it is given), started on loopback. */
export async function startNginxSite(site: (port: number, dir: string) => string): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${site(port, dir)}
}
`);
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let k = 0; ; k++) {
    try {
      await fetch(`${url}/nginx-is-up`);
      break;
    } catch {
      if (k > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** nginx proxying everything (WebSockets under /ws/ too) to `upstream`, with the limits given; beyond them it answers 503. */
export function startNginx(upstream: string, limits: NginxLimits = {}): Promise<Nginx> {
  const up = new URL(upstream).host;
  const proxy = 'proxy_pass http://app; proxy_http_version 1.1;';
  const rate = limits.rate ? `location = ${limits.rate.path} { limit_req zone=limited burst=10 nodelay; ${proxy} proxy_set_header Connection ""; }` : '';
  const conns = limits.wsConns ? `limit_conn conns ${limits.wsConns};` : '';
  return startNginxSite((port) => `
  # One key for every client (an empty key would not be counted): the limit is the path's, whoever asks.
  map $request_method $everyone { default all; }
  limit_req_zone $everyone zone=limited:1m rate=${limits.rate?.perSec ?? 1}r/s;
  limit_req_status 503;
  limit_conn_zone $everyone zone=conns:1m;
  limit_conn_status 503;
  upstream app { server ${up}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    ${rate}
    location /ws/ { ${conns} ${proxy} proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_read_timeout 3600s; }
    location / { ${proxy} proxy_set_header Connection ""; }
    location = /nginx_status { stub_status; }
  }`);
}

/**
 * A school's classroom as nginx serves it: the pages of `root`, Debian's JavaScript libraries under /javascript/
 * (as Debian's javascript-common does), and the Janus API at /janus passed on to Janus' WebSocket.
 */
export function startClassroomNginx(root: string, janusWs: string): Promise<Nginx> {
  return startNginxSite((port) => `
  types { text/html html; application/javascript js; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /javascript/ { alias /usr/share/javascript/; }
    location = /janus { proxy_pass http://${new URL(janusWs).host}/; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_set_header Sec-WebSocket-Protocol $http_sec_websocket_protocol; proxy_read_timeout 3600s; }
  }`);
}
