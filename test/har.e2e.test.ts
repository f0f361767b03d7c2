// A recording of a platform firstbell has never seen, imported and run as it is: the school app's JSON login, its
// cookie, its lesson API and its classroom WebSocket, recorded from real traffic into a HAR.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EXIT, main } from '../cli.js';
import { captureIo, tempDir } from './helpers.js';
import { startSchoolApp } from './servers/school-app.js';

type Entry = Record<string, unknown>;
const headerList = (h: Record<string, string>) => Object.entries(h).map(([name, value]) => ({ name, value }));

/** One HTTP request to the app, recorded as a browser's developer tools would (the page's assets and a font host beside it). */
async function recorded(origin: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ entry: Entry; res: Response; text: string }> {
  const started = new Date();
  const res = await fetch(origin + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  const entry = {
    startedDateTime: started.toISOString(), time: Date.now() - started.getTime(), _resourceType: 'fetch',
    request: { method, url: origin + path, headers: headerList(headers), ...(body ? { postData: { mimeType: headers['Content-Type'], text: body } } : {}) },
    response: { status: res.status, headers: [...res.headers].map(([name, value]) => ({ name, value })), content: { mimeType: res.headers.get('content-type') ?? '', text } },
  };
  return { entry, res, text };
}

/** The classroom WebSocket, its messages recorded as Chromium records them (_webSocketMessages). */
async function recordedWs(url: string, cookie: string): Promise<Entry> {
  const started = new Date();
  const messages: { type: string; time: number; opcode: number; data: string }[] = [];
  const ws = new WebSocket(url, { headers: { cookie } });
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (d) => {
      const data = String(d);
      messages.push({ type: 'receive', time: Date.now() / 1000, opcode: 1, data });
      if ((JSON.parse(data) as { type: string }).type === 'welcome') {
        const ping = JSON.stringify({ type: 'ping', t: 1 });
        messages.push({ type: 'send', time: Date.now() / 1000, opcode: 1, data: ping });
        ws.send(ping);
      }
      if ((JSON.parse(data) as { type: string }).type === 'pong') resolve();
    });
  });
  ws.close();
  return { startedDateTime: started.toISOString(), time: 5, _resourceType: 'websocket', request: { method: 'GET', url, headers: [{ name: 'Cookie', value: cookie }] }, response: { status: 101, headers: [] }, _webSocketMessages: messages };
}

describe('a HAR of the school app, imported into a journey', () => {
  it('runs without edits for 100 participants, each logging in as its own row of the data: the app counts 100 distinct logins', async () => {
    const app = await startSchoolApp();
    try {
      const dir = tempDir();
      const asset = (url: string, type: string) => ({ startedDateTime: new Date().toISOString(), time: 1, _resourceType: type, request: { method: 'GET', url }, response: { status: 200, content: { mimeType: 'text/css' } } });
      const login = await recorded(app.url, 'POST', '/api/login', { 'Content-Type': 'application/json', 'User-Agent': 'Chrome' }, JSON.stringify({ user: 'anna-0', password: '0-anna' }));
      const cookie = /^[^;]+/.exec(login.res.headers.get('set-cookie')!)![0];
      const lesson = await recorded(app.url, 'GET', '/api/lesson', { Cookie: cookie });
      const { room, token } = JSON.parse(lesson.text) as { room: string; token: string };
      const ws = await recordedWs(`${app.url.replace('http', 'ws')}/ws/classroom?room=${room}&token=${encodeURIComponent(token)}`, cookie);
      const har = { log: { version: '1.2', entries: [login.entry, asset(`${app.url}/style.css`, 'stylesheet'), asset('https://fonts.example.org/inter.css', 'stylesheet'), lesson.entry, ws] } };
      writeFileSync(join(dir, 'school.har'), JSON.stringify(har));

      const c = captureIo();
      expect(await main(['import', 'har', join(dir, 'school.har'), '--out', join(dir, 'journey.ts')], c.io), c.err()).toBe(EXIT.ok);
      expect(c.out()).toContain('journey: ');
      expect(c.out()).toContain('(3 steps: login admission, lesson broker, classroom media)');
      expect(c.out()).toContain('taken from the answers: room, token');
      // Imported again over it: refused without --force.
      const again = captureIo();
      expect(await main(['import', 'har', join(dir, 'school.har'), '--out', join(dir, 'journey.ts')], again.io)).toBe(EXIT.usage);
      expect(again.err()).toContain('journey.ts exists; give another --out, or --force to overwrite it');

      // The data file: its header as imported, a row per test account.
      expect(readFileSync(join(dir, 'journey.users.csv'), 'utf8')).toBe('user,password\nanna-0,0-anna\n');
      writeFileSync(join(dir, 'journey.users.csv'), ['user,password', ...Array.from({ length: 100 }, (_, i) => `anna-${i},${[...`anna-${i}`].reverse().join('')}`)].join('\n') + '\n');
      writeFileSync(join(dir, 'steady.json'), JSON.stringify({
        name: 'imported', description: 'the recording, 100 pupils', journey: './journey.ts', data: { csv: './journey.users.csv' },
        phases: [{ name: 'steady', startMs: 0, durationMs: 5_000, participants: 100, curve: { kind: 'uniform' } }], client: { thinkTimeMs: 50 }, observeMs: 2_000,
      }));
      const r = captureIo();
      const code = await main(['run', join(dir, 'steady.json'), '--target', app.url, '--scale', '1', '--out', tempDir(), '--no-progress', '--json'], r.io);
      expect(code, r.err()).toBe(EXIT.ok);
      const s = JSON.parse(r.out()) as { users: { arrived: number; joined: number }; steps: { step: string; ok: number; failed: number }[] };
      expect(s.users).toMatchObject({ arrived: 100, joined: 100 });
      expect(s.steps.map((x) => [x.step, x.ok, x.failed])).toEqual([['login', 100, 0], ['lesson', 100, 0], ['classroom', 100, 0]]);
      // Each logged in as itself (not a replay of the recorded session): 100 distinct users, each with its own lesson token.
      expect(new Set(app.seen.users.slice(1)).size).toBe(100);
      expect(app.seen.refused).toBe(0);
    } finally {
      await app.close();
    }
  }, 90_000);
});
