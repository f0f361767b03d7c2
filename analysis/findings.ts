// Findings that need no objective: the target going down and coming back, a limit on held connections, recovery.
import type { Series } from '../run-folder/series.js';
import { maxOf, minOf } from '../lib/numbers.js';

/** A target is down after this many seconds in a row in which attempts ended and none got an answer. */
export const DOWN_SECONDS = 2;
/** …with at least this many unanswered attempts among them. */
export const DOWN_ATTEMPTS = 5;
/** Recovery needs at least this many attempts after the break… */
export const RECOVERY_ATTEMPTS = 10;
/** …over at least this many seconds, every one of them meeting the objective. */
export const RECOVERY_SECONDS = 3;
/** A held count that moves by no more than this share, or HELD_FLAT_MIN participants, while new connects fail is a limit. */
export const HELD_FLAT_SHARE = 0.01;
export const HELD_FLAT_MIN = 3;

/** The target stopped answering at its address: when, how, and when it answered again. */
export interface TargetDown {
  /** Run time of the first unanswered attempt of the outage, ms. */
  atMs: number;
  /** Its run second. */
  second: number;
  /** What the attempts met, in the order it began, e.g. ["connection reset", "connection refused"]. */
  how: string[];
  /** Run second of the first answer after it; null when it did not come back before the run ended. */
  backSecond: number | null;
  /** Participants holding a connection just before it went down. */
  heldBefore: number;
  /**
   * What says so: `target` when the target's side said it (connections refused or reset, its watched process
   * exited), `clock` when only the generator's clock did (nothing came back in time).
   */
  evidence: 'target' | 'clock';
  /** The platform's watched signals that reached a limit of their own just before (--watch), in words. */
  signals?: string[];
}

/** Kinds of unanswered attempts that the target's side said itself, as opposed to nothing coming back in time. */
const SPOKEN = ['refused', 'reset', 'dns', 'tls'];

const KIND_WORDS: Record<string, string> = { refused: 'connection refused', reset: 'connection reset', timeout: 'no answer in time', dns: 'name not found', tls: 'TLS failure' };

/** Participants holding just before second `sec` ended: held at the end of the second before, and every hold begun in it. */
function heldBefore(series: Series, held: number[], sec: number): number {
  return (sec > 0 ? (held[sec - 1] ?? 0) : 0) + Object.values(series.clock.get(sec)?.held ?? {}).reduce((a, b) => a + b, 0);
}

/** The target's watched process exited at `atMs`: down from then, back at the first answer after it. */
export function processExited(series: Series, last: number, held: number[], atMs: number): TargetDown {
  const second = Math.max(0, Math.floor(atMs / 1000));
  let back: number | null = null;
  for (let sec = second + 1; sec <= last && back === null; sec++) if ((series.clock.get(sec)?.answered ?? 0) > 0) back = sec;
  return { atMs: Math.round(atMs), second, how: ['its process exited'], backSecond: back, heldBefore: heldBefore(series, held, second), evidence: 'target' };
}

/** The first outage of the target: DOWN_SECONDS seconds (by the clock) in which attempts ended and not one was answered. */
export function targetDown(series: Series, last: number, held: number[]): TargetDown | undefined {
  const dark = (sec: number) => {
    const e = series.clock.get(sec);
    const u = e ? Object.values(e.unanswered).reduce((a, b) => a + b, 0) : 0;
    return e && e.answered === 0 && u > 0 ? u : e && e.answered > 0 ? -1 : 0;
  };
  for (let sec = 0; sec <= last; sec++) {
    if (dark(sec) <= 0) continue;
    // A streak of dark seconds; seconds in which nothing ended neither break it nor count.
    let darkSeconds = 0;
    let unanswered = 0;
    let end = sec;
    for (; end <= last; end++) {
      const d = dark(end);
      if (d < 0) break;
      if (d > 0) darkSeconds++;
      unanswered += Math.max(0, d);
    }
    if (darkSeconds < DOWN_SECONDS || unanswered < DOWN_ATTEMPTS) {
      sec = end;
      continue;
    }
    // It went down in the second before the streak when that second's last attempts already went unanswered.
    const from = sec > 0 && Object.keys(series.clock.get(sec - 1)?.unanswered ?? {}).length ? sec - 1 : sec;
    // What the attempts met, in the order it began.
    const firstOf: Record<string, number> = {};
    let sentMs = Infinity;
    for (let s = from; s < end; s++) {
      const e = series.clock.get(s);
      for (const [k, ms] of Object.entries(e?.firstMs ?? {})) firstOf[k] = Math.min(firstOf[k] ?? ms, ms);
      if (e?.firstSentMs !== undefined) sentMs = Math.min(sentMs, e.firstSentMs);
    }
    const kinds = Object.keys(firstOf).sort((a, b) => firstOf[a]! - firstOf[b]!);
    const spoken = kinds.filter((k) => SPOKEN.includes(k));
    // The instant is the target's own first refusal or reset, not the timeouts that follow it; with only timeouts,
    // when the first request it never answered was sent (not before the last second it answered in).
    let lastAnswered = -1;
    for (let s = from - 1; s >= 0 && lastAnswered < 0; s--) if ((series.clock.get(s)?.answered ?? 0) > 0) lastAnswered = s;
    const atMs = spoken.length ? minOf(spoken.map((k) => firstOf[k]!)) : Math.max(Number.isFinite(sentMs) ? sentMs : firstOf.timeout!, lastAnswered * 1000);
    const second = Math.max(0, Math.floor(atMs / 1000));
    return {
      atMs: Math.round(atMs),
      second,
      how: kinds.map((k) => KIND_WORDS[k] ?? k),
      backSecond: end <= last ? end : null,
      heldBefore: heldBefore(series, held, second),
      evidence: spoken.length ? 'target' : 'clock',
    };
  }
  return undefined;
}

/** One second of a layer as recovery sees it: attempts that ended, and whether they met the objective. */
export interface SecondCheck {
  attempts: number;
  met: boolean;
}

/**
 * The first second from `from` at which a recovery begins: every second from it with attempts meets the objective
 * until at least RECOVERY_ATTEMPTS attempts over at least RECOVERY_SECONDS seconds have; null when none does
 * before `last`. Seconds in `skip` (the generator's own) break a recovery window.
 */
export function recoveryFrom(from: number, last: number, check: (sec: number) => SecondCheck, skip: ReadonlySet<number>): number | null {
  for (let r = from; r <= last; r++) {
    let attempts = 0;
    for (let sec = r; sec <= last; sec++) {
      const c = check(sec);
      if (skip.has(sec) || !c.met) break;
      attempts += c.attempts;
      if (attempts >= RECOVERY_ATTEMPTS && sec - r + 1 >= RECOVERY_SECONDS) return check(r).attempts > 0 ? r : firstWithAttempts(r, sec, check);
    }
  }
  return null;
}

function firstWithAttempts(from: number, to: number, check: (sec: number) => SecondCheck): number {
  for (let s = from; s <= to; s++) if (check(s).attempts > 0) return s;
  return from;
}

/** A limit on held connections: new connects fail while the count of held participants stays where it is. */
export interface ConnectionLimit {
  /** Participants holding when the layer refused new ones. */
  held: number;
  /** Run second from which it refused them. */
  second: number;
  /** Seconds over which the count stood still while connects failed. */
  forSec: number;
  /** The platform's watched signals that reached a limit of their own just before (--watch), in words. */
  signals?: string[];
}

/**
 * A limit on held connections, whatever the arrival pattern (a steady stream, or the bursts of a held-participant
 * ramp): the target refused new connects (its own answer: a status, a refusal, a reset, a close, never a timeout)
 * while the count of held participants stood still (moving by no more than HELD_FLAT_SHARE of it, or HELD_FLAT_MIN)
 * for at least `minSeconds`, with refusals in at least two seconds of that (or MIN_REFUSALS of them in one), at the
 * most the layer held in the whole run (a ceiling: a rate limit lets some through, so the count goes on growing).
 * `refused(sec)` is the target's refusals of new participants with their intended start in second `sec`.
 */
export function connectionLimit(held: readonly number[], refused: (sec: number) => number, last: number, minSeconds: number): ConnectionLimit | undefined {
  const peak = maxOf(held, 0);
  for (let a = 0; a <= last; a++) {
    const h0 = held[a] ?? 0;
    if (h0 <= 0 || refused(a) === 0) continue;
    const slack = Math.max(HELD_FLAT_MIN, HELD_FLAT_SHARE * h0);
    if (h0 < peak - slack) continue;
    let lo = h0;
    let hi = h0;
    let failing = 0;
    let refusals = 0;
    let sec = a;
    for (; sec <= last && sec < held.length; sec++) {
      lo = Math.min(lo, held[sec]!);
      hi = Math.max(hi, held[sec]!);
      if (hi - lo > slack) break;
      const r = refused(sec);
      if (r > 0) {
        failing++;
        refusals += r;
      }
    }
    if (sec - a >= minSeconds && (failing >= 2 || refusals >= MIN_REFUSALS)) return { held: hi, second: a, forSec: sec - a };
  }
  return undefined;
}

/** Refusals in a single second that make a connection limit on their own. */
const MIN_REFUSALS = 5;
