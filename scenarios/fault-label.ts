// How a scheduled fault reads in the plan, the report and the run folder.
import type { Fault } from './model.js';

/** E.g. "errors 503 × 50 % on /api/". */
export function describeFault(f: Fault): string {
  const where = f.pathPrefix ? ` on ${f.pathPrefix}` : '';
  switch (f.kind) {
    case 'latency': return `latency +${f.addMs} ms${where}`;
    case 'errors': return `errors ${f.status} × ${Math.round(f.ratio * 100)} %${where}`;
    case 'reset': return `resets × ${Math.round(f.ratio * 100)} %${where}`;
    case 'blackhole': return `blackhole${where}`;
    case 'bandwidth': return `bandwidth ${f.bytesPerSec} B/s${where}`;
    case 'farm-down': return `farm ${f.farm} down`;
    case 'broker-defect': return `broker defect past ${f.threshold} joins/s`;
    case 'slow-login': return `slow logins +${f.addMs} ms`;
  }
}
