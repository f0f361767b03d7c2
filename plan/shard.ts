// One of N shards of a schedule: every N-th arrival, sent from a wall-clock instant that every shard shares.
/** Every `count`-th arrival from `index` on (counted from 0): the part of a schedule one sending process takes. */
export interface Share {
  index: number;
  count: number;
}

/** `firstbell run … --shard i/N --start-at T`: shard i (1 to N) of the one schedule, from the instant T. */
export interface Shard {
  /** 1 to count. */
  index: number;
  count: number;
  /** The wall-clock instant of t = 0, ms since the epoch: every shard counts its times from it. */
  startAtEpochMs: number;
}

/** "2/4" as a shard index and count; a message naming the fix otherwise. */
export function parseShard(text: string): { index: number; count: number } | string {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return `--shard '${text}' is not i/N; give this shard's number and the number of shards, e.g. --shard 1/4 … --shard 4/4`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 10_000) return `--shard '${text}': the number of shards must be from 1 to 10000`;
  if (index < 1 || index > count) return `--shard '${text}': the shard's number must be from 1 to ${count} (shards count from 1)`;
  return { index, count };
}

/**
 * "2026-12-02T08:00:00Z" as ms since the epoch. The instant must name its zone (Z or ±hh:mm), since shards on
 * machines in different zones must agree on it.
 */
export function parseStartAt(text: string): number | string {
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim());
  const ms = Date.parse(text.trim());
  if (!zoned || !Number.isFinite(ms)) return `--start-at '${text}' is not an ISO 8601 instant with its zone; give e.g. --start-at ${new Date(Math.ceil(Date.now() / 60_000 + 2) * 60_000).toISOString().replace('.000', '')}`;
  return ms;
}

/**
 * The arrivals one sending process takes: with a shard, worker w of W sends every (N·W)-th arrival from
 * (i − 1) + N·w, so the shards' workers together send the shard's arrivals once each.
 */
export function shareOf(shard: Pick<Shard, 'index' | 'count'> | undefined, worker: number, workers: number): Share {
  const base = shard ? shard.index - 1 : 0;
  const stride = shard ? shard.count : 1;
  return { index: base + stride * worker, count: stride * workers };
}

/** How many of `n` arrivals a share holds. */
export function shareSize(n: number, share: Share): number {
  return n > share.index ? Math.ceil((n - share.index) / share.count) : 0;
}
