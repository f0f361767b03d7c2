// A small school platform unlike the reference one: a JSON login that sets a cookie, a lesson API, and a classroom WebSocket.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SchoolApp {
  url: string;
  /** What it served: logins ok and refused, lessons, classroom sockets open now and at most. */
  seen: { logins: number; refused: number; lessons: number; open: number; peakOpen: number; users: string[] };
  close(): Promise<void>;
}

const SECRET = randomBytes(16);
const sign = (s: string) => createHmac('sha256', SECRET).update(s).digest('base64url');

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      try {
        resolve(JSON.parse(body) as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
  });
}

/**
 * The app's one page, as a school's single-page app would be: it signs in with JSON, asks for the lesson, joins the
 * classroom WebSocket and says so; a browser records the platform's traffic through it.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>School</title></head>
<body>
  <form id="signin"><input name="user" placeholder="user"><input name="password" type="password"><button>Sign in</button></form>
  <p id="status" data-state="out">Signed out.</p>
  <script>
    const status = document.getElementById('status');
    const say = (state, text) => { status.dataset.state = state; status.textContent = text; };
    document.getElementById('signin').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      const login = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: f.get('user'), password: f.get('password') }) });
      if (!login.ok) return say('failed', 'Wrong user or password.');
      const { room, token } = await (await fetch('/api/lesson')).json();
      const ws = new WebSocket(\`\${location.origin.replace('http', 'ws')}/ws/classroom?room=\${room}&token=\${encodeURIComponent(token)}\`);
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'ping', t: 1 }));
        if (msg.type === 'pong') say('in', 'In class ' + room + '.');
      };
    });
  </script>
</body></html>
`;

/**
 * GET / → the page above;
 * POST /api/login {"user","password"} → 200 and a session cookie (password: the user's name backwards), else 401;
 * GET /api/lesson with the cookie → {"room","token"}; WS /ws/classroom?room&token → {"type":"welcome"}, pings answered.
 */
export async function startSchoolApp(): Promise<SchoolApp> {
  const seen = { logins: 0, refused: 0, lessons: 0, open: 0, peakOpen: 0, users: [] as string[] };
  let loginDelayMs = 0;
  const userOf = (req: IncomingMessage) => {
    const m = /(?:^|;\s*)session=([^;.]+)\.([^;]+)/.exec(req.headers.cookie ?? '');
    return m && sign(m[1]!) === m[2] ? Buffer.from(m[1]!, 'base64url').toString() : undefined;
  };
  const server: Server = createServer(async (req, res) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    // The platform's own control surface: its logins can be made slower (a native fault for a journey that declares it).
    if (req.method === 'POST' && req.url?.startsWith('/admin/slow-login')) {
      loginDelayMs = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0);
      return json(200, { loginDelayMs });
    }
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (req.method === 'POST' && req.url === '/api/login') {
      if (loginDelayMs) await new Promise((r) => setTimeout(r, loginDelayMs));
      const { user, password } = await readJson(req);
      if (typeof user !== 'string' || password !== [...user].reverse().join('')) {
        seen.refused++;
        return json(401, { error: 'wrong user or password' });
      }
      seen.logins++;
      seen.users.push(user);
      const id = Buffer.from(user).toString('base64url');
      return json(200, { ok: true }, { 'set-cookie': `session=${id}.${sign(id)}; Path=/; HttpOnly` });
    }
    if (req.method === 'GET' && req.url === '/api/lesson') {
      const user = userOf(req);
      if (!user) return json(401, { error: 'not logged in' });
      seen.lessons++;
      const room = `class-${Number(/\d+/.exec(user)?.[0] ?? 0) % 7}`;
      return json(200, { room, token: sign(`${user}:${room}`), user });
    }
    json(404, { error: 'not found' });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const user = userOf(req);
    if (u.pathname !== '/ws/classroom' || !user || u.searchParams.get('token') !== sign(`${user}:${u.searchParams.get('room')}`)) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      seen.open++;
      seen.peakOpen = Math.max(seen.peakOpen, seen.open);
      ws.on('close', () => seen.open--);
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type?: string; t?: number };
        if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: m.t }));
      });
      ws.send(JSON.stringify({ type: 'roster', pupils: 24 }));
      ws.send(JSON.stringify({ type: 'welcome', room: u.searchParams.get('room') }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
