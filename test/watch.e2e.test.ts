// The platform's own signals (--watch) against servers with a known limit: a Janus that runs out of open files, an
// nginx with a connection limit; and sources that fail, which are named and never stop the load.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { startJanusFarms } from '../fixtures/janus.js';
import { captureIo, tempDir } from './helpers.js';
import { startNginx } from './servers/nginx.js';
import { startNginxExporter, startNodeExporter, startPrometheus } from './servers/prometheus.js';
import { startHoldServer } from './servers/truth.js';
import { spawnReferencePlatform } from '../fixtures/spawn.js';

const JOURNEYS = new URL('./journeys/', import.meta.url).pathname;

type Phase = { name: string; startMs: number; durationMs: number; participants: number; curve: { kind: 'uniform' } };
const steady = (perSec: number, forMs: number): Phase[] => [{ name: 'steady', startMs: 0, durationMs: forMs, participants: Math.round((perSec * forMs) / 1000), curve: { kind: 'uniform' } }];

/** Runs a scenario file with `args`; its exit code, stderr, summary and run folder. */
async function run(scenario: Record<string, unknown>, target: string, args: string[]) {
  const dir = tempDir('firstbell-watch-');
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify({ name: 'watched', description: 'a known limit, watched', observeMs: 3_000, ...scenario }));
  const out = tempDir();
  const d = captureIo();
  const code = await main(['run', file, '--target', target, '--scale', '1', '--out', out, '--no-progress', '--json', ...args], d.io);
  const folder = readdirSync(out)[0] ? join(out, readdirSync(out)[0]!) : '';
  if (code !== EXIT.usage && !d.out()) throw new Error(`exit ${code}: ${d.err()}`);
  return { code, err: d.err(), summary: code === EXIT.usage ? undefined : (JSON.parse(d.out()) as Record<string, any>), folder };
}

/** watch.csv's seconds and one column's values. */
function watchCsv(folder: string, column: string): { seconds: number[]; values: (number | null)[] } {
  const [header, ...rows] = readFileSync(join(folder, 'watch.csv'), 'utf8').trim().split('\n');
  const k = header!.split(',').indexOf(column);
  expect(k, header).toBeGreaterThan(0);
  const cells = rows.map((r) => r.split(','));
  return { seconds: cells.map((c) => Number(c[0])), values: cells.map((c) => (c[k] === '' ? null : Number(c[k]))) };
}

const layer = (s: Record<string, any>, name: string) => (s.layers as Record<string, any>[]).find((l) => l.layer === name)!;

describe('a Janus that runs out of open files, watched by its pid', () => {
  it("names its open files at their limit in the finding, whether it died of them or stopped answering, and watch.csv has one row a second", async () => {
    // 200 participants hold a connection each, beyond the limit with Janus' own files at its start.
    const LIMIT = 256;
    const [janus] = await startJanusFarms(1, { openFiles: LIMIT });
    try {
      const pid = janus!.pid()!;
      const r = await run({ phases: steady(25, 8_000), client: { heartbeatMs: 1_000 }, observeMs: 2_000, watch: { sources: ['process:janus'] } }, janus!.wsUrl, ['--target-kind', 'janus', '--watch', `pid:${pid}`, '--target-pid', String(pid)]);
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      // At its limit Janus either dies (a file it needs for a new session cannot be opened) or accepts no more
      // connections and leaves them waiting: the finding that it went down, or the break with attempts unanswered.
      const down = r.summary!.targetDown;
      const broke = layer(r.summary!, 'media').breakPoint;
      const finding = down ?? broke;
      expect(finding, r.summary!.headline).toBeTruthy();
      if (!down) expect(r.summary!.headline).toMatch(/; \d+ of its attempts had no answer when the run ended, after waiting longer than the objective's p95 of 1,000 ms; not recovered by the end of the run\.$/);
      // Watched by its name too (the scenario file's own watch): the same finding, under its name.
      const fdSignals = (finding.signals as string[]).filter((x) => x.includes('open files'));
      expect(fdSignals, r.summary!.headline).toEqual([expect.stringMatching(new RegExp(`^janus's open files had reached \\d+ of its limit of ${LIMIT}$`)), expect.stringMatching(new RegExp(`^process ${pid}'s open files had reached \\d+ of its limit of ${LIMIT}$`))]);
      const reached = Number(/reached (\d+)/.exec(fdSignals[1]!)![1]);
      console.info(`measured: Janus's open files ${down ? 'at its death' : 'when it stopped answering'} ${reached} against its limit ${LIMIT}`);
      // Read ten times a second: the last look before, within the share of its limit the finding takes for "at it".
      expect(reached).toBeGreaterThanOrEqual(0.95 * LIMIT);
      expect(r.summary!.headline).toContain(`process ${pid}'s open files had reached`);
      const fds = watchCsv(r.folder, `pid${pid}.fds`);
      // By name, the same process: its open files as the pid's, but for what opened between the two reads.
      watchCsv(r.folder, 'janus.fds').values.slice(0, 3).forEach((v, k) => expect(Math.abs(v! - fds.values[k]!)).toBeLessThanOrEqual(5));
      // One row a second, every second from the start, none twice.
      expect(fds.seconds).toEqual(fds.seconds.map((_, i) => i));
      const info = JSON.parse(readFileSync(join(r.folder, 'run.json'), 'utf8')) as { plannedEndMs: number; watch: { failures?: { message: string }[] }[] };
      expect(fds.seconds.length).toBeGreaterThanOrEqual(Math.floor(info.plannedEndMs / 1000) - 1);
      if (down) {
        // Its death is a failure of the watch too, named with the second it began.
        expect(info.watch[1]!.failures?.[0]?.message).toBe(`process ${pid} is not running (it exited)`);
        expect(info.watch[0]!.failures?.[0]?.message).toBe('no process named janus is running');
      } else expect(info.watch.every((w) => !w.failures?.length)).toBe(true);
    } finally {
      await janus?.stop();
    }
  }, 120_000);
});

describe('nginx with a connection limit, watched by its stub_status and through a real Prometheus', () => {
  it("cites nginx's active connections at the limit in the connection-limit finding, read either way", async () => {
    const app = await startHoldServer();
    const nginx = await startNginx(app.url, { wsConns: 100 });
    const exporter = await startNginxExporter(`${nginx.url}/nginx_status`);
    const machine = await startNodeExporter();
    const prometheus = await startPrometheus([exporter.hostPort, machine.hostPort]);
    try {
      // A team's Prometheus has scraped nginx for a while before a run: here, until it has the series.
      for (let k = 0; k < 100; k++) {
        const j = (await (await fetch(`${prometheus.url}/api/v1/query?query=nginx_connections_active`)).json()) as { data: { result: unknown[] } };
        if (j.data.result.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // The exporter's own scrape is one of nginx's active connections while it reads: left out by the query.
      const r = await run({ journey: join(JOURNEYS, 'hold.ts'), phases: steady(30, 7_000), client: { heartbeatMs: 1_000 } }, nginx.url, [
        '--watch', `nginx:${nginx.url}/nginx_status`,
        '--watch', `prometheus:${prometheus.url}`, '--watch-query', 'nginx_active=nginx_connections_active - 1', '--watch-query', 'broken=sum((nginx_connections_active',
        '--watch', `nginx:${prometheus.url}/nginx_status`, '--watch-query', 'machine_cpu=sum(rate(node_cpu_seconds_total{mode!="idle"}[5s])) * 100',
      ]);
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const media = layer(r.summary!, 'media');
      expect(media.connectionLimit, JSON.stringify(media)).not.toBeNull();
      const cited = (media.connectionLimit.signals ?? []) as string[];
      for (const [how, re] of [['stub_status', /^nginx's active connections stood at (\d+)$/], ['Prometheus', /^nginx_active stood at (\d+)$/]] as const) {
        const stood = cited.map((c) => re.exec(c)).find(Boolean);
        expect(stood, `${how}: ${JSON.stringify(cited)}`).toBeTruthy();
        console.info(`measured: nginx's active connections at the limit through ${how} ${stood![1]} against limit_conn 100`);
        expect(Math.abs(Number(stood![1]) - 100)).toBeLessThanOrEqual(3);
      }
      expect(r.summary!.headline).toContain('refuses new connections beyond');
      expect(r.summary!.headline).toContain("— nginx's active connections stood at");
      // A source that answers 404 and a query Prometheus refuses are named; the others are read all the same.
      expect(r.err).toContain(`watch nginx:${prometheus.url}/nginx_status: nginx's stub_status at ${prometheus.url}/nginx_status answered 404`);
      expect(r.err).toMatch(/watch prometheus:http:\/\/127\.0\.0\.1:\d+\/: Prometheus refused the query broken \(sum\(\(nginx_connections_active\): .+; the load goes on/);
      expect(watchCsv(r.folder, 'nginx_active').values.filter((v) => v !== null).length).toBeGreaterThan(5);
      // The machine's own CPU through prometheus-node-exporter: a column of its own, read every second.
      expect(watchCsv(r.folder, 'machine_cpu').values.filter((v) => v !== null && v > 0).length).toBeGreaterThan(5);
      const report = readFileSync(join(r.folder, 'report.html'), 'utf8');
      expect(report).toContain('chart-watch-2');
      expect(report).toContain("The platform's own signals");
    } finally {
      await prometheus.stop();
      await machine.stop();
      await exporter.stop();
      await nginx.stop();
      await app.close();
    }
  }, 120_000);
});

describe('a server that spends a core on each request, watched by its pid', () => {
  it('cites its CPU at one core in the capacity it held', async () => {
    // About 8 ms of CPU per request in one thread: a capacity near 125/s at one core's worth.
    const code = `const s = require('node:http').createServer((q, r) => { const end = process.hrtime.bigint() + 8000000n; while (process.hrtime.bigint() < end); r.end('{}'); });
      s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(String(d).trim())));
      const r = await run({ journey: join(JOURNEYS, 'join.ts'), phases: [{ name: 'ramp', startMs: 0, durationMs: 14_000, participants: 1750, curve: { kind: 'ramp', fromRate: 0, toRate: 1 } }], client: { thinkTimeMs: 0, stepTimeoutMs: 20_000 }, observeMs: 6_000 }, url, ['--watch', `pid:${child.pid}`]);
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const broker = layer(r.summary!, 'broker');
      expect(broker.capacity, JSON.stringify(broker)).toMatchObject({ limitedBy: 'target' });
      const cpu = ((broker.capacity.signals ?? []) as string[]).map((c) => new RegExp(`^process ${child.pid}'s CPU stood at (\\d+) %, one core's worth$`).exec(c)).find(Boolean);
      expect(cpu, JSON.stringify(broker.capacity)).toBeTruthy();
      console.info(`measured: the server's CPU at its capacity ${cpu![1]} % (one core), capacity ${broker.capacity.perSec}/s`);
    } finally {
      child.kill();
    }
  }, 90_000);
});

describe('watch sources that fail', () => {
  it('are named in the terminal and the report, and never stop the load; a Prometheus that refuses the write gets a warning, and the files are complete', async () => {
    const app = await startHoldServer();
    const prometheus = await startPrometheus([]);
    // A process that exits two seconds in, and an address where nothing answers.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => process.exit(0), 2500)'], { stdio: 'ignore' });
    try {
      const r = await run({ journey: join(JOURNEYS, 'hold.ts'), phases: steady(20, 5_000), client: { heartbeatMs: 1_000 } }, app.url, [
        '--watch', `pid:${child.pid}`, '--watch', 'nginx:http://127.0.0.1:9/nginx_status', '--watch', `nginx:${app.url}/no-status`,
        '--prometheus-remote-write', `${prometheus.url}/api/v1/nowhere`,
      ]);
      // The run went to its end and judged what it sent, whatever the watch met.
      expect(r.code, r.err).toBe(EXIT.ok);
      expect(r.summary!.users.arrived).toBe(100);
      expect(r.err).toContain('watch nginx:http://127.0.0.1:9/nginx_status: nginx\'s stub_status at http://127.0.0.1:9/nginx_status: connection refused; the load goes on');
      expect(r.err).toContain(`watch pid:${child.pid}: process ${child.pid} is not running (it exited); the load goes on`);
      expect(r.err).toMatch(/watch nginx:http:\/\/127\.0\.0\.1:\d+\/no-status: http:\/\/127\.0\.0\.1:\d+\/no-status is not an nginx stub_status page \(no "Active connections:"\); point it at a location with stub_status on; the load goes on/);
      const failures = r.summary!.watch.failures as string[];
      expect(failures).toHaveLength(3);
      expect(readFileSync(join(r.folder, 'report.html'), 'utf8')).toContain('id="watch-failures"');
      expect(r.err).toContain(`prometheus remote write to ${prometheus.url}/api/v1/nowhere: ${prometheus.url}/api/v1/nowhere answered 404`);
      expect(r.err).toContain('the run goes on, its own files are complete');
      for (const f of ['run.json', 'samples.csv', 'health.csv', 'series.json', 'summary.json', 'report.html', 'watch.csv']) expect(readdirSync(r.folder)).toContain(f);
      expect(JSON.parse(readFileSync(join(r.folder, 'run.json'), 'utf8')).status).toBe('completed');
    } finally {
      child.kill();
      await prometheus.stop();
      await app.close();
    }
  }, 60_000);

  it('that cannot be watched at all are refused before anything is sent', async () => {
    const cases: [string[], string][] = [
      [['--watch', 'carrier-pigeon:1'], "error: --watch carrier-pigeon:1: unknown source; give pid:<pid>, process:<name>, nginx:<stub_status url> or prometheus:<base url> (with --watch-query 'name=promql')"],
      [['--watch', 'pid:2147483646'], 'no process 2147483646 is running on this machine'],
      [['--watch', 'nginx:http://10.20.30.40/nginx_status'], '10.20.30.40 is not an allowed address: the watch reads only loopback, the target and --allow-target hosts'],
      [['--watch-query', 'x=up'], 'error: --watch-query needs a Prometheus to ask: add --watch prometheus:<base url>'],
    ];
    for (const [args, message] of cases) {
      const r = await run({ phases: steady(1, 1_000) }, 'http://127.0.0.1:9', args);
      expect(r.code, r.err).toBe(EXIT.usage);
      expect(r.err).toContain(message);
      expect(r.folder).toBe('');
    }
  });
});

describe("firstbell's figures written to a real Prometheus (--prometheus-remote-write)", () => {
  it('holds, for a run in 2 worker processes, the completed attempts per layer that samples.csv holds; the Grafana example reads them', async () => {
    const platform = await spawnReferencePlatform(['--join-capacity', '40']);
    const prometheus = await startPrometheus([]);
    try {
      const ramp = { name: 'written', description: 'a ramp past the broker', phases: [{ name: 'ramp', startMs: 0, durationMs: 10_000, participants: 500, curve: { kind: 'ramp', fromRate: 0, toRate: 1 } }], observeMs: 3_000 };
      const r = await run(ramp, platform.url, ['--workers', '2', '--prometheus-remote-write', `${prometheus.url}/api/v1/write`]);
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      expect(r.err).not.toContain('prometheus remote write');
      const id = r.folder.split('/').pop()!;
      expect(JSON.parse(readFileSync(join(r.folder, 'run.json'), 'utf8')).generator.workers).toBe(2);
      // The run's own count, from its samples: attempts that ended ok, per layer (held connections' events apart).
      const own = new Map<string, number>();
      for (const line of readFileSync(join(r.folder, 'samples.csv'), 'utf8').trim().split('\n').slice(1)) {
        const f = line.split(',');
        if (f[6] === 'ok') own.set(f[4]!, (own.get(f[4]!) ?? 0) + 1);
      }
      const q = async (expr: string) => {
        const j = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        expect(j.status, `${expr}: ${j.error}`).toBe('success');
        return j.data.result;
      };
      const written = await q(`sum by (layer) (max_over_time(firstbell_completed_total{run="${id}"}[10m]))`);
      expect(written.map((x) => x.metric.layer).sort()).toEqual([...own.keys()].sort());
      for (const x of written) {
        const mine = own.get(x.metric.layer!)!;
        console.info(`measured: ${x.metric.layer} completed attempts in Prometheus ${x.value[1]} against samples.csv ${mine}`);
        expect(Math.abs(Number(x.value[1]) - mine)).toBeLessThanOrEqual(mine * 0.005);
      }
      // Every query of the example dashboard runs on what was written.
      const dashboard = JSON.parse(readFileSync(new URL('../examples/grafana/firstbell-dashboard.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      for (const p of dashboard.panels) {
        for (const t of p.targets) {
          const result = await q(t.expr.replace(/\$run/g, id).replace(/\$__rate_interval/g, '1m'));
          expect(result.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        }
      }
    } finally {
      await prometheus.stop();
      await platform.stop();
    }
  }, 120_000);
});
