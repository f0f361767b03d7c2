// firstbell fixture: the reference platform on loopback, and the flags that shape it for demo and whatif.
import { Command, Option } from 'commander';
import { startJanusFarms } from '../fixtures/janus.js';
import { poolCapacityPerSec, poolFor, startReferencePlatform, type PlatformConfigPatch } from '../fixtures/reference-platform.js';
import { isLoopback } from '../lib/ports.js';
import { EXIT, parseNumber, UsageError, type Io, type SetAction } from './shared.js';

export type FixtureFlags = { loginCapacity?: number; joinCapacity?: number; mediaNodes?: number; upstreamTimeout?: number; media?: 'janus' | 'stand-in' };

export function fixtureArgs(o: FixtureFlags): string[] {
  return [
    ...(o.media !== undefined ? ['--media', o.media] : []),
    ...(o.loginCapacity !== undefined ? ['--login-capacity', String(o.loginCapacity)] : []),
    ...(o.joinCapacity !== undefined ? ['--join-capacity', String(o.joinCapacity)] : []),
    ...(o.mediaNodes !== undefined ? ['--media-nodes', String(o.mediaNodes)] : []),
    ...(o.upstreamTimeout !== undefined ? ['--upstream-timeout', String(o.upstreamTimeout)] : []),
  ];
}

function fixturePatch(o: FixtureFlags): PlatformConfigPatch {
  const patch: PlatformConfigPatch = {};
  if (o.loginCapacity !== undefined) patch.admission = poolFor(o.loginCapacity);
  if (o.joinCapacity !== undefined) patch.broker = poolFor(o.joinCapacity);
  if (o.mediaNodes !== undefined) patch.media = { nodes: o.mediaNodes };
  if (o.upstreamTimeout !== undefined) patch.gateway = { upstreamTimeoutMs: o.upstreamTimeout };
  return patch;
}

export function fixtureFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--login-capacity <perSec>', 'logins per second the admission layer serves').argParser(parseNumber('the login capacity', 1, 1e6)))
    .addOption(new Option('--join-capacity <perSec>', 'joins per second the broker assigns').argParser(parseNumber('the join capacity', 1, 1e6)))
    .addOption(new Option('--media-nodes <n>', 'media nodes the broker assigns to').argParser(parseNumber('the media node count', 1, 1000, true)))
    .addOption(new Option('--upstream-timeout <ms>', 'the gateway answers 504 after this long').argParser(parseNumber('the upstream timeout', 1, 600_000)))
    .addOption(new Option('--media <kind>', 'media layer of the reference platform: janus (two Janus farms, real WebRTC) or stand-in (a WebSocket echo, no Janus needed)').choices(['janus', 'stand-in']));
}

/** fixture: starts the reference platform and prints its URL until Ctrl-C. */
export function addFixtureCommand(program: Command, io: Io, setAction: SetAction): void {
  fixtureFlags(
    program
      .command('fixture')
      .description('start the reference platform on loopback and print its URL; Ctrl-C stops it')
      .addOption(new Option('--port <port>', 'port to listen on (0 = any free one)').argParser(parseNumber('the port', 0, 65535, true)).default(8080))
      .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
      .option('--quiet', 'print only the URL'),
  ).action((o: FixtureFlags & { port: number; host: string; quiet?: boolean }) =>
    setAction(async () => {
      if (!isLoopback(o.host)) throw new UsageError(`--host ${o.host}: the reference platform listens on loopback only; use an address in 127.0.0.0/8`);
      if (o.media === 'janus' && o.mediaNodes !== undefined) throw new UsageError('--media-nodes: with --media janus there is one media node per Janus farm (2); leave --media-nodes out');
      const farms = o.media === 'janus' ? await startJanusFarms(2) : [];
      const platform = await startReferencePlatform({ port: o.port, host: o.host, config: fixturePatch(o), janus: farms }).catch(async (e: unknown) => {
        await Promise.all(farms.map((f) => f.stop()));
        throw e;
      });
      io.stdout.write(`${platform.url}\n`);
      if (!o.quiet) {
        const c = platform.config();
        const media = farms.length ? `media: ${farms.length} Janus farms (${farms.map((f) => f.wsUrl).join(', ')})` : `${c.media.nodes} stand-in media nodes`;
        io.stderr.write(
          `reference platform: logins ${Math.round(poolCapacityPerSec(c.admission))}/s, joins ${Math.round(poolCapacityPerSec(c.broker))}/s, ${media}\n` +
            `control: GET/PUT ${platform.url}/_control (JSON), counters at ${platform.url}/_control/stats; Ctrl-C stops\n`,
        );
      }
      await new Promise<void>((res) => {
        if (io.signal?.aborted) return res();
        io.signal?.addEventListener('abort', () => res(), { once: true });
      });
      await platform.close();
      await Promise.all(farms.map((f) => f.stop()));
      return EXIT.ok;
    }),
  );
}
