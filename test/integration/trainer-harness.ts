// Starts the real bundled trainer (dist/trainer.js) through the client helper the extension
// uses, records every notification with its arrival time, and builds tiny configs, for the
// trainer-*.test.ts integration tests.
import { ensureBuilt } from '../helpers/build';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initializeRequest, InitializeResult, PROTOCOL_VERSION } from '../../src/protocol';
import { TrainerClient } from '../../src/protocol/client';

export const REPO = path.resolve(__dirname, '../..');
export const TRAINER_JS = path.join(REPO, 'dist', 'trainer.js');

/** Builds dist/trainer.js when it is missing or older than any source. */
export function ensureTrainerBuilt(): void {
  ensureBuilt('trainer');
}

export interface Received {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly at: number;
}

export interface Trainer {
  readonly client: TrainerClient;
  readonly received: Received[];
  readonly stderr: string[];
  /** The first notification (already received or still to come) that matches. */
  next(method: string, match?: (params: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Received>;
  of(method: string, runId?: string): Received[];
  close(): Promise<void>;
}

const live = new Set<TrainerClient>();
/** Kills every trainer a test left behind (call from `after`). */
export function killAll(): void {
  for (const c of live) c.dispose();
  live.clear();
}

export function startTrainer(env: NodeJS.ProcessEnv = {}): Trainer {
  ensureTrainerBuilt();
  const received: Received[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const client = TrainerClient.start({
    trainerPath: TRAINER_JS,
    env: { ...process.env, ...env },
    onStderrLine: (line) => {
      stderr.push(line);
      if (process.env.TRAINER_DEBUG) process.stderr.write(`  [trainer] ${line}\n`);
    },
    onExit: () => waiters.forEach((w) => w()),
  });
  live.add(client);
  client.connection.onNotification((method: string, params: unknown) => {
    received.push({ method, params: params as Record<string, unknown>, at: Date.now() });
    waiters.forEach((w) => w());
  });
  const find = (method: string, match?: (p: Record<string, unknown>) => boolean) => received.find((r) => r.method === method && (!match || match(r.params)));
  return {
    client,
    received,
    stderr,
    next(method, match, timeoutMs = 30_000) {
      return new Promise<Received>((resolve, reject) => {
        const check = () => {
          const hit = find(method, match);
          if (hit) {
            done();
            resolve(hit);
          } else if (client.exit) {
            done();
            reject(new Error(`trainer exited (${JSON.stringify(client.exit)}) before ${method}; stderr:\n${stderr.slice(-20).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${method} within ${timeoutMs} ms; got ${received.map((r) => r.method).join(', ')}; stderr:\n${stderr.slice(-20).join('\n')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    of(method, runId) {
      return received.filter((r) => r.method === method && (runId === undefined || r.params.runId === runId));
    },
    async close() {
      await client.shutdown(10_000);
      live.delete(client);
    },
  };
}

export function initialize(t: Trainer): Promise<InitializeResult> {
  return t.client.request(initializeRequest, { clientName: 'trainer-tests', protocolVersion: PROTOCOL_VERSION, backend: 'cpu' });
}

/** A config small enough to train in a second or two on one core. */
export function tinyConfig(train: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'tiny-mlp',
    seed: 7,
    model: { arch: 'mlp', hidden: [32] },
    rpg: { dof: '10%' },
    data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 128 },
    train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 1, backend: 'cpu', ...train },
    ...extra,
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `rpg-trainer-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Rows of a run's metrics.jsonl. */
export function readMetrics(runDir: string): { type: string; step: number; loss: number }[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { type: string; step: number; loss: number });
}
