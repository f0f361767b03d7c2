// Small outputs of the result model: summary.json, the terminal verdict and junit.xml.
import type { Analysis } from '../analysis/analysis.js';
import { citedText, layerStateWords, thresholdText } from '../analysis/headline.js';

/** summary.json: the verdict and the figures a pipeline reads. */
export function summaryJson(a: Analysis): object {
  return {
    scenario: a.run.scenario.name,
    scale: a.run.scenario.scale,
    seed: a.run.seed,
    target: a.run.target,
    status: a.run.status,
    verdict: a.verdict,
    passed: a.passed,
    headline: a.headline,
    users: a.users,
    targetDown: a.targetDown ?? null,
    silence: a.silence ?? null,
    bells: a.bells ?? null,
    layers: a.layers.map((l) => ({
      layer: l.layer, state: l.state, met: l.met, judged: l.judged, objective: l.objective, unit: l.unit, attempts: l.attempts, failed: l.failed,
      failedShare: l.failedShare, timeoutsWhileGeneratorBound: l.timeoutsWhileGeneratorBound, failedWhileGeneratorBound: l.failedWhileGeneratorBound,
      peakOfferedPerSec: l.peakOfferedPerSec, peakGoodputPerSec: l.peakGoodputPerSec, peakHeld: l.peakHeld, unanswered: l.unanswered,
      capacity: l.capacity ?? null, knee: l.knee ?? null, breakPoint: l.breakPoint ?? null, connectionLimit: l.connectionLimit ?? null,
    })),
    steps: a.steps,
    k6Thresholds: a.k6Thresholds ?? null,
    scriptErrors: a.scriptErrors,
    notAllowed: a.notAllowed,
    faults: a.faults,
    generator: a.generator,
    shards: a.run.shards ?? null,
    watch: a.watch ? { sources: a.watch.sources, failures: a.watch.failures } : null,
    browsers: a.browsers ? (({ journeys: _j, media: _m, resources, ...rest }) => ({ ...rest, resources: resources ? (({ seconds: _s, ...r }) => r)(resources) : null }))(a.browsers) : null,
  };
}

/** The verdict in a few lines for the terminal. */
export function terminalSummary(a: Analysis, reportPath: string): string {
  const lines = [`${a.verdict.toUpperCase()}: ${a.headline}`];
  for (const l of a.layers) {
    const c = l.capacity;
    const cap = c ? `; capacity ${c.lowerBound ? '>= ' : ''}${c.perSec}/s completed${c.limitedBy === 'target' ? citedText(c.signals) : c.limitedBy === 'generator' ? ' (could not be told apart from the generator)' : ' (the load offered was the limit)'}` : '';
    const limit = l.connectionLimit && l.state !== 'missed' ? `; refuses new connections beyond ${l.connectionLimit.held} held${citedText(l.connectionLimit.signals)}` : '';
    lines.push(`  ${l.layer.padEnd(9)} ${layerStateWords(l, a)}${cap}${limit}`);
  }
  for (const b of a.bells ?? []) {
    const what = b.verdict === 'broke' ? `broke the ${b.broken.map((x) => `${x.layer} at ${x.clock} (${x.offeredPerSec}/s offered)`).join(', the ')}` : b.verdict === 'met' ? 'met the objectives' : 'not judged';
    lines.push(`  bell      ${b.clock}: ${b.participants} pupils in ${b.classes} classes; ${what}`);
  }
  const u = a.users;
  const broker = a.layers.some((l) => l.layer === 'broker') ? `, ${u.attemptsPerJoin ?? '-'} broker attempts per join` : '';
  if (u.arrived) lines.push(`  users     ${u.joined} of ${u.arrived} joined, ${u.neverJoined} never, ${u.joinedLate} later than ${u.joinWithinMs / 1000} s; ${u.attemptsPerUser.toFixed(2)} journeys per participant${broker}`);
  for (const f of a.watch?.failures ?? []) lines.push(`  watch     not read: ${f}`);
  for (const f of a.faults) lines.push(`  fault     ${f.label}: ${f.layersHit.length ? `hit ${f.layersHit.join(', ')}, detected after ${f.detectSec} s, recovered ${f.recoverSec === null ? 'not before the end' : `${f.recoverSec} s after it ended`}` : 'no layer missed its objective'}`);
  const b = a.browsers;
  if (b) {
    const sec = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(1)} s`);
    const times = b.bells
      ? `joined in ${sec(b.before.joinMs)} before the bell, ${sec(b.burst.joinMs)} in the burst; first frame ${sec(b.before.firstFrameMs)} / ${sec(b.burst.firstFrameMs)}`
      : `joined in ${sec(b.all.joinMs)}, first frame ${sec(b.all.firstFrameMs)} (medians)`;
    lines.push(`  browsers  ${b.count} users, ${b.journeys.length} journeys: ${times}; ${b.failed} failed, ${b.dropped} dropped, ${b.reconnects} reconnects; ${b.meanFps ?? '-'} fps`);
    const res = b.resources;
    if (res) {
      lines.push(
        `  chromium  ${res.peakProcesses} processes, CPU ${res.meanCpuPct} % of a core on average (peak ${res.peakCpuPct} %), up to ${res.peakRssMb} MB${
          res.machineLimited ? `; the machine was the limit in ${res.busySeconds} s (CPU busy, ${Math.round(res.browserShareOfBusy * 100)} % of it Chromium's): browser figures there say more about this machine` : ''
        }`,
      );
    }
  }
  if (a.generator.suspectSeconds.length || a.generator.ownFailures.length) lines.push(`  generator ${a.generator.note}`);
  for (const t of a.k6Thresholds ?? []) lines.push(`  k6        ${t.layer} threshold ${t.passed ? 'passed' : 'FAILED'} on every runner's samples together: ${thresholdText(t)}`);
  for (const e of a.scriptErrors.slice(0, 5)) lines.push(`  script    ${e.count} × ${e.message}`);
  for (const e of a.notAllowed.slice(0, 5)) lines.push(`  refused   ${e.count} × ${e.message}`);
  lines.push(`report: ${reportPath}`);
  return lines.join('\n');
}

const x = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** junit.xml: one test case per layer objective. */
export function junitXml(a: Analysis): string {
  const cases = a.layers.map((l) => {
    const name = `${l.layer}: ≤ ${l.objective.maxErrorRate * 100} % errors and p95 ≤ ${l.objective.p95Ms} ms`;
    const body = l.state === 'broke' || l.state === 'missed' || l.state === 'down'
      ? `<failure message="${x(`${l.layer} ${layerStateWords(l, a)}`)}">${x(a.headline)}</failure>`
      : a.verdict === 'generator-bound'
        ? `<failure message="not confirmed: the generator was the bottleneck">${x(a.generator.note)}</failure>`
        : !l.judged
        ? '<skipped message="too few attempts to judge"/>'
        : '';
    return `  <testcase classname="firstbell.${x(a.run.scenario.name)}" name="${x(name)}">${body}</testcase>`;
  });
  // The run as a whole: the target stayed up, participants got through, something was judged.
  const whole = (name: string, failure: string | undefined) =>
    `  <testcase classname="firstbell.${x(a.run.scenario.name)}" name="${x(name)}">${failure ? `<failure message="${x(failure)}">${x(a.headline)}</failure>` : ''}</testcase>`;
  const u = a.users;
  cases.push(
    whole('the target stayed up', a.targetDown ? 'the target went down' : undefined),
    whole('participants got through', u.arrived > 0 && u.joined === 0 ? `none of ${u.arrived} participants joined` : undefined),
    whole('evidence for a verdict', a.verdict === 'not-judged' ? 'no layer had enough attempts per second to judge' : undefined),
  );
  const failures = (a.verdict === 'generator-bound' ? a.layers.length : a.layers.filter((l) => l.state === 'broke' || l.state === 'missed' || l.state === 'down').length) +
    (a.targetDown ? 1 : 0) + (u.arrived > 0 && u.joined === 0 ? 1 : 0) + (a.verdict === 'not-judged' ? 1 : 0);
  const skipped = a.layers.filter((l) => !l.judged).length;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="firstbell ${x(a.run.scenario.name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">
${cases.join('\n')}
</testsuite></testsuites>
`;
}
