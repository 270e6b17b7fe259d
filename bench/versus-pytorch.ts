// Ours against PyTorch on the CPU, in one run: `npm run bench:versus` (issue 17's bench).
// LeNet-5 (28×28×1) and ResNet-20 (32×32×3), plain and RPG (ring 10%), batch 64, Adam, synthetic
// data, at 1 thread and at every core (ResNet-20 at each count 1..cores: the scaling rows). Both
// sides run in child processes, one per (model, thread count), so peak RSS is per model and a
// thread setting is fixed before any library starts its threads: ours with RPG_THREADS=n, PyTorch
// with torch.set_num_threads(n) (bench/pytorch_rpg.py). Ours and PyTorch alternate, in two
// rounds with the order swapped, so load changes on a shared machine hit both; each side's
// figure is the mean of its per-round median step times.
//
// Prints a markdown table (paste it into bench/RESULTS.md with the machine and load it prints)
// and, last, per model, lines a script can read: `ratio <model> <plain|rpg> threads=<n>: <x>`
// (ours / PyTorch, wall-clock samples/s).
//
// Options: --models lenet5,resnet20  --threads 1,2 (thread counts; default 1 and every count up
// to the cores for ResNet-20, 1 and the cores for LeNet-5)  --rounds 2  --batch 64
// --child ARCH THREADS BATCH STEPS WARMUP (internal: our side of one measurement).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '../src/engines/tfjs/backend';
import { computeThreads, nativeConvStatus } from '../src/engines/tfjs/native-conv';
import { Kind, LABEL, makeBench, median, now } from './bench-model';

const REPO = path.resolve(__dirname, '..');
const PYTHON = '/usr/bin/python3';
const argv = process.argv.slice(2);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const KINDS: Kind[] = ['plain', 'rpg'];
/** Timed steps per kind and round: enough for a stable median, short enough for a 2-core machine. */
const STEPS: Record<string, number> = { lenet5: 40, resnet20: 12 };

interface Side {
  /** Median step time per kind, ms. */
  stepMs: Record<Kind, number>;
  maxRssMB: number;
  /** Threads the side actually ran (ours: as the engine reports it). */
  threads: number;
  detail: string;
}

/** This process's peak RSS (VmHWM; a child's getrusage maxRSS would start at its parent's). */
function peakRssMB(): number {
  const kb = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : process.resourceUsage().maxRSS / 1024;
}

// ---------------------------------------------------------------- child: our side
async function child(): Promise<void> {
  const i = argv.indexOf('--child');
  const [arch, , batchS, stepsS, warmupS] = argv.slice(i + 1) as [string, string, string, string, string];
  await selectBackend('wasm');
  const times: Record<Kind, number[]> = { plain: [], rpg: [] };
  for (const kind of KINDS) {
    const b = makeBench(arch, kind, Number(batchS));
    for (let k = 0; k < Number(warmupS); k++) await b.step();
    for (let k = 0; k < Number(stepsS); k++) {
      const t0 = now();
      await b.step();
      times[kind].push(now() - t0);
    }
    b.dispose();
  }
  const out: Side = { stepMs: { plain: median(times.plain), rpg: median(times.rpg) }, maxRssMB: peakRssMB(), threads: computeThreads(), detail: `tfjs wasm, ${nativeConvStatus().detail.replace(/, (\d+ threads?|oneDNN's default threads) \(RPG_THREADS\)$/, '')}` };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function ours(arch: string, threads: number, batch: number): Side {
  const env: NodeJS.ProcessEnv = { ...process.env, RPG_THREADS: String(threads) };
  delete env['OMP_NUM_THREADS']; // the engine's own setting decides
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', arch, String(threads), String(batch), String(STEPS[arch]), '3'], { cwd: REPO, env, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`our ${arch} child (threads ${threads}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Side;
}

interface TorchLine {
  kind: Kind;
  medianStepMs: number;
  maxRssMB: number;
  threads: number;
  torch: string;
}

function pytorch(arch: string, threads: number, batch: number): Side {
  const args = [path.join(REPO, 'bench', 'pytorch_rpg.py'), '--threads', String(threads), '--batch', String(batch), '--steps', String(STEPS[arch]), '--warmup', '3', '--archs', arch];
  const env = { ...process.env };
  delete env['OMP_NUM_THREADS']; // torch.set_num_threads decides
  const r = spawnSync(PYTHON, args, { cwd: REPO, env, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`PyTorch ${arch} (threads ${threads}) failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TorchLine);
  const of = (kind: Kind) => lines.find((l) => l.kind === kind)!;
  return { stepMs: { plain: of('plain').medianStepMs, rpg: of('rpg').medianStepMs }, maxRssMB: Math.max(...lines.map((l) => l.maxRssMB)), threads: of('plain').threads, detail: `PyTorch ${of('plain').torch}` };
}

/** Rounds of one (model, threads) measurement, combined: mean of the per-round medians, max RSS. */
function combine(sides: Side[]): Side {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { stepMs: { plain: mean(sides.map((s) => s.stepMs.plain)), rpg: mean(sides.map((s) => s.stepMs.rpg)) }, maxRssMB: Math.max(...sides.map((s) => s.maxRssMB)), threads: sides[0]!.threads, detail: sides[0]!.detail };
}

interface Row {
  arch: string;
  threads: number;
  ours: Side;
  torch: Side;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  if (argv.includes('--child')) return child();
  if (spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`PyTorch is not importable by ${PYTHON} (Debian: apt-get install -y python3-torch)`);
  }
  const cores = os.availableParallelism();
  const batch = Number(value('batch') ?? 64);
  const rounds = Number(value('rounds') ?? 2);
  const models = (value('models') ?? 'lenet5,resnet20').split(',');
  const given = value('threads')?.split(',').map(Number);
  const counts = (arch: string) => given ?? (arch === 'resnet20' ? Array.from({ length: cores }, (_, k) => k + 1) : [...new Set([1, cores])]);
  const log = (s: string) => process.stderr.write(s + '\n');
  const loadStart = os.loadavg();
  const started = new Date();
  log(`versus PyTorch: ${os.cpus()[0]?.model ?? 'CPU'}, ${cores} cores, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}, batch ${batch}, ${rounds} rounds`);
  const rows: Row[] = [];
  for (const arch of models) {
    for (const threads of counts(arch)) {
      const o: Side[] = [];
      const t: Side[] = [];
      for (let r = 0; r < rounds; r++) {
        // The order swaps each round: neither side always runs first after the other's load.
        if (r % 2 === 0) {
          o.push(ours(arch, threads, batch));
          t.push(pytorch(arch, threads, batch));
        } else {
          t.push(pytorch(arch, threads, batch));
          o.push(ours(arch, threads, batch));
        }
        log(`  ${arch} threads=${threads} round ${r + 1}: ours ${o.at(-1)!.stepMs.plain.toFixed(1)} / ${o.at(-1)!.stepMs.rpg.toFixed(1)} ms, PyTorch ${t.at(-1)!.stepMs.plain.toFixed(1)} / ${t.at(-1)!.stepMs.rpg.toFixed(1)} ms (plain / RPG), load ${os.loadavg()[0]!.toFixed(2)}`);
      }
      rows.push({ arch, threads, ours: combine(o), torch: combine(t) });
    }
  }
  const loadEnd = os.loadavg();
  const sps = (ms: number) => (batch * 1000) / ms;
  const out: string[] = [];
  out.push(`${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus()[0]?.model ?? 'CPU'}, ${cores} cores; load average (1/5/15 min) ${loadStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${loadEnd.map((l) => l.toFixed(2)).join(' / ')} at the end. Ours: ${rows[0]?.ours.detail}. ${rows[0]?.torch.detail}, torch.set_num_threads(n). Batch ${batch}, Adam, synthetic data, ring 10%; samples/s from the mean of ${rounds} per-round median step times; peak RSS of the process that trained the model (plain then RPG).`, '');
  out.push('| model | kind | threads (ours / PyTorch) | ours samples/s | PyTorch samples/s | ours / PyTorch | RPG/plain step (ours / PyTorch) | peak RSS MB (ours / PyTorch) |', '|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    for (const kind of KINDS) {
      const ratio = sps(r.ours.stepMs[kind]) / sps(r.torch.stepMs[kind]);
      const rpgPlain = kind === 'rpg' ? `${(r.ours.stepMs.rpg / r.ours.stepMs.plain).toFixed(3)} / ${(r.torch.stepMs.rpg / r.torch.stepMs.plain).toFixed(3)}` : '';
      out.push(`| ${LABEL[r.arch]} | ${kind} | ${r.ours.threads} / ${r.torch.threads} | ${fmt(sps(r.ours.stepMs[kind]))} | ${fmt(sps(r.torch.stepMs[kind]))} | ${ratio.toFixed(2)}× | ${rpgPlain} | ${fmt(r.ours.maxRssMB)} / ${fmt(r.torch.maxRssMB)} |`);
    }
  }
  out.push('');
  for (const arch of models) {
    for (const r of rows.filter((x) => x.arch === arch)) {
      for (const kind of KINDS) out.push(`ratio ${arch} ${kind} threads=${r.threads}: ${(sps(r.ours.stepMs[kind]) / sps(r.torch.stepMs[kind])).toFixed(2)}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
