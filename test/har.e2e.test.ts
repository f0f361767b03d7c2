// Recordings of platforms by firstbell record in Chromium, imported and run as they are: the school app's sign-in page
// (JSON login, cookie, lesson API, classroom WebSocket), the reference platform's login form and join, and the
// janus.js classroom page of examples/janus-classroom before a real Janus.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EXIT, main } from '../cli.js';
import { startJanusFarms, type JanusFarm } from '../fixtures/janus.js';
import { captureIo, tempDir, useReferencePlatform } from './helpers.js';
import { startClassroomNginx, type Nginx } from './servers/nginx.js';
import { startSchoolApp } from './servers/school-app.js';

describe('a recording of the school app, imported into a journey', () => {
  it('records its sign-in page in Chromium (JSON login, cookie, lesson API, classroom WebSocket); the journey runs without edits for 100 participants, each logging in as its own row: the app counts 100 distinct logins', async () => {
    const app = await startSchoolApp();
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'steps.mjs'), `export default async (page) => {
  await page.type('input[name=user]', 'anna-0');
  await page.type('input[name=password]', '0-anna');
  await page.click('button');
  await page.waitForSelector('#status[data-state=in], #status[data-state=failed]');
};
`);
      const rec = captureIo();
      expect(await main(['record', `${app.url}/`, '--out', join(dir, 'school.har'), '--script', join(dir, 'steps.mjs')], rec.io), rec.err()).toBe(EXIT.ok);

      const c = captureIo();
      expect(await main(['import', 'har', join(dir, 'school.har'), '--out', join(dir, 'journey.ts')], c.io), c.err()).toBe(EXIT.ok);
      expect(c.out()).toContain('journey: ');
      expect(c.out()).toContain('(4 steps: home admission, login admission, lesson broker, classroom media)');
      expect(c.out()).toContain('taken from the answers: room, token');
      // Imported again over it: refused without --force.
      const again = captureIo();
      expect(await main(['import', 'har', join(dir, 'school.har'), '--out', join(dir, 'journey.ts')], again.io)).toBe(EXIT.usage);
      expect(again.err()).toContain('journey.ts exists; give another --out, or --force to overwrite it');

      // The data file: its header as imported, a row per test account.
      expect(readFileSync(join(dir, 'journey.users.csv'), 'utf8')).toBe('user,password\nanna-0,0-anna\n');
      const rows = Array.from({ length: 100 }, (_, i) => `anna-${i},${[...`anna-${i}`].reverse().join('')}`);
      const r = captureIo();
      const code = await main(['run', scenarioFor(dir, 100, rows), '--target', app.url, '--scale', '1', '--out', tempDir(), '--no-progress', '--json'], r.io);
      const { s, why } = summaryOf(r);
      expect(code, why).toBe(EXIT.ok);
      expect(s.users, why).toMatchObject({ arrived: 100, joined: 100 });
      expect(s.steps.map((x) => [x.step, x.ok, x.failed]), why).toEqual([['home', 100, 0], ['login', 100, 0], ['lesson', 100, 0], ['classroom', 100, 0]]);
      // Each logged in as itself (not a replay of the recorded session): 100 distinct users, each with its own lesson token.
      expect(new Set(app.seen.users.slice(1)).size).toBe(100);
      expect(app.seen.refused).toBe(0);
    } finally {
      await app.close();
    }
  }, 90_000);
});

const platform = useReferencePlatform(['--media', 'stand-in']);

/** The VideoRooms a Janus has, asked over its WebSocket API as any client would. */
async function janusRooms(wsUrl: string): Promise<number[]> {
  const ws = new WebSocket(wsUrl, 'janus-protocol');
  const answers: Record<string, unknown>[] = [];
  const next = () => new Promise<Record<string, any>>((resolve) => {
    const look = () => (answers.length ? resolve(answers.shift()!) : setTimeout(look, 10));
    look();
  });
  ws.on('message', (d) => answers.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  try {
    ws.send(JSON.stringify({ janus: 'create', transaction: 'a' }));
    const session = (await next()).data.id as number;
    ws.send(JSON.stringify({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id: session, transaction: 'b' }));
    const handle = (await next()).data.id as number;
    ws.send(JSON.stringify({ janus: 'message', body: { request: 'list' }, session_id: session, handle_id: handle, transaction: 'c' }));
    const list = (await next()).plugindata.data.list as { room: number }[];
    return list.map((r) => r.room).sort((a, b) => a - b);
  } finally {
    ws.close();
  }
}

/** Writes a scenario of `n` participants in 5 s with the imported journey and its data file. */
function scenarioFor(dir: string, n: number, rows: string[]): string {
  writeFileSync(join(dir, 'journey.users.csv'), [readFileSync(join(dir, 'journey.users.csv'), 'utf8').split('\n')[0], ...rows].join('\n') + '\n');
  writeFileSync(join(dir, 'steady.json'), JSON.stringify({
    name: 'imported', description: 'the recording, many pupils', journey: './journey.ts', data: { csv: './journey.users.csv' },
    phases: [{ name: 'steady', startMs: 0, durationMs: 5_000, participants: n, curve: { kind: 'uniform' } }], client: { thinkTimeMs: 50 }, observeMs: 2_000,
  }));
  return join(dir, 'steady.json');
}

/** A run's summary (--json), and what a failed check shows: the headline, how each step's attempts failed, stderr. */
function summaryOf(r: ReturnType<typeof captureIo>) {
  const s = JSON.parse(r.out()) as { headline: string; users: { arrived: number; joined: number }; steps: { step: string; ok: number; failed: number; failures: { kind: string; count: number }[] }[] };
  return { s, why: `${s.headline}\n${JSON.stringify(s.steps.map((x) => [x.step, x.failures]))}\n${r.err()}` };
}

describe('firstbell record, then import har', () => {
  it("records the reference platform's login form and join in Chromium; the imported journey logs 100 pupils of five classes in and joins each to its own", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'steps.mjs'), `export default async (page) => {
  await page.type('input[name=username]', 'pupil-1');
  await page.type('input[name=password]', 'pw-1');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await Promise.all([page.waitForNavigation(), page.click('a.conference')]);
  await page.waitForFunction(() => window.firstbell && (window.firstbell.marks.assigned || window.firstbell.state === 'failed'));
};
`);
    const c = captureIo();
    expect(await main(['record', `${platform().url}/login`, '--out', join(dir, 'morning.har'), '--script', join(dir, 'steps.mjs')], c.io), c.err()).toBe(EXIT.ok);
    expect(c.out()).toMatch(/morning\.har: \d+ requests recorded/);
    const imp = captureIo();
    expect(await main(['import', 'har', join(dir, 'morning.har'), '--out', join(dir, 'journey.ts')], imp.io), imp.err()).toBe(EXIT.ok);
    // The page's script and the favicon are left out; the form's CSRF token, the pupil's class and the join's token are taken.
    expect(imp.out()).toContain('(5 steps: login_page admission, login admission, dashboard_page admission, conference_page broker, join broker)');
    expect(imp.out()).toContain('taken from the answers: csrf, location, csrfToken, conference');
    const journey = readFileSync(join(dir, 'journey.ts'), 'utf8');
    expect(journey).toContain("extract.regex(res.body, /\\bdata-conference\\s*=\\s*\"([^\"]*)\"/, 'data-conference')");
    expect(journey).toContain('`/api/conferences/${conference}/join`');

    const before = await platform().stats();
    const rows = Array.from({ length: 100 }, (_, i) => `pupil-${i + 1},pw-${i + 1}`);
    const r = captureIo();
    const code = await main(['run', scenarioFor(dir, 100, rows), '--target', platform().url, '--scale', '1', '--out', tempDir(), '--no-progress', '--json'], r.io);
    expect(code, r.err()).toBe(EXIT.ok);
    const s = JSON.parse(r.out()) as { users: { arrived: number; joined: number }; steps: { step: string; ok: number; failed: number }[] };
    expect(s.users).toMatchObject({ arrived: 100, joined: 100 });
    expect(s.steps.every((x) => x.ok === 100 && x.failed === 0), JSON.stringify(s.steps)).toBe(true);
    // The platform's own counters: 100 more logins and joins, none refused (a pupil sent to another class's conference is).
    const after = await platform().stats();
    expect(after.logins.ok - before.logins.ok).toBe(100);
    expect(after.joins.ok - before.joins.ok).toBe(100);
  }, 120_000);

  it('opens a window where there is a display (a virtual one, Xvfb) and records until it is told to stop', async () => {
    const display = ':97';
    const xvfb = spawn('Xvfb', [display, '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    const before = process.env.DISPLAY;
    process.env.DISPLAY = display;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const stop = new AbortController();
      const c = captureIo();
      const file = join(tempDir(), 'window.har');
      const logins = (await platform().stats()).logins;
      const recording = main(['record', `${platform().url}/login`, '--out', file], { ...c.io, signal: stop.signal });
      // Until the page is in the window: the platform has served its login page.
      for (let i = 0; i < 100 && !c.err().includes('close it'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(c.err()).toContain('do what a pupil does in the window, then close it (or press Ctrl-C)');
      await new Promise((r) => setTimeout(r, 3_000));
      stop.abort();
      expect(await recording, c.err()).toBe(EXIT.ok);
      const har = JSON.parse(readFileSync(file, 'utf8')) as { log: { entries: { request: { url: string }; response: { status: number } }[] } };
      expect(har.log.entries.map((e) => [e.request.url, e.response.status])).toContainEqual([`${platform().url}/login`, 200]);
      expect((await platform().stats()).logins).toEqual(logins);
    } finally {
      if (before === undefined) delete process.env.DISPLAY;
      else process.env.DISPLAY = before;
      xvfb.kill();
    }
  });

  it('needs a display or --script, and records only loopback or allowed hosts', async () => {
    const noDisplay = captureIo();
    const display = process.env.DISPLAY;
    delete process.env.DISPLAY;
    try {
      expect(await main(['record', `${platform().url}/login`, '--out', join(tempDir(), 'a.har')], noDisplay.io)).toBe(EXIT.usage);
    } finally {
      if (display !== undefined) process.env.DISPLAY = display;
    }
    expect(noDisplay.err()).toContain('there is no display here to open a window on: give --script with the steps to record in a headless Chromium');
    const far = captureIo();
    expect(await main(['record', 'http://192.0.2.1/login', '--out', join(tempDir(), 'b.har'), '--script', 'x.mjs'], far.io)).toBe(EXIT.usage);
    expect(far.err()).toContain('192.0.2.1 is not on loopback; firstbell loads only hosts it is allowed to: add --allow-target 192.0.2.1');
  });
});

describe('the janus.js classroom page, recorded in Chromium and imported', () => {
  const ex = new URL('../examples/janus-classroom/', import.meta.url).pathname;
  let farm: JanusFarm | undefined;
  let site: Nginx | undefined;

  it("runs without edits for 100 pupils of five classes before a real Janus: each joins its own class's room, named from the data", async () => {
    [farm] = await startJanusFarms(1);
    site = await startClassroomNginx(ex, farm!.wsUrl);
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'steps.mjs'), `export default async (page) => {
  await page.click('#join');
  await page.waitForSelector('#status[data-state=joined], #status[data-state=failed]', { timeout: 20000 });
};
`);
      const c = captureIo();
      expect(await main(['record', `${site.url}/classroom.html?room=4711&name=pupil-1`, '--out', join(dir, 'classroom.har'), '--script', join(dir, 'steps.mjs')], c.io), c.err()).toBe(EXIT.ok);
      const imp = captureIo();
      expect(await main(['import', 'har', join(dir, 'classroom.har'), '--out', join(dir, 'journey.ts')], imp.io), imp.err()).toBe(EXIT.ok);
      expect(imp.out()).toContain('(2 steps: classroom_page broker, janus media)');
      expect(imp.out()).toContain('taken from the answers: sessionId, handleId');
      // The page's address gave the room and the name: the data's columns, the recorded row first.
      expect(readFileSync(join(dir, 'journey.users.csv'), 'utf8')).toBe('room,name\n4711,pupil-1\n');
      const journey = readFileSync(join(dir, 'journey.ts'), 'utf8');
      expect(journey).toContain('"request":"join","room":${room},"ptype":"publisher","display":"${name}"');
      expect(journey).toMatch(/messages? that followed from media \(webrtcup, media\)/);

      const rooms = (i: number) => 4801 + (i % 5);
      const r = captureIo();
      const code = await main(['run', scenarioFor(dir, 100, Array.from({ length: 100 }, (_, i) => `${rooms(i)},pupil-${i}`)), '--target', site.url, '--scale', '1', '--out', tempDir(), '--no-progress', '--json'], r.io);
      const { s, why } = summaryOf(r);
      expect(code, why).toBe(EXIT.ok);
      expect(s.users, why).toMatchObject({ arrived: 100, joined: 100 });
      expect(s.steps.map((x) => [x.step, x.ok, x.failed]), why).toEqual([['classroom_page', 100, 0], ['janus', 100, 0]]);
      // Janus' own rooms: the recorded class's and the five classes of the data, each made by its first pupil.
      expect(await janusRooms(farm!.wsUrl)).toEqual(expect.arrayContaining([4711, 4801, 4802, 4803, 4804, 4805]));
    } finally {
      await site?.stop();
      await farm?.stop();
    }
  }, 120_000);
});
