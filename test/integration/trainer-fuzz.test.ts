// The trainer as a hostile client sees it, over its real stdio: malformed frames, requests with
// wrong types, huge values and special paths (FIFOs, /dev/zero, /proc, a file as a folder).
// After every case the trainer must answer a valid request within a bound (liveness, not
// speed: the bound is generous), every request with an id gets exactly one response, and
// the process never dies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt } from '../helpers/build';

const REPO = path.resolve(__dirname, '../..');
const TRAINER_JS = path.join(REPO, 'dist', 'trainer.js');
/** How long a live trainer may take to answer a trivial request, on a loaded machine. */
const ANSWER_BOUND_MS = 20_000;

interface Response {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { field?: string; code?: string } };
}

/** A JSON-RPC peer that writes raw frames and reads every framed message off stdout. */
class RawPeer {
  readonly child: ChildProcess;
  private buffer = Buffer.alloc(0);
  readonly responses = new Map<unknown, Response[]>();
  private waiters: (() => void)[] = [];
  exited = false;

  constructor() {
    ensureBuilt('trainer');
    this.child = spawn(process.execPath, [TRAINER_JS], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, RPG_TRAINER_MAX_MESSAGE_BYTES: String(1 << 20) } });
    this.child.stdout!.on('data', (d: Buffer) => this.read(d));
    this.child.stderr!.resume();
    this.child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  write(data: string | Buffer): void {
    this.child.stdin!.write(data);
  }

  send(message: unknown): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
  }

  /** Sends a request and waits for the response with its id. */
  async request(id: unknown, method: unknown, params?: unknown): Promise<Response> {
    this.send({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) });
    return this.response(id);
  }

  async response(id: unknown): Promise<Response> {
    const deadline = Date.now() + ANSWER_BOUND_MS;
    for (;;) {
      const got = this.responses.get(id);
      if (got?.length) return got[0]!;
      if (this.exited) assert.fail(`the trainer exited before answering request ${JSON.stringify(id)}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no answer to request ${JSON.stringify(id)} within ${ANSWER_BOUND_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  private read(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString('ascii'))?.[1]);
      if (this.buffer.length < end + 4 + length) return;
      const msg = JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString('utf8')) as Response & { method?: string };
      this.buffer = this.buffer.subarray(end + 4 + length);
      if (msg.method === undefined) {
        const list = this.responses.get(msg.id) ?? [];
        list.push(msg);
        this.responses.set(msg.id, list);
      }
      this.wake();
    }
  }
}

const peers: RawPeer[] = [];
after(() => peers.forEach((p) => p.child.kill('SIGKILL')));

test('hostile input: every case is answered or skipped, and a valid request is answered after each', async () => {
  const peer = new RawPeer();
  peers.push(peer);
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-fuzz-'));
  try {
    const fifo = path.join(dir, 'fifo.rpg.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const aFile = path.join(dir, 'a-file');
    writeFileSync(aFile, 'x');
    const text = JSON.stringify({ name: 'fuzz', model: { arch: 'mlp', hidden: [8] }, rpg: { dof: 100 }, data: { dataset: 'mnist-embedded', trainSize: 64, testSize: 32 }, train: { epochs: 1, batchSize: 32, backend: 'cpu' } });
    let probe = 0;
    const alive = async (what: string) => {
      const id = `probe-${probe++}`;
      const r = await peer.request(id, 'train/stop', { runId: 'no-such-run' });
      assert.deepEqual(r.result, { stopped: [] }, `${what}: the trainer still answers`);
    };

    // initialize with wrong types is refused, naming the field; then a good one.
    const badInits: [unknown, string][] = [
      [{ clientName: 'fuzz', protocolVersion: 1, maxConcurrentRuns: 'x' }, 'maxConcurrentRuns'],
      [{ clientName: 'fuzz', protocolVersion: 1, maxConcurrentRuns: 1e9 }, 'maxConcurrentRuns'],
      [{ clientName: 'fuzz', protocolVersion: 1, threads: -3 }, 'threads'],
      [{ clientName: 'fuzz', protocolVersion: 1, backend: 7 }, 'backend'],
      [{ clientName: 'fuzz', protocolVersion: 99 }, 'protocolVersion'],
    ];
    for (const [params, field] of badInits) {
      const r = await peer.request(`init-${field}-${JSON.stringify(params).length}`, 'initialize', params);
      assert.equal(r.error?.data?.field, field, `initialize ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
    }
    const version = await peer.request('init-99', 'initialize', { clientName: 'fuzz', protocolVersion: 99 });
    assert.match(version.error!.message, /this trainer speaks protocol version 1, the client asked for 99/);
    const ok = await peer.request('init-ok', 'initialize', { clientName: 'fuzz', protocolVersion: 1, backend: 'cpu', maxConcurrentRuns: 1 });
    assert.equal((ok.result as { backend: string }).backend, 'cpu');

    // Requests that are not requests: still one response each, with the right error code.
    const invalid: [unknown, number, RegExp][] = [
      [{ jsonrpc: '2.0', id: 'num-method', method: 42 }, -32600, /"method" must be a string/],
      [{ jsonrpc: '2.0', id: 'null-method', method: null }, -32600, /"method" must be a string/],
      [{ jsonrpc: '2.0', id: 'no-method' }, -32600, /needs a "method"/],
      [{ jsonrpc: '2.0', id: 'scalar-params', method: 'train/start', params: 5 }, -32600, /"params" must be an object/],
      [{ jsonrpc: '2.0', id: 'unknown', method: 'no/such/method', params: {} }, -32601, /./],
    ];
    for (const [message, code, why] of invalid) {
      const id = (message as { id: string }).id;
      peer.send(message);
      const r = await peer.response(id);
      assert.equal(r.error?.code, code, `${id}: ${JSON.stringify(r)}`);
      assert.match(r.error!.message, why, id);
      await alive(id);
    }

    // Bytes that are not frames.
    const junk: (string | Buffer)[] = [
      Buffer.from([0, 255, 254, 10, 13, 10]), 'Content-Length: -5\r\n\r\n', 'Content-Length: 3\r\n\r\n{{{', 'Content-Length: 2\r\n\r\n[]',
    ];
    for (const j of junk) {
      peer.write(j);
      await alive(`junk ${String(j).slice(0, 20)}`);
    }
    // A 5 MiB message (over the limit): announced, streamed in two parts, skipped without buffering.
    peer.write(`Content-Length: ${5 << 20}\r\n\r\n${'z'.repeat(1000)}`);
    peer.write('z'.repeat((5 << 20) - 1000));
    await alive('the rest of an oversized message');

    // train/start with wrong types and special paths: an error naming the field, nothing trains.
    const starts: [string, Record<string, unknown>, string, RegExp][] = [
      ['numeric configPath', { runsDir: dir, configPath: 42 }, 'configPath', /configPath must be a string/],
      ['no runsDir', { text }, 'runsDir', /give runsDir/],
      ['runsDir is a file', { text, runsDir: aFile }, 'runsDir', /is a file, not a folder/],
      ['runsDir under a file', { text, runsDir: path.join(aFile, 'runs') }, 'runsDir', /is a file/],
      ['runsDir under /proc', { text, runsDir: '/proc/self/runs' }, 'runsDir', /proc file system/],
      ['runsDir under /sys', { text, runsDir: '/sys/kernel/runs' }, 'runsDir', /(sysfs file system|not writable)/],
      ['config is a FIFO', { runsDir: dir, configPath: fifo }, '', /not a regular file/],
      ['config is /dev/zero', { runsDir: dir, configPath: '/dev/zero' }, '', /not a regular file/],
      ['config is a folder', { runsDir: dir, configPath: dir }, '', /is a folder/],
      ['huge batch size', { runsDir: dir, text: text.replace('"batchSize":32', '"batchSize":1e12') }, 'train.batchSize', /batchSize/],
      ['huge ring', { runsDir: dir, text: text.replace('"dof":100', '"dof":1e15') }, 'rpg.dof', /rpg\.dof/],
      ['unknown backend', { runsDir: dir, text, backend: 'quantum' }, 'backend', /unknown backend/],
      ['resume a non-run', { resumeFrom: dir }, 'resumeFrom', /not a run folder/],
      ['resume under /proc', { resumeFrom: '/proc/1' }, 'resumeFrom', /not a run folder/],
    ];
    for (const [what, params, field, why] of starts) {
      const r = await peer.request(what, 'train/start', params);
      assert.ok(r.error, `${what}: refused, got ${JSON.stringify(r.result)}`);
      if (field) assert.equal(r.error!.data?.field, field, `${what}: ${JSON.stringify(r.error)}`);
      assert.match(r.error!.message, why, what);
      await alive(what);
    }
    assert.equal(peer.exited, false, 'the trainer is still running');
    // Exactly one response per id.
    for (const [id, list] of peer.responses) assert.equal(list.length, 1, `one response to ${JSON.stringify(id)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
