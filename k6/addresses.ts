// k6's own refusal of addresses for a run's allow-list: blacklistIPs, every address but loopback and the allowed ones.
import { isIP } from 'node:net';

/**
 * k6's blacklistIPs for an allow-list: every address but loopback and the allowed ones, as CIDR ranges, so that k6
 * itself refuses any other address whoever names it. Undefined when a host is a name: its address is the one k6
 * finds where it runs, which the export cannot know.
 */
export function everyAddressBut(hosts: readonly string[]): string[] | undefined {
  const v4: Prefix[] = [{ net: 127n << 24n, len: 8 }];
  const v6: Prefix[] = [{ net: 1n, len: 128 }];
  for (const h of hosts) {
    if (h === 'localhost') continue;
    if (isIP(h) === 4) v4.push({ net: v4Number(h), len: 32 });
    else if (isIP(h) === 6) v6.push({ net: v6Number(h), len: 128 });
    else return undefined;
  }
  return [...outside(32, v4).map((p) => `${v4Text(p.net)}/${p.len}`), ...outside(128, v6).map((p) => `${v6Text(p.net)}/${p.len}`)];
}

interface Prefix {
  net: bigint;
  len: number;
}

/** The prefixes that cover every address of `bits` bits outside `kept`: the range split in halves until each half is wholly in or out. */
function outside(bits: number, kept: readonly Prefix[], at: Prefix = { net: 0n, len: 0 }): Prefix[] {
  const top = (net: bigint, len: number) => net >> BigInt(bits - len);
  if (kept.some((k) => k.len <= at.len && top(at.net, k.len) === top(k.net, k.len))) return [];
  const inside = kept.filter((k) => k.len > at.len && top(k.net, at.len) === top(at.net, at.len));
  if (!inside.length) return [at];
  const half = 1n << BigInt(bits - at.len - 1);
  return [...outside(bits, inside, { net: at.net, len: at.len + 1 }), ...outside(bits, inside, { net: at.net | half, len: at.len + 1 })];
}

const v4Number = (ip: string) => ip.split('.').reduce((n, x) => (n << 8n) | BigInt(Number(x)), 0n);
const v4Text = (n: bigint) => [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');

/** An IPv6 address as a number: "::" filled in, a trailing IPv4 part as its two groups. */
function v6Number(ip: string): bigint {
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  const v4 = dotted ? v4Number(dotted[2]!) : 0n;
  const text = dotted ? `${dotted[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}` : ip;
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (x: string | undefined) => (x ? x.split(':') : []);
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
const v6Text = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
