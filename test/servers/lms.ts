// BigBlueButton's API and Moodle's login, as their documentation describes them, on loopback for the tests.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server on loopback for one test's handler; `close` ends it. */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<{ url: string; close: () => Promise<void> }> {
  let base = '';
  const server: Server = createServer((req, res) => handler(req, res, base));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const xml = (res: ServerResponse, body: string) => {
  res.writeHead(200, { 'content-type': 'text/xml' });
  res.end(`<response>${body}</response>`);
};

/** A BigBlueButton API as documented: every call checked against its checksum; create is idempotent. */
export async function fakeBbb(secret: string, algorithm: 'sha1' | 'sha256') {
  const meetings = new Set<string>();
  const seen = { creates: 0, duplicates: 0, joins: 0, entered: 0, badChecksums: 0 };
  const { url, close } = await listen((req, res, base) => {
    const u = new URL(req.url ?? '/', base);
    const m = /^\/bigbluebutton\/api\/(\w+)$/.exec(u.pathname);
    if (m) {
      const query = (u.search.slice(1).match(/^(.*?)&?checksum=[0-9a-f]+$/) ?? [])[1] ?? '';
      if (u.searchParams.get('checksum') !== createHash(algorithm).update(m[1]! + query + secret).digest('hex')) {
        seen.badChecksums++;
        return xml(res, '<returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>Checksums do not match</message>');
      }
      const id = u.searchParams.get('meetingID') ?? '';
      if (m[1] === 'create') {
        seen.creates++;
        const dup = meetings.has(id);
        if (dup) seen.duplicates++;
        meetings.add(id);
        return xml(res, `<returncode>SUCCESS</returncode><meetingID>${id}</meetingID>${dup ? '<messageKey>duplicateWarning</messageKey><message>This conference was already in existence.</message>' : ''}`);
      }
      if (m[1] === 'join') {
        if (!meetings.has(id)) return xml(res, '<returncode>FAILED</returncode><messageKey>notFound</messageKey><message>We could not find a meeting with that meeting ID</message>');
        seen.joins++;
        const token = randomBytes(6).toString('hex');
        return xml(res, `<returncode>SUCCESS</returncode><meeting_id>${id}</meeting_id><session_token>${token}</session_token><url>${base}/bigbluebutton/api/join?sessionToken=${token}&amp;x=1</url>`.replace('/bigbluebutton/api/join?', '/client/join?'));
      }
    }
    if (u.pathname === '/client/join') {
      res.writeHead(302, { location: `/html5client/?sessionToken=${u.searchParams.get('sessionToken')}` });
      return res.end();
    }
    if (u.pathname === '/html5client/') {
      seen.entered++;
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><title>BigBlueButton</title>');
    }
    res.writeHead(404).end();
  });
  return { url, seen, close };
}

/** Moodle's login as documented: a logintoken bound to the session, good once; a new session after login. */
export async function fakeMoodle() {
  const sessions = new Map<string, { token?: string; user?: string; sesskey?: string }>();
  const seen = { tokensIssued: 0, tokenReused: 0, logins: 0, joins: 0 };
  const cookieOf = (req: IncomingMessage) => /MoodleSession=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const { url, close } = await listen((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let sid = cookieOf(req);
    let s = sid ? sessions.get(sid) : undefined;
    const headers: Record<string, string> = {};
    if (!s) {
      sid = randomBytes(8).toString('hex');
      sessions.set(sid, (s = {}));
      headers['set-cookie'] = `MoodleSession=${sid}; path=/; HttpOnly`;
    }
    if (u.pathname === '/login/index.php' && req.method === 'GET' && !u.searchParams.has('testsession')) {
      s.token = randomBytes(16).toString('hex');
      seen.tokensIssued++;
      res.writeHead(200, { ...headers, 'content-type': 'text/html' });
      return res.end(`<form action="/login/index.php" method="post"><input type="hidden" name="logintoken" value="${s.token}"><input name="username"><input name="password" type="password"></form>`);
    }
    if (u.pathname === '/login/index.php' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const f = new URLSearchParams(body);
        const ok = f.get('logintoken') === s.token && /^pupil-(\d+)$/.test(f.get('username') ?? '') && f.get('password') === `pw-${/\d+/.exec(f.get('username') ?? '')?.[0]}`;
        if (f.get('logintoken') !== s.token) seen.tokenReused++;
        s.token = undefined; // single use
        if (!ok) {
          res.writeHead(303, { location: '/login/index.php' });
          return res.end();
        }
        seen.logins++;
        // A new session id after login, as Moodle does.
        const fresh = randomBytes(8).toString('hex');
        sessions.set(fresh, { user: f.get('username')!, sesskey: randomBytes(5).toString('hex') });
        res.writeHead(303, { location: `/login/index.php?testsession=2`, 'set-cookie': `MoodleSession=${fresh}; path=/; HttpOnly` });
        res.end();
      });
      return;
    }
    if (u.pathname === '/login/index.php' && u.searchParams.has('testsession')) {
      res.writeHead(303, { location: s.user ? '/my/' : '/login/index.php' });
      return res.end();
    }
    if (u.pathname === '/my/') {
      if (!s.user) {
        res.writeHead(303, { location: '/login/index.php' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<script>M.cfg = {"wwwroot":"","sesskey":"${s.sesskey}"};</script><h1>Dashboard</h1>`);
    }
    if (u.pathname === '/mod/bigbluebuttonbn/bbb_view.php' && s.user) {
      seen.joins++;
      res.writeHead(303, { location: `https://bbb.example.org/bigbluebutton/api/join?meetingID=${u.searchParams.get('id')}` });
      return res.end();
    }
    res.writeHead(404).end();
  });
  return { url, seen, close };
}
