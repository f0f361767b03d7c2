// Browser users: a few real Chromium participants (fake camera and microphone, real WebRTC) that join
// through the platform's web client again and again while the protocol users load it, and say what a
// pupil saw: page load, login, click to joined, first remote frame, then the video every second.
import { setTimeout as delay } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { Layer } from '../../scenarios/model.js';
import { stepOutcome, type Outcome, type Sample } from '../../api/sample.js';
import type { StepDecl } from '../../api/vu.js';
import type { Identity } from '../../api/identity.js';
import { pageUrl, webSteps, type MediaReading, type PageCondition, type WebClient } from '../../api/web-client.js';
import { firstFrameAt, installCollector, lastClickAt, readCollector } from './collector.js';
import { NotAllowedError, type NetPolicy } from '../../protocol/address-guard.js';
import type { BrowserJourney, MediaSecond } from '../../run-folder/records.js';
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
  /** Hosts beyond loopback the pages may reach (the target's and --allow-target). */
  allowHosts?: string[];
  /** The run's network policy: every request of the pages is checked against it. */
  net: NetPolicy;
}

/** The browser users' steps for a web client, each with its layer; they join the run's steps, without objectives of their own. */
export function browserSteps(client: WebClient): StepDecl[] {
  return webSteps(client).map(({ step, layer }) => ({ layer, step, browser: true }));
}

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

interface UserWindow {
  context: BrowserContext;
  page: Page;
}

class Failed extends Error {
  constructor(readonly stage: string, message: string, readonly outcome: Outcome = 'protocol', readonly status = 0) {
    super(message);
  }
}

/** A failure as the samples and the journey record it: an HTTP status error keeps its status. */
function failureOf(stage: string, e: unknown, stopped: boolean): Failed {
  if (e instanceof Failed) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (stopped) return new Failed(stage, message, 'aborted');
  // The steps' own rules, with puppeteer's timeouts known by their words.
  const { outcome, status } = stepOutcome(e, false, /timeout|timed out|aborted/i.test(message));
  return new Failed(stage, message, outcome, status);
}

/** A page's words for why the pupil is not in: a status code in them (e.g. "502 Bad Gateway") is the answer it saw. */
function pageSays(stage: string, text: string): Failed {
  const status = Number(/\b([45]\d\d)\b/.exec(text)?.[1] ?? 0);
  return new Failed(stage, text.trim().slice(0, 200) || 'the page says the pupil could not get in', status ? 'http' : 'protocol', status);
}

/** Runs the browser users until stop(); each in a window of its own (background tabs do not paint). */
export class BrowserUsers {
  private browser?: Browser;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private owned = false;
  private windows = new Map<number, UserWindow>();
  private ctx!: BrowserUsersContext;
  /** Aborted when the run stops: every wait on a page ends with it. */
  private readonly halt = new AbortController();

  constructor(private o: BrowserUsersOptions) {}

  /**
   * Launches or attaches to the browser and opens every user's window, before the clock starts:
   * starting renderers is heavy, and not part of what is measured. Rejects with a clear message when it cannot.
   */
  async open(): Promise<void> {
    if (this.o.endpoint) {
      this.browser = await connectChromium(this.o.endpoint);
    } else {
      this.browser = await launchChromium({ executablePath: this.o.chromium, args: MEDIA_ARGS, allowHosts: this.o.allowHosts });
      this.owned = true;
      if (process.platform === 'linux') deprioritise(this.browser.process()?.pid);
    }
    for (let k = 0; k < this.o.count; k++) await this.windowOf(BROWSER_USER_BASE + k);
  }

  /** The browser's own process, when firstbell started it: its CPU and memory are watched with its children's. */
  pid(): number | undefined {
    return this.owned ? this.browser?.process()?.pid : undefined;
  }

  start(ctx: BrowserUsersContext): void {
    this.ctx = ctx;
    for (let k = 0; k < this.o.count; k++) this.loops.push(this.loop(BROWSER_USER_BASE + k, k * 400));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort(new Error('the run ended'));
    await Promise.race([Promise.allSettled(this.loops), new Promise((r) => setTimeout(r, 5000).unref())]);
    // A lent browser is given back as it was found: without this run's windows.
    if (!this.owned) await Promise.all([...this.windows.values()].map((w) => w.context.close().catch(() => undefined)));
    this.windows.clear();
    if (this.owned) await this.browser?.close().catch(() => undefined);
    else await this.browser?.disconnect().catch(() => undefined);
  }

  /** Waits, or less when the run stops. */
  private sleep(ms: number): Promise<void> {
    return delay(Math.max(0, ms), undefined, { signal: this.halt.signal }).catch(() => undefined);
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
    const page = await context.newPage();
    page.setDefaultTimeout(this.o.stepTimeoutMs);
    await page.evaluateOnNewDocument(installCollector);
    // Names outside the allow-list are not found (Chromium's resolver rules); an address literal is stopped here.
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.isInterceptResolutionHandled()) return;
      try {
        const u = new URL(req.url());
        if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:' || u.protocol === 'wss:') this.o.net.assert(u.hostname);
        void req.continue();
      } catch (e) {
        const now = this.ctx?.clock() ?? 0;
        if (e instanceof NotAllowedError) this.ctx?.emit({ user, layer: 'admission', step: 'browser_page', intendedMs: now, startMs: now, endMs: now, outcome: 'not_allowed', status: 0, error: `page request to ${e.host}` });
        void req.abort('addressunreachable');
      }
    });
    const w: UserWindow = { context, page };
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

  /** A signal for one wait: aborted at the run's end or after `ms`. */
  private within(ms: number): AbortSignal {
    return AbortSignal.any([this.halt.signal, AbortSignal.timeout(Math.max(1, Math.round(ms)))]);
  }

  /** Runs one browser step timed from now and records its sample; a failure ends the journey. Resolves with its duration. */
  private async timed(j: BrowserJourney, layer: Layer, step: string, stage: string, fn: (signal: AbortSignal) => Promise<number | void>): Promise<number> {
    const { clock } = this.ctx;
    const t = clock();
    try {
      const status = await fn(this.within(this.o.stepTimeoutMs));
      if (typeof status === 'number' && status >= 400) throw new Failed(stage, `the platform answered ${status}`, 'http', status);
      this.step(j.user, layer, step, t, clock(), 'ok');
      return clock() - t;
    } catch (e) {
      const f = failureOf(stage, e, this.stopped);
      this.step(j.user, layer, step, t, clock(), f.outcome, f.status);
      throw f;
    }
  }

  /** Resolves when the condition is met; rejects when the page shows the client's `failed` selector, or at the signal. */
  private async until(page: Page, stage: string, cond: PageCondition, signal: AbortSignal): Promise<void> {
    const watch = new AbortController();
    const both = AbortSignal.any([signal, watch.signal]);
    const met = typeof cond === 'string' ? page.waitForSelector(cond, { signal: both, timeout: 0 }).then(() => undefined) : cond(page, both).then(() => undefined);
    const failedSel = this.ctx.client.failed;
    const failed = failedSel
      ? page.waitForSelector(failedSel, { signal: both, timeout: 0 }).then(async (el) => {
          throw pageSays(stage, (await el?.evaluate((e) => (e as HTMLElement).innerText ?? e.textContent ?? '').catch(() => '')) ?? '');
        })
      : new Promise<never>(() => undefined);
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error(`timed out`));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
    try {
      await Promise.race([met, failed, aborted]);
    } finally {
      watch.abort();
      met.catch(() => undefined);
      failed.catch(() => undefined);
    }
  }

  /** Joined, then the first frame, each timed from the click (the start of the client's last step). */
  private async intoConference(page: Page, j: BrowserJourney, click: number): Promise<void> {
    const { clock, client } = this.ctx;
    const left = () => this.within(this.o.stepTimeoutMs - (clock() - click));
    const conferenceStep = async (step: string, stage: string, fn: (signal: AbortSignal) => Promise<number>, key: 'joinMs' | 'firstFrameMs') => {
      try {
        const at = await fn(left());
        this.step(j.user, 'media', step, click, at, 'ok');
        j[key] = at - click;
      } catch (e) {
        const f = failureOf(stage, /timed out|timeout/i.test(String(e)) && !this.stopped ? new Failed(stage, `not ${stage} within ${this.o.stepTimeoutMs} ms of the click`, 'timeout') : e, this.stopped);
        this.step(j.user, 'media', step, click, clock(), f.outcome, f.status);
        throw f;
      }
    };
    await conferenceStep('browser_join', 'joined', async (signal) => {
      await this.until(page, 'joined', client.joined, signal);
      return clock();
    }, 'joinMs');
    const ff = client.firstFrame ?? 'video';
    if (ff === false) return;
    await conferenceStep('browser_first_frame', 'first frame', async (signal) => {
      if (ff !== 'video') {
        await this.until(page, 'first frame', ff, signal);
        return clock();
      }
      // The collector notes the frame's own time in the page; it is taken over to the run's clock.
      const handle = await page.waitForFunction(firstFrameAt, { signal, timeout: 0, polling: 50 });
      const epochMs = Number(await handle.jsonValue());
      return Math.max(click, Math.min(clock(), clock() - (Date.now() - epochMs)));
    }, 'firstFrameMs');
  }

  private async journey(user: number, n: number): Promise<BrowserJourney['end']> {
    const { clock, client } = this.ctx;
    const j: BrowserJourney = { user, n, startMs: clock(), endMs: 0, end: 'failed' };
    let w: UserWindow | undefined;
    try {
      w = await this.windowOf(user);
      const page = w.page;
      const who = this.ctx.identity(user);
      const url = pageUrl(client, who, this.ctx.origin);
      await w.context.overridePermissions(new URL(url).origin, ['camera', 'microphone']).catch(() => undefined);
      j.pageMs = await this.timed(j, client.pageLayer ?? 'admission', 'browser_page', 'page', async () => {
        const res = await page.goto(url, { waitUntil: 'load', timeout: this.o.stepTimeoutMs });
        return res?.status() ?? 0;
      });
      let click = clock();
      for (const [name, step] of Object.entries(client.steps ?? {})) {
        click = clock();
        const ms = await this.timed(j, step.layer, `browser_${name}`, name, (signal) => step.run(page, who, signal));
        (j.steps ??= []).push({ name, ms });
      }
      click = await clickedAt(page, click, clock);
      j.clickAtMs = click;
      await this.intoConference(page, j, click);
      j.end = await this.hold(page, j, click + this.o.cycleMs);
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

  /** Reads the page's media counters, and whether it still has its conference. */
  private async read(page: Page): Promise<{ r: MediaReading; dropped: boolean }> {
    const { client } = this.ctx;
    const collected = await page.evaluate(readCollector);
    const r = typeof client.media === 'function' ? await client.media(page) : collected;
    let dropped: boolean;
    if (typeof client.dropped === 'string') dropped = (await page.$(client.dropped)) !== null;
    else if (typeof client.dropped === 'function') dropped = await client.dropped(page);
    else dropped = collected.everConnected && collected.connected === 0;
    return { r, dropped };
  }

  /** Reads the page's media counters every second until the cycle ends, the run stops or the conference is lost. */
  private async hold(page: Page, j: BrowserJourney, untilMs: number): Promise<BrowserJourney['end']> {
    const { user, n } = j;
    let prev: (MediaReading & { t: number }) | undefined;
    while (!this.stopped) {
      const now = this.ctx.clock();
      if (now >= untilMs) return 'left';
      const { r, dropped } = await this.read(page);
      if (prev) {
        const dt = (now - prev.t) / 1000;
        this.ctx.media({
          tMs: now, user, journey: n, state: dropped ? 'dropped' : 'joined', fps: r.fps,
          framesDecoded: r.framesDecoded - prev.framesDecoded,
          kbpsIn: ((r.bytesIn - prev.bytesIn) * 8) / 1000 / dt,
          kbpsOut: ((r.bytesOut - prev.bytesOut) * 8) / 1000 / dt,
          packetsLost: Math.max(0, r.packetsLost - prev.packetsLost),
          jitterMs: r.jitterMs,
          freezes: r.freezes - prev.freezes,
        });
      }
      prev = { ...r, t: now };
      if ((r.pairs?.length ?? 0) > (j.pairs?.length ?? 0)) j.pairs = r.pairs;
      if (dropped) throw new Failed('in conference', 'the conference was lost', 'reset');
      await this.sleep(1000 - (this.ctx.clock() - now));
    }
    return 'stopped';
  }
}

/**
 * When the last step clicked, on the run's clock: the page's own note of its last click, within the step (a step
 * that waits for its button and then clicks is timed to the click); the step's start where the page noted none.
 */
async function clickedAt(page: Page, stepStart: number, clock: () => number): Promise<number> {
  const epochMs = await page.evaluate(lastClickAt).catch(() => 0);
  if (!epochMs) return stepStart;
  const now = clock();
  return Math.max(stepStart, Math.min(now, now - (Date.now() - epochMs)));
}
