// The live page's own process, started by a run with --live: the page's reading, judging and serving never take the
// CPU or the event loop of the process that sends the load. Told over IPC which run folder to follow and when its
// report is written; ends with its parent.
import { LiveServer } from './live.js';
import type { FromLive, ToLive } from './live-child.js';

const send = (m: FromLive) => process.send!(m);

async function main(): Promise<void> {
  const [host, port] = [process.argv[2], Number(process.argv[3])];
  let server: LiveServer;
  try {
    server = await LiveServer.listen({ host, port });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    process.disconnect();
    return;
  }
  send({ type: 'listening', url: server.url });
  process.on('message', (m: ToLive) => {
    if (m.type === 'follow') server.follow(m.dir);
    else if (m.type === 'final') server.final(m.reportPath);
    else if (m.type === 'cost') {
      const cpu = process.cpuUsage();
      send({ type: 'cost', ...server.cost, pages: server.pages, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
  });
  // The parent gone, the page goes too.
  process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
}

void main();
