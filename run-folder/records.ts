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
  loginMs?: number;
  /** From the click on the conference to the broker's answer. */
  assignMs?: number;
  /** From the click to media flowing out (the user is in). */
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
