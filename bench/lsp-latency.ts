// Language-server latency: for each architecture, 50 edits of rpg.dof sent to the real server
// process (dist/server.js over stdio, debounce 0) and two figures per edit:
//   compute    — the server's own analysis time for that version (rpg/analysisStatus), i.e.
//                parse + schema + dataset + plan + rules + conversion, without the debounce;
//   round trip — didChange sent → publishDiagnostics received, in this process.
// In the editor the user sees debounce (150 ms by default) + round trip.
//
//   node --import tsx bench/lsp-latency.ts            prints the table
//   node --import tsx bench/lsp-latency.ts --write    also updates the "Language server"
//                                                     section of bench/RESULTS.md
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Architecture } from '../src/core/config/schema';
import { ServerHarness } from '../test/integration/server-harness';

const ARCHS: readonly Architecture[] = ['mlp', 'lenet5', 'resnet20', 'resnet56', 'resnet18', 'resnet34'];
const EDITS = 50;
const WARMUP = 5;
const TARGET_MS = 50;

interface Row {
  readonly arch: Architecture;
  readonly params: string;
  readonly compute: readonly number[];
  readonly roundTrip: readonly number[];
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const config = (arch: Architecture, dof: string): string =>
  JSON.stringify({ model: { arch }, rpg: { dof }, data: { dataset: 'mnist-embedded' }, train: { optimizer: 'sgd', lr: 0.1, epochs: 10 } }, null, 2);

async function measure(server: ServerHarness, arch: Architecture): Promise<Row> {
  const uri = `untitled:bench-${arch}.rpg.json`;
  await server.open(uri, config(arch, '10%'));
  const compute: number[] = [];
  const roundTrip: number[] = [];
  for (let i = 0; i < WARMUP + EDITS; i++) {
    const started = performance.now();
    await server.change(uri, config(arch, `${1 + (i % 25)}%`));
    const elapsed = performance.now() - started;
    const status = server.statuses[server.statuses.length - 1];
    if (i < WARMUP || !status) continue;
    roundTrip.push(elapsed);
    compute.push(status.analysisMs);
  }
  const hover = await server.hover(uri, { line: 2, character: 5 });
  const params = /\| Total parameters \| ([\d,]+) \|/.exec((hover?.contents as { value?: string } | undefined)?.value ?? '')?.[1] ?? '?';
  await server.close(uri);
  return { arch, params, compute, roundTrip };
}

function table(rows: readonly Row[]): string {
  const f = (n: number): string => n.toFixed(2);
  const lines = [
    '| Architecture | Parameters | compute p50 (ms) | compute p95 (ms) | round trip p50 (ms) | round trip p95 (ms) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.arch} | ${r.params} | ${f(quantile(r.compute, 0.5))} | ${f(quantile(r.compute, 0.95))} | ${f(quantile(r.roundTrip, 0.5))} | ${f(quantile(r.roundTrip, 0.95))} |`),
  ];
  return lines.join('\n');
}

function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  // The load average says how much the figures were disturbed by other work on the machine.
  return `${cpu}, ${os.cpus().length} cores visible (1-min load average ${os.loadavg()[0]!.toFixed(1)} at the start), Node ${process.version}, ${os.platform()} ${os.release()}`;
}

function writeSection(body: string): void {
  const file = path.join(__dirname, 'RESULTS.md');
  const heading = '## Language server';
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const start = existing.indexOf(`${heading}\n`);
  let next: string;
  if (start < 0) {
    next = `${existing.trimEnd()}\n\n${heading}\n\n${body}\n`;
  } else {
    const after = existing.indexOf('\n## ', start + heading.length);
    next = existing.slice(0, start) + `${heading}\n\n${body}\n` + (after < 0 ? '' : existing.slice(after));
  }
  writeFileSync(file, next);
}

async function main(): Promise<void> {
  const where = machine();
  const server = await ServerHarness.start({ initializationOptions: { debounceMs: 0 } });
  const rows: Row[] = [];
  try {
    for (const arch of ARCHS) rows.push(await measure(server, arch));
  } finally {
    await server.stop();
  }
  const worst = Math.max(...rows.map((r) => quantile(r.compute, 0.95)));
  const text = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${where} with \`node --import tsx bench/lsp-latency.ts\`:`,
    `${EDITS} edits of \`rpg.dof\` per architecture (after ${WARMUP} warm-up edits) sent to the real server process (\`dist/server.js --stdio\`, debounce 0).`,
    '"compute" is the server\'s own analysis time per version (parse, schema, dataset description, counted plan, all rules);',
    '"round trip" adds JSON-RPC transport both ways. In the editor the debounce (150 ms by default, `rpg.languageServer.debounceMs`) comes on top.',
    '',
    table(rows),
    '',
    `Target: diagnostics within ${TARGET_MS} ms of an edit for ResNet-34 — worst compute p95 here ${worst.toFixed(2)} ms (${worst <= TARGET_MS ? 'met' : 'NOT met'}).`,
  ].join('\n');
  console.log(text);
  if (process.argv.includes('--write')) writeSection(text);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
