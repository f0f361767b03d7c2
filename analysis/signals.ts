// Why it broke, from the platform's own signals (--watch): a finding cites a watched signal only where that signal
// reached a limit of its own within two seconds before the moment found (open files at their limit, CPU at
// saturation, a count that stopped climbing and stood flat), never for merely being there.
import type { RunInfo, WatchData, WatchedSource } from '../run-folder/run-folder.js';
import { maxOf } from '../lib/numbers.js';

/** A finding's moment and the seconds before it in which a signal must have reached its limit. */
export const SIGNAL_WINDOW_SEC = 2;
/** Open files at this share of their limit or more are at it: between two reads a second apart the last few go. */
const FDS_FULL = 0.95;
/** CPU at this share of all cores, or flat at one core's worth, is saturation. */
const SATURATED = 0.9;

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** One watched signal: its source and values by second. */
interface Signal {
  source: WatchedSource;
  signal: string;
  values: (number | null)[];
}

/** The watched signals of a run, each with its source, by column. */
export function signalsOf(run: Pick<RunInfo, 'watch'>, watch: WatchData | undefined): Map<string, Signal> {
  const out = new Map<string, Signal>();
  if (!watch || !run.watch) return out;
  for (const source of run.watch) {
    for (const column of source.columns) {
      const k = watch.columns.indexOf(column);
      if (k < 0) continue;
      const signal = source.kind === 'prometheus' ? column : column.slice(source.name.length + 1);
      out.set(column, { source, signal, values: watch.values[k]! });
    }
  }
  return out;
}

/** The values of seconds `from` to `to`, those read. */
function window(values: (number | null)[], from: number, to: number): { sec: number; v: number }[] {
  const out: { sec: number; v: number }[] = [];
  for (let sec = Math.max(0, from); sec <= to; sec++) {
    const v = values[sec];
    if (v !== null && v !== undefined) out.push({ sec, v });
  }
  return out;
}

/** How a source is named in a finding: "janus", "nginx", "process 1234", or a Prometheus query's name. */
const who = (s: WatchedSource) => (s.kind === 'pid' ? `process ${s.name.slice(3)}` : s.name);

/**
 * A count that climbed and then stood flat at its highest: a ceiling it reached in the window (from `from` to `to`)
 * and stood at for SIGNAL_WINDOW_SEC seconds or more from there (or until it was read no more).
 */
function plateau(values: (number | null)[], from: number, to: number): number | undefined {
  for (let start = Math.max(0, from); start <= to; start++) {
    const v = values[start];
    if (v === null || v === undefined || v <= 0) continue;
    const after = window(values, start, start + SIGNAL_WINDOW_SEC).map((x) => x.v);
    if (after.length < 2 || after.some((x) => Math.abs(x - v) > Math.max(3, v * 0.03))) continue;
    const before = window(values, 0, start - 1).map((x) => x.v);
    // Its highest of the run so far, and reached by climbing: a count flat all along is no ceiling.
    if (before.some((x) => x > v * 1.03) || !before.some((x) => x < v * 0.9)) continue;
    return maxOf(after);
  }
  return undefined;
}

/**
 * What the watched signals say of a finding at run second `second`: each signal that reached a limit of its own in
 * the SIGNAL_WINDOW_SEC seconds before it (and in it), in words. `cores`: the machine's, for CPU.
 */
export function signalsAt(signals: Map<string, Signal>, second: number, cores: number): string[] {
  const from = second - SIGNAL_WINDOW_SEC;
  const said: string[] = [];
  const byName = new Map<string, Map<string, Signal>>();
  for (const s of signals.values()) {
    const m = byName.get(s.source.name) ?? new Map<string, Signal>();
    m.set(s.signal, s);
    byName.set(s.source.name, m);
  }
  for (const m of byName.values()) {
    const any = [...m.values()][0]!;
    const source = any.source;
    if (source.kind === 'pid' || source.kind === 'process') {
      const fds = m.get('fds');
      const limit = m.get('fd_limit');
      if (fds && limit) {
        const full = window(fds.values, from, second).map(({ sec, v }) => ({ v, lim: limit.values[sec] ?? 0 })).filter((x) => x.lim > 0 && x.v >= x.lim * FDS_FULL);
        if (full.length) {
          const top = full.reduce((a, b) => (b.v > a.v ? b : a));
          said.push(`${who(source)}'s open files had reached ${n(top.v)} of its limit of ${n(top.lim)}`);
        }
      }
      const cpu = m.get('cpu_pct');
      if (cpu) {
        const w = window(cpu.values, from, second);
        const top = maxOf(w.map((x) => x.v), 0);
        if (top >= SATURATED * 100 * cores) said.push(`${who(source)}'s CPU was at ${n(top)} % of ${cores} cores`);
        else if (w.length >= 2 && w.every((x) => x.v >= SATURATED * 100 && x.v <= 110)) said.push(`${who(source)}'s CPU stood at ${n(top)} %, one core's worth`);
      }
      const est = m.get('tcp_established');
      const flat = est ? plateau(est.values, from, second) : undefined;
      if (flat !== undefined) said.push(`${who(source)}'s established connections stood at ${n(flat)}`);
    } else if (source.kind === 'nginx') {
      const active = m.get('active');
      const flat = active ? plateau(active.values, from, second) : undefined;
      if (flat !== undefined) said.push(`nginx's active connections stood at ${n(flat)}`);
    } else {
      // A Prometheus answers with its last scrape, up to a scrape interval (a second or more) old: what it read at
      // the moment can show in the next second.
      for (const s of m.values()) {
        const flat = plateau(s.values, from, second + 1);
        if (flat !== undefined) said.push(`${s.signal} stood at ${n(flat)}`);
      }
    }
  }
  return said;
}

/** What reading the watched sources said when they failed, for the report and the terminal: "nginx (nginx:http://…): connection refused from 08:00:12". */
export function watchFailures(run: Pick<RunInfo, 'watch'>, clock: (sec: number) => string): string[] {
  return (run.watch ?? []).flatMap((w) => (w.failures ?? []).map((f) => `${w.source}: ${f.message} (from ${clock(f.second)})`));
}
