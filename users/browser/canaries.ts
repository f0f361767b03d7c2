// Browser users: a few real Chromium participants (fake camera and microphone, real WebRTC) that join
// through the platform's web client again and again while the protocol users load it, and say what a
// pupil saw: page load, login, click to joined, first remote frame, then the video every second.
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { Layer } from '../../scenarios/model.js';
import type { Sample, Outcome } from '../../api/sample.js';
import { classifyError } from '../../api/sample.js';
import type { StepDecl } from '../../api/target.js';
import type { Identity } from '../../api/identity.js';
import type { WebClient } from '../../api/web-client.js';
import { MEDIA_HEADER, mediaLine, type BrowserJourney, type MediaSecond } from '../../run-folder/records.js';
import { connectChromium, deprioritise, launchChromium, MEDIA_ARGS } from '../../lib/chromium.js';

/** How the browser users run: how many, how long each stays in its conference before it leaves and joins again. */
export interface BrowserUsersOptions {
  count: number;
  /** Time in the conference per journey, ms; then the user leaves and joins again at once. */
  cycleMs: number;
  /** Chromium to launch (default: FIRSTBELL_CHROMIUM or /usr/bin/chromium). */
  chromium?: string;
  /** A running browser to attach to (ws://…) instead of launching one. */
  endpoint?: string;
  /** Longest wait for any one step, ms. */
  stepTimeoutMs: number;
}




/** The browser users' steps, each with its layer; they join the run's steps, without objectives of their own. */
export const BROWSER_STEPS: StepDecl[] = [
  { layer: 'admission', step: 'browser_page', browser: true },
  { layer: 'admission', step: 'browser_login', browser: true },
  { layer: 'broker', step: 'browser_assign', browser: true },
  { layer: 'media', step: 'browser_join', browser: true },
  { layer: 'media', step: 'browser_first_frame', browser: true },
];

/** Browser users take participant ids from here: one class of their own, far beyond any population. */
export const BROWSER_USER_BASE = 9_000_000;


export interface BrowserUsersContext {
  origin: string;
  client: WebClient;
  /** Who a browser user is, from its participant id. */
  identity: (user: number) => Identity;
  clock: () => number;
  emit: (s: Sample) => void;
  journey: (j: BrowserJourney) => void;
  media: (m: MediaSecond) => void;
}

interface PageEvent {
  type: 'mark' | 'error' | 'dropped' | 'warning';
  name?: string;
  stage?: string;
  message?: string;
  at: number;
}

interface UserWindow {
  context: BrowserContext;
  page: Page;
  /** What the page reported in the current journey. */
  events: PageEvent[];
  notify: () => void;
}

/** The page's marks after the click into the conference, each with the step it ends and where its duration goes. */
const CONFERENCE_MARKS: [string, Layer, string, 'assignMs' | 'joinMs' | 'firstFrameMs'][] = [
  ['assigned', 'broker', 'browser_assign', 'assignMs'],
  ['joined', 'media', 'browser_join', 'joinMs'],
  ['first_frame', 'media', 'browser_first_frame', 'firstFrameMs'],
];

class Failed extends Error {
  constructor(readonly stage: string, message: string, readonly outcome: Outcome = 'protocol', readonly status = 0) {
    super(message);
  }
}

/** Runs the browser users until stop(); each in a window of its own (background tabs do not paint). */
export class BrowserUsers {
  private browser?: Browser;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private wake = new Set<() => void>();
  private owned = false;
  private windows = new Map<number, UserWindow>();
  private origin = '';
  private ctx!: BrowserUsersContext;

  constructor(private o: BrowserUsersOptions) {}

  /**
   * Launches or attaches to the browser and opens every user's window, before the clock starts:
   * starting renderers is heavy, and not part of what is measured. Rejects with a clear message when it cannot.
   */
  async open(origin: string): Promise<void> {
    this.origin = origin;
    if (this.o.endpoint) {
      this.browser = await connectChromium(this.o.endpoint);
    } else {
      this.browser = await launchChromium({ executablePath: this.o.chromium, args: MEDIA_ARGS });
      this.owned = true;
      if (process.platform === 'linux') deprioritise(this.browser.process()?.pid);
    }
    for (let k = 0; k < this.o.count; k++) await this.windowOf(BROWSER_USER_BASE + k);
  }

  start(ctx: BrowserUsersContext): void {
    this.ctx = ctx;
    for (let k = 0; k < this.o.count; k++) this.loops.push(this.loop(BROWSER_USER_BASE + k, k * 400));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.wake) w();
    await Promise.race([Promise.allSettled(this.loops), new Promise((r) => setTimeout(r, 5000).unref())]);
    // A lent browser is given back as it was found: without this run's windows.
    if (!this.owned) await Promise.all([...this.windows.values()].map((w) => w.context.close().catch(() => undefined)));
    this.windows.clear();
    if (this.owned) await this.browser?.close().catch(() => undefined);
    else await this.browser?.disconnect().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private async loop(user: number, delayMs: number): Promise<void> {
    await this.sleep(delayMs);
    for (let n = 1; !this.stopped; n++) {
      const end = await this.journey(user, n).catch(() => 'failed' as const);
      // A user that could not get in tries again after a pause, as a pupil would.
      if (end === 'failed' && !this.stopped) await this.sleep(2000);
    }
  }

  private step(user: number, layer: Layer, step: string, startMs: number, endMs: number, outcome: Outcome, status = 0): void {
    this.ctx.emit({ user, layer, step, intendedMs: startMs, startMs, endMs, outcome, status });
  }

  /**
   * The user's window, kept from one journey to the next (a new window per journey would start a new
   * renderer each time, CPU the protocol users on the same machine need); made anew after a failure.
   */
  private async windowOf(user: number): Promise<UserWindow> {
    const have = this.windows.get(user);
    if (have && !have.page.isClosed()) return have;
    const context = await this.browser!.createBrowserContext();
    await context.overridePermissions(this.origin, ['camera', 'microphone']);
    const page = await context.newPage();
    page.setDefaultTimeout(this.o.stepTimeoutMs);
    const w: UserWindow = { context, page, events: [], notify: () => undefined };
    await page.exposeFunction('firstbellReport', (ev: PageEvent) => {
      w.events.push(ev);
      w.notify();
    });
    this.windows.set(user, w);
    return w;
  }

  /** Leaves the conference and logs out: the page goes blank (closing its connections) and the cookies go. */
  private async leave(user: number, broken: boolean): Promise<void> {
    const w = this.windows.get(user);
    if (!w) return;
    try {
      if (broken) throw new Error('start afresh');
      await w.page.goto('about:blank');
      const cdp = await w.page.createCDPSession();
      await cdp.send('Network.clearBrowserCookies');
      await cdp.detach();
    } catch {
      this.windows.delete(user);
      await w.context.close().catch(() => undefined);
    }
  }

  /** Runs one browser step timed from now, records its sample and its duration under `key`; a failure ends the journey. */
  private async timed<T>(j: BrowserJourney, layer: Layer, step: string, key: 'pageMs' | 'loginMs', stage: string, fn: () => Promise<T>): Promise<T> {
    const { clock } = this.ctx;
    const t = clock();
    try {
      const v = await fn();
      this.step(j.user, layer, step, t, clock(), 'ok');
      j[key] = clock() - t;
      return v;
    } catch (e) {
      const f = e instanceof Failed ? e : new Failed(stage, e instanceof Error ? e.message : String(e), this.stopped ? 'aborted' : /timeout/i.test(String(e)) ? 'timeout' : classifyError(e));
      this.step(j.user, layer, step, t, clock(), f.outcome, f.status);
      throw f;
    }
  }

  /** Waits for the page's mark `name`, or fails on an error, a drop, the run's end or the time limit. */
  private waitForMark(win: UserWindow, name: string, limitMs: number): Promise<PageEvent> {
    return new Promise<PageEvent>((resolve, reject) => {
      const check = () => {
        const hit = win.events.find((e) => (e.type === 'mark' && e.name === name) || e.type === 'error' || e.type === 'dropped');
        if (hit?.type === 'mark') return done(() => resolve(hit));
        if (hit) return done(() => reject(new Failed(hit.stage ?? 'media', hit.message ?? 'the conference was lost', hit.type === 'dropped' ? 'reset' : hit.stage === 'broker' ? 'http' : 'protocol', Number(/answered (\d{3})/.exec(hit.message ?? '')?.[1] ?? 0))));
        if (this.stopped) return done(() => reject(new Failed('stopped', 'the run ended', 'aborted')));
      };
      const timer = setTimeout(() => done(() => reject(new Failed(name, `no ${name.replace('_', ' ')} within ${limitMs} ms`, 'timeout'))), limitMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.wake.delete(check);
        win.notify = () => undefined;
        f();
      };
      win.notify = check;
      this.wake.add(check);
      check();
    });
  }

  /** From the click into the conference: assigned, joined, first frame, each timed from the click as the page marks it. */
  private async intoConference(win: UserWindow, j: BrowserJourney, click: number): Promise<void> {
    const { clock } = this.ctx;
    const runMs = (epochMs: number) => clock() - (Date.now() - epochMs);
    for (const [mark, layer, step, key] of CONFERENCE_MARKS) {
      try {
        const ev = await this.waitForMark(win, mark, this.o.stepTimeoutMs - (clock() - click));
        const at = Math.max(click, runMs(ev.at));
        this.step(j.user, layer, step, click, at, 'ok');
        j[key] = at - click;
      } catch (e) {
        const f = e instanceof Failed ? e : new Failed(mark, String(e));
        this.step(j.user, layer, step, click, clock(), f.outcome, f.status);
        throw f;
      }
    }
  }

  private async journey(user: number, n: number): Promise<BrowserJourney['end']> {
    const { clock, client } = this.ctx;
    const j: BrowserJourney = { user, n, startMs: clock(), endMs: 0, end: 'failed' };
    const httpOk = (stage: string) => (status: number) => {
      if (status >= 400) throw new Failed(stage, `the platform answered ${status}`, 'http', status);
    };
    let w: UserWindow | undefined;
    try {
      w = await this.windowOf(user);
      w.events = [];
      const page = w.page;
      await this.timed(j, 'admission', 'browser_page', 'pageMs', 'login page', async () => httpOk('login page')(await client.open(page, AbortSignal.timeout(this.o.stepTimeoutMs))));
      await this.timed(j, 'admission', 'browser_login', 'loginMs', 'login', async () => httpOk('login')(await client.login(page, this.ctx.identity(user))));
      const click = clock();
      await client.enter(page);
      await this.intoConference(w, j, click);
      j.end = await this.hold(page, j, click + this.o.cycleMs, w.events);
    } catch (e) {
      j.end = this.stopped ? 'stopped' : 'failed';
      if (e instanceof Failed) {
        if (e.outcome === 'reset') j.end = 'dropped';
        j.failedAt = e.stage;
        j.error = e.message;
      } else j.error = e instanceof Error ? e.message : String(e);
    } finally {
      j.endMs = clock();
      this.ctx.journey(j);
      if (w) await this.leave(user, j.end === 'failed' || j.end === 'stopped');
    }
    return j.end;
  }

  /** Reads the page's media counters every second until the cycle ends, the run stops or the conference is lost. */
  private async hold(page: Page, j: BrowserJourney, untilMs: number, events: PageEvent[]): Promise<BrowserJourney['end']> {
    type Reading = { state: string; framesDecoded: number; fps: number; packetsLost: number; jitterMs: number; bytesIn: number; bytesOut: number; freezes: number; pairs: string[] };
    const { user, n } = j;
    let prev: (Reading & { t: number }) | undefined;
    while (!this.stopped) {
      const now = this.ctx.clock();
      if (now >= untilMs) return 'left';
      const r = (await page.evaluate(() => (window as unknown as { firstbell: { stats(): Promise<unknown> } }).firstbell.stats())) as Reading;
      if (prev) {
        const dt = (now - prev.t) / 1000;
        this.ctx.media({
          tMs: now, user, journey: n, state: r.state, fps: r.fps,
          framesDecoded: r.framesDecoded - prev.framesDecoded,
          kbpsIn: ((r.bytesIn - prev.bytesIn) * 8) / 1000 / dt,
          kbpsOut: ((r.bytesOut - prev.bytesOut) * 8) / 1000 / dt,
          packetsLost: Math.max(0, r.packetsLost - prev.packetsLost),
          jitterMs: r.jitterMs,
          freezes: r.freezes - prev.freezes,
        });
      }
      prev = { ...r, t: now };
      if (r.pairs.length > (j.pairs?.length ?? 0)) j.pairs = r.pairs;
      if (events.some((e) => e.type === 'dropped') || r.state === 'dropped') throw new Failed('in conference', 'the conference was lost', 'reset');
      await this.sleep(1000 - (this.ctx.clock() - now));
    }
    return 'stopped';
  }
}
