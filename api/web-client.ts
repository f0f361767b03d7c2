// How a browser user gets into a conference through a platform's own pages, as the user of firstbell describes it.
import type { Page } from 'puppeteer-core';
import { LAYERS, type Layer } from '../scenarios/model.js';
import type { Identity } from './identity.js';

/**
 * Something the page comes to show. A CSS selector (attribute values included: `#status[data-state=joined]`) is met
 * when an element matches it. A function is met when it resolves; it fails the step when it throws (an
 * `HttpStatusError` carries its status into the samples).
 */
export type PageCondition = string | ((page: Page, signal: AbortSignal) => Promise<unknown>);

/** One thing a pupil does on the page after it loaded: type, click, wait. Timed as the sample step `browser_<name>`. */
export interface WebStep {
  layer: Layer;
  /** Does the step; may resolve with the HTTP status of a page it loaded (400 and above fail the step). */
  run(page: Page, who: Identity, signal: AbortSignal): Promise<number | void>;
}

/** One reading of the page's media counters, cumulative since the page loaded; firstbell turns them into rates. */
export interface MediaReading {
  /** Frames decoded from every incoming video stream. */
  framesDecoded: number;
  /** Received video frames per second, mean over the incoming video streams. */
  fps: number;
  packetsLost: number;
  jitterMs: number;
  bytesIn: number;
  bytesOut: number;
  freezes: number;
  /** Local and remote address:port of each ICE candidate pair in use. */
  pairs?: string[];
}

/** A browser journey written by the user: the first page, what a pupil does on it, and when it is in the conference. */
export interface WebClientDefinition {
  /**
   * The first page. A string is a URL, absolute or relative to the target (to the fault proxy when faults go
   * through it), in which `{participant}`, `{user}`, `{password}`, `{conference}`, `{school}`, `{place}`,
   * `{class}` and `{schoolName}` are replaced by the participant's identity (URL-encoded). A function builds it.
   */
  url: string | ((who: Identity, origin: string) => string);
  /** Layer of the page load (`browser_page`). Default 'admission'. */
  pageLayer?: Layer;
  /**
   * What a pupil does after the page loaded, in order (log in, click the class). The last step is the click into
   * the conference: joining and the first frame are timed from its start (from the page's when there is none).
   */
  steps?: Record<string, WebStep>;
  /** The pupil is in the conference (`browser_join`, layer 'media'), e.g. `#status[data-state=joined]`. */
  joined: PageCondition;
  /** The page says the pupil could not get in: a selector whose text is the reason. Watched until joined. */
  failed?: string;
  /**
   * The first frame (`browser_first_frame`, layer 'media'): 'video' (default) is the first video frame decoded from
   * any of the page's peer connections; a condition; or false when the page has no incoming video.
   */
  firstFrame?: 'video' | PageCondition | false;
  /**
   * Where media statistics come from: 'peer-connections' (default) reads every `RTCPeerConnection` the page made,
   * found without the page's help; a function reads the page's own figures instead.
   */
  media?: 'peer-connections' | ((page: Page) => Promise<MediaReading>);
  /**
   * The pupil lost the conference: a selector, or a function resolving true. Checked every second while in it.
   * Default: the page had a connected peer connection and now has none that is not failed or closed.
   */
  dropped?: string | ((page: Page) => Promise<boolean>);
}

/** A web client as firstbell drives it: the definition, checked. */
export interface WebClient extends WebClientDefinition {
  readonly kind: 'web-client';
}

/** Step names firstbell uses itself: browser_page, browser_join, browser_first_frame. */
const RESERVED = ['page', 'join', 'first_frame'];

/** A web client definition that does not hold together; names the field and the fix. */
export class WebClientError extends Error {
  override name = 'WebClientError';
}

/** Declares a browser journey; checks it at once, so a mistake shows where it was written. */
export function defineWebClient(def: WebClientDefinition): WebClient {
  const bad = (field: string, why: string) => {
    throw new WebClientError(`web client: ${field} ${why}`);
  };
  if (!def || typeof def !== 'object') bad('definition', 'is not an object; pass defineWebClient({ url, joined, … })');
  if (typeof def.url !== 'string' && typeof def.url !== 'function') bad('url', 'is missing; give the first page, e.g. "/classroom?room={conference}"');
  if (typeof def.joined !== 'string' && typeof def.joined !== 'function') bad('joined', 'is missing; give a selector the page shows once the pupil is in, e.g. "#status[data-state=joined]", or a function');
  if (def.pageLayer !== undefined && !(LAYERS as readonly string[]).includes(def.pageLayer)) bad('pageLayer', `"${String(def.pageLayer)}" is not a layer; use admission, broker or media`);
  for (const [name, step] of Object.entries(def.steps ?? {})) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) bad(`steps.${name}`, 'is not a step name; use lower-case letters, digits and _');
    if (RESERVED.includes(name)) bad(`steps.${name}`, `is a name firstbell gives its own step (${RESERVED.join(', ')}); call it e.g. "enter" or "click"`);
    if (!step || typeof step.run !== 'function') bad(`steps.${name}.run`, 'is missing; give an async function (page, who, signal) that does the step');
    if (!(LAYERS as readonly string[]).includes(step.layer)) bad(`steps.${name}.layer`, `"${String(step.layer)}" is not a layer; use admission, broker or media`);
  }
  if (def.firstFrame !== undefined && def.firstFrame !== false && def.firstFrame !== 'video' && typeof def.firstFrame !== 'string' && typeof def.firstFrame !== 'function') bad('firstFrame', "is not 'video', false, a selector or a function");
  if (def.media !== undefined && def.media !== 'peer-connections' && typeof def.media !== 'function') bad('media', "is not 'peer-connections' or a function");
  return { ...def, kind: 'web-client' };
}

/** The first page's URL for a participant: the template filled in, resolved against the origin. */
export function pageUrl(client: Pick<WebClientDefinition, 'url'>, who: Identity, origin: string): string {
  if (typeof client.url === 'function') return new URL(client.url(who, origin), origin.replace(/^ws(s?):/, 'http$1:')).href;
  const fields: Record<string, string | number | undefined> = {
    participant: who.participant, user: who.user, password: who.password, conference: who.conference, school: who.school,
    place: who.place, class: who.className ?? who.conference, schoolName: who.schoolName ?? who.school,
  };
  const base = origin.replace(/^ws(s?):/, 'http$1:');
  const filled = client.url.replace(/\{(\w+)\}/g, (all, name: string) => (name in fields ? encodeURIComponent(String(fields[name])) : all));
  const unknown = /\{(\w+)\}/.exec(filled);
  if (unknown) throw new WebClientError(`web client: url has {${unknown[1]}}, which is not a field of the participant; use {participant}, {user}, {password}, {conference}, {school}, {place}, {class} or {schoolName}`);
  return new URL(filled, base).href;
}

/** The sample steps of a web client, in order, with their layers: page, the client's own steps, join, first frame. */
export function webSteps(client: WebClientDefinition): { step: string; layer: Layer }[] {
  return [
    { step: 'browser_page', layer: client.pageLayer ?? 'admission' },
    ...Object.entries(client.steps ?? {}).map(([name, s]) => ({ step: `browser_${name}`, layer: s.layer })),
    { step: 'browser_join', layer: 'media' as const },
    ...(client.firstFrame === false ? [] : [{ step: 'browser_first_frame', layer: 'media' as const }]),
  ];
}
