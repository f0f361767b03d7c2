// Prometheus 2.42 and prometheus-nginx-exporter from Debian, each on a free loopback port with a fresh data folder:
// a team's monitoring as the tests need it (scraped every second; with the remote-write receiver on).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx.js';

export interface Started {
  url: string;
  stop(): Promise<void>;
}

/** Waits until `url` answers 200, or the process ends, at most 20 s. */
async function ready(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let k = 0; ; k++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (k > 200 || child.exitCode !== null) throw new Error(`${url} did not come up: ${log().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Prometheus scraping `targets` (host:port each, job "target") every second, its remote-write receiver on. */
export async function startPrometheus(targets: string[]): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-prometheus-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: target
    static_configs:
      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]
`);
  const logPath = join(dir, 'prometheus.log');
  const out = openSync(logPath, 'a');
  const child = spawn('/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver', '--log.level=warn',
  ], { stdio: ['ignore', out, out], cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await ready(`${url}/-/ready`, child, () => readFileSync(logPath, 'utf8'));
  return { url, stop: stopper(child, dir) };
}

/** prometheus-nginx-exporter reading nginx's stub_status at `statusUrl`; its metrics at `url`/metrics. */
export async function startNginxExporter(statusUrl: string): Promise<Started & { hostPort: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-nginx-exporter-'));
  const port = await freePort();
  const child = spawn('/usr/bin/prometheus-nginx-exporter', ['-nginx.scrape-uri', statusUrl, '-web.listen-address', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await ready(`${url}/metrics`, child, () => '');
  return { url, hostPort: `127.0.0.1:${port}`, stop: stopper(child, dir) };
}

/** prometheus-node-exporter: the machine's CPU, memory and network as Prometheus reads them; its metrics at `url`/metrics. */
export async function startNodeExporter(): Promise<Started & { hostPort: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-node-exporter-'));
  const port = await freePort();
  const child = spawn('/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.cpu', '--collector.meminfo', '--collector.loadavg'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await ready(`${url}/metrics`, child, () => '');
  return { url, hostPort: `127.0.0.1:${port}`, stop: stopper(child, dir) };
}
