// The house rules for imports: data flows down the folders, nothing imports upward, and there is no import circle.
// Each folder names the folders it may import from; the order is the flow of DESIGN.md.
const MAY_IMPORT = {
  lib: [],
  scenarios: ['lib'],
  api: ['scenarios', 'lib'],
  'run-folder': ['api', 'scenarios', 'lib'],
  plan: ['run-folder', 'api', 'scenarios', 'lib'],
  protocol: ['api', 'lib'],
  faults: ['run-folder', 'api', 'scenarios', 'lib'],
  targets: ['api', 'scenarios', 'lib'],
  // The user's own modules: scenario files, journey modules and their data, loaded and checked.
  modules: ['targets', 'api', 'scenarios', 'lib'],
  // What the run watches of the platform beside its load (--watch): processes, nginx, Prometheus.
  watch: ['protocol', 'run-folder', 'api', 'scenarios', 'lib'],
  users: ['modules', 'targets', 'faults', 'protocol', 'plan', 'run-folder', 'api', 'scenarios', 'lib'],
  // One run's conductor: its stages from the prepared generator to the closed run folder.
  run: ['users', 'watch', 'modules', 'targets', 'faults', 'protocol', 'plan', 'run-folder', 'api', 'scenarios', 'lib'],
  k6: ['modules', 'targets', 'plan', 'run-folder', 'api', 'scenarios', 'lib'],
  kubernetes: ['lib'],
  // Analysis and reports read a run folder: they import nothing from the generating side.
  analysis: ['run-folder', 'api', 'scenarios', 'lib'],
  reports: ['analysis', 'run-folder', 'api', 'scenarios', 'lib'],
  fixtures: ['lib'],
  // A recorded browser session read into a journey's source (import har, record): it knows the journey API's words only.
  har: ['api', 'lib'],
};

const PRODUCT_ONLY = '\\.test\\.ts$|^test/|^examples/|^bench/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import circle in product code', from: { pathNot: PRODUCT_ONLY }, to: { circular: true } },
    ...Object.entries(MAY_IMPORT).map(([folder, ok]) => ({
      name: `${folder}-imports-only-upstream`,
      severity: 'error',
      comment: `${folder}/ may import from ${[folder, ...ok].join(', ')} only`,
      from: { path: `^${folder}/`, pathNot: PRODUCT_ONLY },
      to: { dependencyTypes: ['local'], pathNot: `^(${[folder, ...ok].join('|')})/` },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|runs|bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
