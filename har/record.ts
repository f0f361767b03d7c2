// firstbell record: Chromium opened on the platform, what it sends and receives written as a HAR (chrome-har for the
// HTTP exchanges, with their bodies; WebSocket messages as Chromium's own export has them, in _webSocketMessages).
import { harFromMessages } from 'chrome-har';
import type { CDPSession } from 'puppeteer-core';
import { MEDIA_ARGS, launchChromium } from '../lib/chromium.js';
import type { RecordScript } from './script.js';

/** The DevTools protocol events chrome-har builds the HTTP entries from. */
const OBSERVED = [
  'Page.loadEventFired', 'Page.domContentEventFired', 'Page.frameStartedLoading', 'Page.frameAttached', 'Page.frameScheduledNavigation',
  'Network.requestWillBeSent', 'Network.requestServedFromCache', 'Network.dataReceived', 'Network.responseReceived', 'Network.resourceChangedPriority',
  'Network.loadingFinished', 'Network.loadingFailed', 'Network.requestWillBeSentExtraInfo', 'Network.responseReceivedExtraInfo',
] as const;

type WsLog = { url: string; wallMs?: number; t0?: number; headers?: Record<string, string>; status?: number; answerHeaders?: Record<string, string>; messages: { type: 'send' | 'receive'; time: number; opcode: number; data: string }[] };

/** Listens to a page's network: the events for chrome-har, the bodies fetched as each exchange finishes, WebSockets apart. */
class NetworkLog {
  readonly events: { method: string; params: unknown }[] = [];
  readonly sockets = new Map<string, WsLog>();
  private readonly bodies: Promise<unknown>[] = [];
  private readonly answers = new Map<string, { response: { body?: string } }>();
  /** The bodies sent, by request: chrome-har keeps a JSON body's fields only, the HAR gets its text back. */
  private readonly sent = new Map<string, string>();

  constructor(private readonly cdp: CDPSession) {
    for (const method of OBSERVED) cdp.on(method, (params: unknown) => this.on(method, params as Record<string, any>));
    cdp.on('Network.webSocketCreated', (p: { requestId: string; url: string }) => this.sockets.set(p.requestId, { url: p.url, messages: [] }));
    cdp.on('Network.webSocketWillSendHandshakeRequest', (p: { requestId: string; timestamp: number; wallTime: number; request: { headers: Record<string, string> } }) => {
      const s = this.sockets.get(p.requestId);
      if (s) Object.assign(s, { wallMs: p.wallTime * 1000, t0: p.timestamp, headers: p.request.headers });
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (p: { requestId: string; response: { status: number; headers: Record<string, string> } }) => {
      const s = this.sockets.get(p.requestId);
      if (s) Object.assign(s, { status: p.response.status, answerHeaders: p.response.headers });
    });
    const frame = (type: 'send' | 'receive') => (p: { requestId: string; timestamp: number; response: { opcode: number; payloadData: string } }) => {
      const s = this.sockets.get(p.requestId);
      if (s) s.messages.push({ type, time: ((s.wallMs ?? 0) + (p.timestamp - (s.t0 ?? p.timestamp)) * 1000) / 1000, opcode: p.response.opcode, data: p.response.payloadData });
    };
    cdp.on('Network.webSocketFrameSent', frame('send'));
    cdp.on('Network.webSocketFrameReceived', frame('receive'));
  }

  private on(method: string, params: Record<string, any>): void {
    this.events.push({ method, params });
    const id = params.requestId as string | undefined;
    if (method === 'Network.requestWillBeSent' && params.request?.hasPostData) {
      if (params.request.postData !== undefined) this.sent.set(id!, params.request.postData as string);
      else this.bodies.push(this.cdp.send('Network.getRequestPostData', { requestId: id! }).then((r) => this.sent.set(id!, (params.request.postData = r.postData)), () => undefined));
    }
    if (method === 'Network.responseReceived') this.answers.set(id!, params as { response: { body?: string } });
    if (method === 'Network.loadingFinished') {
      const answer = this.answers.get(id!);
      if (answer) {
        this.bodies.push(this.cdp.send('Network.getResponseBody', { requestId: id! }).then((r) => (answer.response.body = r.base64Encoded ? Buffer.from(r.body, 'base64').toString('utf8') : r.body), () => undefined));
      }
    }
  }

  /** The HAR of everything seen so far, its entries in the order they began. */
  async har(): Promise<{ log: { entries: Record<string, unknown>[] } }> {
    await Promise.all(this.bodies);
    const har = harFromMessages(this.events, { includeTextFromResponseBody: true });
    for (const e of har.log.entries) {
      const text = this.sent.get(String(e._requestId));
      const request = e.request as { postData?: { text?: string } };
      if (text !== undefined && request.postData && request.postData.text === undefined) request.postData.text = text;
    }
    const headers = (h: Record<string, string> | undefined) => Object.entries(h ?? {}).map(([name, value]) => ({ name, value }));
    for (const s of this.sockets.values()) {
      har.log.entries.push({
        startedDateTime: new Date(s.wallMs ?? Date.now()).toISOString(), time: 0, _resourceType: 'websocket',
        request: { method: 'GET', url: s.url, httpVersion: 'HTTP/1.1', headers: headers(s.headers), queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
        response: { status: s.status ?? 0, statusText: '', httpVersion: 'HTTP/1.1', headers: headers(s.answerHeaders), cookies: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
        cache: {}, timings: { send: 0, wait: 0, receive: 0 }, _webSocketMessages: s.messages,
      });
    }
    har.log.entries.sort((a, b) => Date.parse(String(a.startedDateTime)) - Date.parse(String(b.startedDateTime)));
    return har;
  }
}

export interface RecordOptions {
  url: string;
  /** Steps to run headless; without them a window opens and the recording ends when it is closed (or on `signal`). */
  script?: RecordScript;
  executablePath?: string;
  allowHosts?: string[];
  signal?: AbortSignal;
}

/** Opens `url` in Chromium, runs the script (or waits for the user), and returns the HAR of what the page did. */
export async function record(o: RecordOptions): Promise<{ log: { entries: Record<string, unknown>[] } }> {
  // Headless, the page's camera and microphone are Chromium's fake ones, granted without asking (a classroom page's
  // join asks for them); in a window, the user's own, as they allow them.
  const browser = await launchChromium({ executablePath: o.executablePath, allowHosts: o.allowHosts, headed: !o.script, ...(o.script ? { args: MEDIA_ARGS } : {}) });
  try {
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    const cdp = await page.createCDPSession();
    const log = new NetworkLog(cdp);
    await cdp.send('Page.enable');
    await cdp.send('Network.enable');
    await page.goto(o.url, { waitUntil: 'load' });
    if (o.script) await o.script(page, { url: o.url });
    else {
      await new Promise<void>((resolve) => {
        browser.once('disconnected', () => resolve());
        page.once('close', () => resolve());
        o.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    // What the last step started (a request, a message) is given a moment to come back.
    if (browser.connected && !page.isClosed()) await new Promise((r) => setTimeout(r, 300));
    return await log.har();
  } finally {
    if (browser.connected) await browser.close();
  }
}
