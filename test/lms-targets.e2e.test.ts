// The BigBlueButton and Moodle targets against servers on loopback that behave as their documentation says.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bbbCall, bbbChecksum } from '../targets/bbb.js';
import { moodleLoginToken } from '../targets/moodle.js';
import { runScenario, steadyScenario, tempDir } from './helpers.js';
import { fakeBbb, fakeMoodle } from './servers/lms.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});
const tracked = <T extends { close: () => Promise<void> }>(x: T): T => {
  closers.push(x.close);
  return x;
};

describe('BigBlueButton target', () => {
  it('computes the checksum of the API documentation\'s example', () => {
    const secret = '639259d4-9dd8-4b25-bf01-95f9567eaf4b';
    expect(bbbChecksum('create', 'name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444', secret)).toBe('1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17');
    expect(bbbCall('/bigbluebutton/', 'create', { name: 'Test Meeting', meetingID: 'abc123', attendeePW: '111222', moderatorPW: '333444' }, secret)).toBe(
      '/bigbluebutton/api/create?name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17',
    );
    expect(bbbCall('/bigbluebutton/api', 'isMeetingRunning', {}, secret)).toBe(`/bigbluebutton/api/isMeetingRunning?checksum=${bbbChecksum('isMeetingRunning', '', secret)}`);
  });

  it('creates each class once, joins every pupil as a viewer and enters the client, with SHA-256 where configured', async () => {
    const secret = 'a-shared-secret';
    const bbb = tracked(await fakeBbb(secret, 'sha256'));
    const r = await runScenario({ scenario: steadyScenario(20, 3_000, []), seed: 1, platform: { journey: 'bbb', target: `${bbb.url}/bigbluebutton/`, options: { secret, checksum: 'sha256' } }, outDir: tempDir() });
    expect(r.series.journeys.joined).toBe(60);
    expect(bbb.seen).toMatchObject({ creates: 60, duplicates: 54, joins: 60, entered: 60, badChecksums: 0 });
    // run.json names the target with its path and the journey's options, but never its secret.
    expect(r.info.target).toEqual({ kind: 'bbb', url: `${bbb.url}/bigbluebutton/`, options: { checksum: 'sha256' } });
    expect(readFileSync(join(r.dir, 'run.json'), 'utf8')).not.toContain(secret);
  });

  it('records a wrong secret as the server\'s checksumError', async () => {
    const bbb = tracked(await fakeBbb('the-right-secret', 'sha1'));
    const r = await runScenario({ scenario: steadyScenario(10, 1_000, []), seed: 1, platform: { journey: 'bbb', target: `${bbb.url}/bigbluebutton/`, options: { secret: 'a-wrong-secret' } }, outDir: tempDir() });
    const create = r.series.total((d) => d.step === 'create');
    expect(create.failed).toBe(10);
    expect(create.failures).toEqual({ protocol: 10 });
    expect(bbb.seen.badChecksums).toBe(10);
  });
});

describe('Moodle target', () => {
  it('finds the logintoken in the login form however its attributes are ordered', () => {
    expect(moodleLoginToken('<input type="hidden" name="logintoken" value="abc">')).toBe('abc');
    expect(moodleLoginToken('<input value="xyz" type="hidden" name="logintoken">')).toBe('xyz');
    expect(moodleLoginToken('<form></form>')).toBeUndefined();
  });

  it('logs every pupil in with a fresh single-use logintoken, reaches the dashboard and joins the lesson', async () => {
    const moodle = tracked(await fakeMoodle());
    const platform = { journey: 'moodle', target: moodle.url, options: { join: '/mod/bigbluebuttonbn/bbb_view.php?action=join&id={n}' } };
    const r = await runScenario({ scenario: steadyScenario(20, 3_000, []), seed: 1, platform, outDir: tempDir() });
    expect(r.series.journeys.joined).toBe(60);
    // One more token: the preflight's look at the login page before the start.
    expect(moodle.seen).toMatchObject({ tokensIssued: 61, tokenReused: 0, logins: 60, joins: 60 });
  });

  it('records a refused login as a failure at the login step', async () => {
    const moodle = tracked(await fakeMoodle());
    // The accounts come from the scenario's data: here each with a wrong password.
    const csv = join(tempDir(), 'pupils.csv');
    writeFileSync(csv, ['username,password', ...Array.from({ length: 10 }, (_, i) => `pupil-${i},wrong`)].join('\n'));
    const scenario = { ...steadyScenario(10, 1_000, []), data: { csv } };
    const r = await runScenario({ scenario, seed: 1, platform: { journey: 'moodle', target: moodle.url }, outDir: tempDir() });
    const login = r.series.total((d) => d.step === 'login');
    expect(login.failed).toBe(10);
    expect(login.failures).toEqual({ protocol: 10 });
  });
});
