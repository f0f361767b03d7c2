// Records of the run folder that the generating side writes and the analysis reads: faults, browser journeys, media.
import type { Fault } from '../scenarios/model.js';

/** One fault as it was planned and as it happened, in ms from the run start; recorded in run.json. */
export interface FaultRecord {
  kind: Fault['kind'];
  /** E.g. "errors 503 × 50 % on /api/". */
  label: string;
  startMs: number;
  endMs: number;
  via: 'target' | 'proxy';
  appliedMs?: number;
  clearedMs?: number;
}

/** One browser user's journey, as written to browsers.jsonl. */
export interface BrowserJourney {
  user: number;
  /** Journey number of this user, from 1. */
  n: number;
  /** ms from the run start. */
  startMs: number;
  endMs: number;
  /** left: stayed its time and left; dropped: lost the conference; failed: never got in; stopped: the run ended. */
  end: 'left' | 'dropped' | 'failed' | 'stopped';
  /** Where it failed and what the page said. */
  failedAt?: string;
  error?: string;
  /** Durations, ms; absent when the step was not reached. */
  pageMs?: number;
  /** The web client's own steps after the page (log in, click the class), in order, with their durations in ms. */
  steps?: { name: string; ms: number }[];
  /** When the click into the conference began (the start of the client's last step), ms from the run start. */
  clickAtMs?: number;
  /** Run folders written before web clients had steps of their own: the login and the broker's answer. */
  loginMs?: number;
  assignMs?: number;
  /** From the click to the page showing the pupil in the conference. */
  joinMs?: number;
  /** From the click to the first decoded video frame of another participant. */
  firstFrameMs?: number;
  /** The media paths in use: local and remote address:port of each selected ICE candidate pair. */
  pairs?: string[];
}

/** One browser user's media in one second, as written to media.csv. */
export interface MediaSecond {
  /** ms from the run start. */
  tMs: number;
  user: number;
  journey: number;
  state: string;
  /** Received video frames per second (mean over the incoming streams). */
  fps: number;
  framesDecoded: number;
  kbpsIn: number;
  kbpsOut: number;
  packetsLost: number;
  jitterMs: number;
  freezes: number;
}

export const MEDIA_HEADER = 't_ms,user,journey,state,fps,frames_decoded,kbps_in,kbps_out,packets_lost,jitter_ms,freezes';
export function mediaLine(m: MediaSecond): string {
  return [m.tMs.toFixed(0), m.user, m.journey, m.state, m.fps.toFixed(1), m.framesDecoded, m.kbpsIn.toFixed(0), m.kbpsOut.toFixed(0), m.packetsLost, m.jitterMs.toFixed(1), m.freezes].join(',');
}

/** One second of the browser's use of the machine, as written to browser-health.csv. */
export interface BrowserSecond {
  /** Second index from the run start. */
  t: number;
  /** Chromium processes alive (browser, renderers, helpers). */
  processes: number;
  /** CPU of all of them in this second, in % of one core. */
  cpuPct: number;
  /** Their memory together, MB: proportional set size (shared pages split among the processes sharing them). */
  rssMb: number;
  /** The whole machine's CPU in this second, in % of all its cores. */
  machineCpuPct: number;
}

export const BROWSER_HEALTH_HEADER = 'second,processes,cpu_pct,rss_mb,machine_cpu_pct';
export const browserHealthLine = (b: BrowserSecond) => [b.t, b.processes, b.cpuPct, b.rssMb, b.machineCpuPct].join(',');

