// A correlated recording written out as a typed defineJourney module: one step per request, a layer each, the values
// the platform handed out taken from its answers, the credentials from the scenario's data.
import type { Body, Recorded } from './har.js';
import { DISCRIMINATORS, identifier, partsOf, type Correlated, type Credential, type Known, type Parts, type Variable } from './correlate.js';

/** WebSocket messages written into a step, at most; the rest are named in a comment. */
const WS_MESSAGES = 100;
/** A pause in the recording longer than this becomes a think time of its own. */
const PAUSE_MS = 1_000;

const MEDIA = /(^|\/)(ws|wss|websocket|socket|janus|rtc|webrtc|media|stream|video|sfu|signal(ing)?)(\/|$|\?|\.)/i;
const BROKER = /join|room|conference|meeting|lesson|class|course|assign|bigbluebutton|bbb|lecture/i;
const ADMISSION = /log-?in|log-?out|sign-?in|auth|sso|oauth|saml|token|csrf|session|account|password|register/i;

type Layer = 'admission' | 'broker' | 'media';

/** The layer a request's path suggests; else the one before it (the first: admission). */
function layerOf(r: Recorded, before: Layer | undefined): Layer {
  const path = r.path.replace(/\?.*$/, '');
  if (r.ws || MEDIA.test(path)) return 'media';
  if (BROKER.test(path)) return 'broker';
  if (ADMISSION.test(path)) return 'admission';
  return before ?? 'admission';
}

/** A step name from the path: its last segment that is not an id or a value handed out ("/api/rooms/8812/join" → join). */
function stepName(r: Recorded, taken: Set<string>, known: Known): string {
  const segments = r.path.replace(/[?#].*$/, '').split('/').filter((s) => s && !/^\d+$|^[0-9a-f-]{8,}$/i.test(s) && !known.some((k) => k.value === s));
  const base = (segments.at(-1) ?? 'home').replace(/\.[a-z0-9]+$/i, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toLowerCase() || 'home';
  // A page the browser loaded is the page of what follows it on the same path (GET /login, then POST /login).
  const page = r.method === 'GET' && !r.ws && /text\/html/i.test(r.answerType) && segments.length > 0;
  let name = /^\d/.test(base) ? `s_${base}` : page ? `${base}_page` : base;
  if (taken.has(name)) name = r.method === 'GET' ? `${base}_page` : `${base}_${r.method.toLowerCase()}`;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;

/** Parts as a JavaScript expression: a string, one variable, or a template literal. */
function expr(parts: Parts): string {
  if (parts.length === 0) return "''";
  if (parts.length === 1 && typeof parts[0] === 'string') return q(parts[0]);
  if (parts.length === 1 && typeof parts[0] !== 'string' && !parts[0]!.v.includes('(')) return parts[0]!.v;
  return `\`${parts.map((p) => (typeof p === 'string' ? p.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${').replace(/\n/g, '\\n') : `\${${p.v}}`)).join('')}\``;
}

/** An object literal's property: `csrf` for `csrf: csrf`, quoted where the key is no identifier. */
const property = (key: string, value: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (key === value ? key : `${key}: ${value}`) : `${q(key)}: ${value}`);

/** A JSON value as a JavaScript literal, its strings with the known values cut out. */
function jsonExpr(value: unknown, known: Known): string {
  if (typeof value === 'string') return expr(partsOf(value, known));
  if (typeof value === 'number' && Number.isInteger(value)) {
    const k = known.find((x) => x.value === String(value));
    return k ? `Number(${k.name})` : String(value);
  }
  if (Array.isArray(value)) return `[${value.map((x) => jsonExpr(x, known)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? `{ ${entries.map(([k, x]) => property(k, jsonExpr(x, known))).join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

function bodyExpr(b: Body, known: Known): string {
  if (b.kind === 'json') return `json: ${jsonExpr(b.value, known)}`;
  if (b.kind === 'form') return `form: { ${b.fields.map(([k, v]) => property(k, expr(partsOf(v, known)))).join(', ')} }`;
  return `body: ${expr(partsOf(b.text, known))}`;
}

/** How a variable is taken from its answer (`res`), failing the step with a clear message when it is not there. */
function extraction(v: Variable): string {
  const h = v.how;
  switch (h.kind) {
    case 'json':
      return `String(extract.json(res.body, ${q(h.path)}))`;
    case 'formField':
      return `extract.formField(res.body, ${q(h.name)})`;
    case 'meta':
      return `extract.meta(res.body, ${q(h.name)})`;
    case 'attribute':
      return `extract.regex(res.body, /\\b${h.name}\\s*=\\s*"([^"]*)"/, ${q(h.name)})`;
    case 'header':
      return `extract.regex(String(res.headers[${q(h.name)}] ?? ''), /.+/, ${q(`${h.name} header`)})`;
    case 'cookie':
      return `extract.regex(vu.http.cookie(${q(h.name)}) ?? '', /.+/, ${q(`cookie ${h.name}`)})`;
    case 'message':
      return `String(extract.json(m${h.index}.text, ${q(h.path)}))`;
  }
}

/** The lines of one HTTP step. */
function httpStep(r: Recorded, name: string, handle: string, known: Known, made: Variable[]): string[] {
  const opts = [
    ...(r.body ? [bodyExpr(r.body, known)] : []),
    ...(r.headers.length ? [`headers: { ${r.headers.map(([k, v]) => `${q(k)}: ${expr(partsOf(v, known))}`).join(', ')} }`] : []),
    // A browser's conditional request answered 304; the journey asks without the condition.
    `expect: [${r.status === 304 ? 200 : r.status}]`,
    'signal',
  ].join(', ');
  const call = `vu.http.request(${q(r.method)}, ${expr(partsOf(r.path, known))}, { ${opts} })`;
  if (!made.length) return [`const ${handle} = await vu.step(${q(name)}, (signal) => ${call});`, `if (!${handle}.ok) return 'failed';`];
  return [
    `const ${handle} = await vu.step(${q(name)}, async (signal) => {`,
    `  const res = await ${call};`,
    `  return { ${made.map((v) => `${v.name}: ${extraction(v)}`).join(', ')} };`,
    '});',
    `if (!${handle}.ok) return 'failed';`,
    `const { ${made.map((v) => v.name).join(', ')} } = ${handle}.value;`,
  ];
}

/** A message that only says a request arrived ("janus": "ack"): waited for only where its request gets no other answer. */
const RECEIPT = /^(ack|accepted|received|queued)$/i;
/** A WebRTC offer sent (`"sdp": "v=0…`): what follows it unasked (webrtcup, media) needs the media the offer describes. */
const OFFER = /"sdp"\s*:\s*"v=0/;

/** The transactions a sent message names. */
const transactionsOf = (data: string) => [...data.matchAll(/"transaction"\s*:\s*"([^"]+)"/g)].map((t) => t[1]!);

type Kind = { key?: string; kind?: string; tx?: string };

/** What a received message is: the key saying its kind and the kind ("janus": "success"), and the transaction of a sent message it answers. */
function kindOf(data: string, sentTransactions: ReadonlyMap<string, number>): Kind {
  try {
    const j = JSON.parse(data) as Record<string, unknown>;
    if (!j || typeof j !== 'object') return {};
    const key = DISCRIMINATORS.find((k) => typeof j[k] === 'string');
    return { key, kind: key ? String(j[key]) : undefined, tx: typeof j.transaction === 'string' && sentTransactions.has(j.transaction) ? j.transaction : undefined };
  } catch {
    return {};
  }
}

/**
 * The received messages a step waits for, and where: `at.get(k)` lists those waited for once message k is reached.
 * A message that hands out values is waited for by itself. Between two messages sent, the others are waited for
 * together, in whatever order they come (answers to several requests need not come as recorded); a request's receipt
 * is left out where the request has another answer, and after a WebRTC offer so are the messages that answer nothing
 * sent (they follow from media that a recorded offer cannot bring about: `afterOffer` counts them).
 */
function waited(msgs: { send: boolean; data: string }[], handsOut: Set<number>): { at: Map<number, number[]>; afterOffer: number; info: Kind[] } {
  // The transactions sent so far, each at the message that first named it.
  const sent = new Map<string, number>();
  // Each received message's kind, and the transaction it answers among those sent before it.
  const info = msgs.map((m, k) => {
    if (m.send) for (const t of transactionsOf(m.data)) if (!sent.has(t)) sent.set(t, k);
    return m.send ? {} : kindOf(m.data, sent);
  });
  const answered = new Set<string>();
  for (const i of info) if (i.tx && !RECEIPT.test(i.kind ?? '')) answered.add(i.tx);
  const at = new Map<number, number[]>();
  let offered = false;
  let afterOffer = 0;
  let run: number[] = [];
  const endRun = () => {
    if (run.length) at.set(run.at(-1)!, run);
    run = [];
  };
  msgs.forEach((m, k) => {
    if (m.send) {
      endRun();
      offered ||= OFFER.test(m.data);
      return;
    }
    const { kind, tx } = info[k]!;
    if (handsOut.has(k)) at.set(k, [k]);
    else if (offered && !tx) afterOffer++;
    else if (!(tx && RECEIPT.test(kind ?? '') && answered.has(tx))) run.push(k);
  });
  endRun();
  earlierReceipts(at, info, handsOut, sent);
  return { at, afterOffer, info };
}

/**
 * A receipt is waited for at the first wait after its request, not where the recording had it: a server sends it at
 * once, and a wait passes over what came before the message it finds, so a receipt that came in during an earlier
 * wait (the answers to a WebRTC offer and its candidates' receipts come in either order) would never be seen by the
 * wait that the recording's order gave it. Waits for a message that hands out values are left alone.
 */
function earlierReceipts(at: Map<number, number[]>, info: Kind[], handsOut: Set<number>, sentAt: ReadonlyMap<string, number>): void {
  const points = [...at.keys()].filter((p) => !handsOut.has(p)).sort((a, b) => a - b);
  for (const p of points) {
    const list = at.get(p)!;
    for (const k of [...list]) {
      const { kind, tx } = info[k]!;
      if (!tx || !RECEIPT.test(kind ?? '')) continue;
      const first = points.find((q) => q > sentAt.get(tx)!);
      if (first === undefined || first >= p) continue;
      list.splice(list.indexOf(k), 1);
      at.get(first)!.push(k);
    }
  }
  for (const [p, list] of at) if (!list.length) at.delete(p);
}

/**
 * A match for a message received on the recording's WebSocket, by its kind ("type": "welcome") and, where it answers
 * one sent with a transaction, by that too; else by its text when short.
 */
function matchOf(data: string, { key, kind, tx }: Kind): { code: string; what: string } | undefined {
  if (key && tx !== undefined) {
    return { code: `(m) => (m.json as { ${key}?: unknown } | undefined)?.${key} === ${q(kind!)} && (m.json as { transaction?: unknown }).transaction === ${q(tx)}`, what: `${key} ${kind!} ${tx}` };
  }
  if (key) return { code: `(m) => (m.json as { ${key}?: unknown } | undefined)?.${key} === ${q(kind!)}`, what: `${key} ${kind!}` };
  // Not JSON, or no kind: by its text.
  return data.length <= 100 ? { code: `(m) => m.text === ${q(data)}`, what: data } : undefined;
}

/** A wait for several messages in whatever order they come: each match is struck off as its message comes. */
function allOf(matches: { code: string; what: string }[], k: number): string[] {
  return [
    `  const answers${k}: ((m: WsMessage) => boolean)[] = [`,
    ...matches.map((x) => `    ${x.code},`),
    '  ];',
    `  await ws.waitFor((m) => { const i = answers${k}.findIndex((f) => f(m)); if (i >= 0) answers${k}.splice(i, 1); return answers${k}.length === 0; }, { signal, timeoutMs: 10_000, what: ${q(`${matches.length} answers (${matches.slice(0, 2).map((x) => x.what).join(', ')}${matches.length > 2 ? ` and ${matches.length - 2} more` : ''})`)} });`,
  ];
}

/** The lines of one WebSocket step: open, the recording's messages sent and the answers waited for. */
function wsStep(r: Recorded, name: string, handle: string, known: Known, socketVars: Variable[]): string[] {
  // The URL the platform handed out (a signalling server's), else the path on the platform's origin.
  const handed = known.find((k) => k.value === r.url);
  const lines = [`const ${handle} = await vu.step(${q(name)}, async (signal) => {`, `  const ws = await vu.ws(${handed ? handed.name : expr(partsOf(r.path, known))}, signal${r.wsProtocol ? `, { protocol: ${q(r.wsProtocol)} }` : ''});`];
  const msgs = (r.ws ?? []).slice(0, WS_MESSAGES);
  const own = [...known];
  const { at, afterOffer, info } = waited(msgs, new Set(socketVars.flatMap((v) => (v.how.kind === 'message' ? [v.how.index] : []))));
  msgs.forEach((m, k) => {
    if (m.send) {
      lines.push(`  ws.send(${expr(partsOf(m.data, own))});`);
      return;
    }
    // A message that hands out values is waited for by name, and they are taken from it for the messages after it.
    const made = socketVars.filter((v) => v.how.kind === 'message' && v.how.index === k);
    const matches = [...new Map((at.get(k) ?? []).flatMap((i) => matchOf(msgs[i]!.data, info[i]!) ?? []).map((x) => [x.what, x])).values()];
    if (matches.length === 1) lines.push(`  ${made.length ? `const m${k} = ` : ''}await ws.waitFor(${matches[0]!.code}, { signal, timeoutMs: 10_000, what: ${q(matches[0]!.what)} });`);
    else if (matches.length > 1) lines.push(...allOf(matches, k));
    for (const v of made) lines.push(`  const ${v.name} = ${extraction(v)};`);
    own.push(...made);
  });
  if (afterOffer) {
    lines.push(`  // The recording's WebRTC offer is sent as recorded: the media server's answer is measured, but no media flows, so the`, `  // ${afterOffer} message${afterOffer === 1 ? '' : 's'} that followed from media (webrtcup, media) ${afterOffer === 1 ? 'is' : 'are'} not waited for. Browser users (--browsers) measure media.`);
  }
  if ((r.ws ?? []).length > WS_MESSAGES) lines.push(`  // ${r.ws!.length - WS_MESSAGES} more messages of the recording left out.`);
  lines.push('  return ws;', '});', `if (!${handle}.ok) return 'failed';`);
  // Kept open, the participant would stay connected: see vu.hold in the README.
  lines.push(`${handle}.value.close();`);
  return lines;
}

function credentialLine(c: Credential): string {
  return `const ${c.name} = vu.data?.[${q(c.column)}] ?? ${c.fallback === 'recorded' ? q(c.value) : `vu.identity.${c.fallback}`};`;
}

export interface ImportedJourney {
  source: string;
  /** The data file's text (a header of the credentials' columns and the recorded row), when credentials were typed. */
  csv?: string;
  steps: { name: string; layer: Layer }[];
}

/** The journey module of a correlated recording; `from` names the recording in its first comment. */
export function journeySource(c: Correlated, from: string, csvName: string): ImportedJourney {
  const { recording, variables, credentials } = c;
  const stepNames = new Set<string>();
  const handles = new Set<string>([...variables.map((v) => v.name), ...credentials.map((x) => x.name)]);
  const steps: { name: string; layer: Layer }[] = [];
  const body: string[] = credentials.map(credentialLine);
  let layer: Layer | undefined;
  recording.requests.forEach((r, i) => {
    // A WebSocket message's values are the socket's own: its step's, not the journey's.
    const answers = variables.filter((v) => v.how.kind !== 'message');
    const known: Known = [...credentials, ...answers.filter((v) => v.from < i)];
    layer = layerOf(r, layer);
    const name = stepName(r, stepNames, known);
    steps.push({ name, layer });
    const prev = recording.requests[i - 1];
    const pause = prev ? Math.round((r.startMs - prev.endMs) / 100) * 100 : 0;
    if (pause >= PAUSE_MS) body.push('', `await vu.think(${pause}); // the recording's pause`);
    const handle = identifier(name, handles);
    body.push('', ...(r.ws ? wsStep(r, name, handle, known, variables.filter((v) => v.from === i && v.how.kind === 'message')) : httpStep(r, name, handle, known, answers.filter((v) => v.from === i))));
  });
  const stepsDecl = steps.map((s, k) => `    ${/^[a-z_][a-z0-9_]*$/.test(s.name) ? s.name : q(s.name)}: ${k === steps.length - 1 ? `{ layer: '${s.layer}', goal: 'journey' }` : `'${s.layer}'`},`);
  const extracts = body.some((l) => l.includes('extract.'));
  const header = [
    `// Imported from ${from} by firstbell import har: ${recording.requests.length} request${recording.requests.length === 1 ? '' : 's'} to ${recording.origin}, in the order recorded.`,
    ...(recording.left.length ? [`// Left out: ${recording.left.join('; ')}.`] : []),
    ...(variables.length ? [`// Taken from the platform's answers and sent back: ${variables.map((v) => v.name).join(', ')}.`] : []),
    ...(credentials.length ? [`// Typed by the user (credentials, the page's address): columns ${credentials.map((x) => x.column).join(', ')} of the scenario's data (${csvName}), else ${credentials.some((x) => x.fallback === 'recorded') ? "each participant's test account or the value recorded" : "each participant's test account"}.`] : []),
    '// Steps are named from their paths and given a layer each: regroup, rename or merge them as your platform is.',
    `import { defineJourney${extracts ? ', extract' : ''}${body.some((l) => l.includes('(m: WsMessage)')) ? ', type WsMessage' : ''} } from 'firstbell';`,
    '',
    'export default defineJourney({',
    '  steps: {',
    ...stepsDecl,
    '  },',
    '  holds: false,',
    '  async journey(vu) {',
    ...body.slice(body[0] === '' ? 1 : 0).map((l) => (l ? `    ${l}` : '')),
    '',
    "    return 'joined';",
    '  },',
    '});',
    '',
  ];
  const csvCell = (s: string) => (/[",;\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const csv = credentials.length ? `${credentials.map((x) => csvCell(x.column)).join(',')}\n${credentials.map((x) => csvCell(x.value)).join(',')}\n` : undefined;
  return { source: header.join('\n'), ...(csv ? { csv } : {}), steps };
}

