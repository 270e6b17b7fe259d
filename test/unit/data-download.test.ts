import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { digestBytes } from '../../src/core/data/checksums';
import { encodeCifarRecords } from '../../src/core/data/cifar';
import { DownloadError, DownloadProgress, downloadDataset, readTar } from '../../src/core/data/download';
import { encodeIdx } from '../../src/core/data/idx';
import { loadDataset } from '../../src/core/data/index';

const root = mkdtempSync(path.join(os.tmpdir(), 'rpg-data-dl-'));
let server: http.Server;
let base = '';
const served = new Map<string, Buffer>();
const hits: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/hang/')) return; // never answers
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const freshDir = () => path.join(root, `dest${++n}`);

/** A tiny Fashion-MNIST-shaped dataset: 6 train / 2 test images of 2×2. */
function idxFiles(): Record<string, Buffer> {
  return {
    'train-images-idx3-ubyte.gz': gzipSync(encodeIdx('images', new Uint8Array(24).map((_, i) => i * 10), 6, 2, 2)),
    'train-labels-idx1-ubyte.gz': gzipSync(encodeIdx('labels', new Uint8Array([0, 1, 2, 3, 4, 5]), 6)),
    't10k-images-idx3-ubyte.gz': gzipSync(encodeIdx('images', new Uint8Array(8).fill(7), 2, 2, 2)),
    't10k-labels-idx1-ubyte.gz': gzipSync(encodeIdx('labels', new Uint8Array([9, 8]), 2)),
  };
}

function serve(prefix: string, files: Record<string, Buffer>) {
  const checksums: Record<string, { md5: string }> = {};
  for (const [name, body] of Object.entries(files)) {
    served.set(`/${prefix}/${name}`, body);
    checksums[name] = { md5: digestBytes(body).md5 };
  }
  return checksums;
}

/** Minimal ustar writer for test archives. */
function tar(entries: Record<string, Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of Object.entries(entries)) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

test('download: good checksums pass, files land atomically, progress reported, re-run skips', async () => {
  const checksums = serve('fm', idxFiles());
  const dest = freshDir();
  const events: DownloadProgress[] = [];
  const result = await downloadDataset('fashion-mnist', dest, { baseUrl: `${base}/fm/`, checksums, onProgress: (p) => events.push(p) });
  assert.equal(result.dataPath, dest);
  assert.deepEqual(readdirSync(dest).sort(), Object.keys(checksums).sort());
  assert.ok(events.some((e) => e.phase === 'download' && e.received !== undefined));
  assert.ok(events.some((e) => e.phase === 'verify'));
  assert.equal(events.at(-1)!.phase, 'done');
  const ds = await loadDataset({ dataset: 'fashion-mnist', path: dest }, '/');
  assert.deepEqual([ds.train.count, ds.test.count, ds.height], [6, 2, 2]);
  const before = hits.length;
  const again = await downloadDataset('fashion-mnist', dest, { baseUrl: `${base}/fm/`, checksums });
  assert.equal(again.skipped.length, 4);
  assert.equal(hits.length, before, 'no request for verified files');
});

test('download: bad checksum fails clearly and leaves no file', async () => {
  const files = idxFiles();
  const checksums = serve('bad', files);
  checksums['t10k-images-idx3-ubyte.gz'] = { md5: '0'.repeat(32) };
  const dest = freshDir();
  await assert.rejects(
    downloadDataset('mnist', dest, { baseUrl: `${base}/bad`, checksums }),
    (e: unknown) => e instanceof DownloadError && /checksum mismatch for t10k-images-idx3-ubyte\.gz .*md5 [0-9a-f]{32}, expected 0{32}; the file was deleted/.test(e.message),
  );
  const left = readdirSync(dest);
  assert.ok(!left.includes('t10k-images-idx3-ubyte.gz'));
  assert.ok(!left.some((f) => f.includes('.part')), `partial files left: ${left.join(', ')}`);
});

test('download: unreachable host fails fast with the clear message', async () => {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const dest = freshDir();
  await assert.rejects(
    downloadDataset('cifar10', dest, { baseUrl: `http://127.0.0.1:${port}/` }),
    (e: unknown) => e instanceof DownloadError && e.message.startsWith(`cannot reach 127.0.0.1:${port}: no network? Download the files elsewhere and set data.path`),
  );
  assert.ok(!existsSync(dest), 'a failed first download leaves no folder');
  // DNS failure, as seen offline (injected fetch).
  const offlineFetch = (async () => {
    throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND www.cs.toronto.edu'), { code: 'ENOTFOUND' }) });
  }) as unknown as typeof fetch;
  await assert.rejects(downloadDataset('cifar100', freshDir(), { fetchImpl: offlineFetch }), /^DownloadError: cannot reach www\.cs\.toronto\.edu: no network\? .*ENOTFOUND/);
});

test('download: a silent server times out as unreachable; HTTP errors are reported', async () => {
  await assert.rejects(downloadDataset('mnist', freshDir(), { baseUrl: `${base}/hang/`, connectTimeoutMs: 300, checksums: { 'train-images-idx3-ubyte.gz': { md5: 'x' } } }), /cannot reach 127\.0\.0\.1:\d+: no network\?.*no answer within/);
  await assert.rejects(downloadDataset('mnist', freshDir(), { baseUrl: `${base}/missing/` }), /missing\/train-images-idx3-ubyte\.gz: HTTP 404 Not Found/);
});

test('download: CIFAR-10 archive is verified, unpacked and loadable; archive removed', async () => {
  const img = (k: number) => new Uint8Array(k * 3072).map((_, i) => i % 251);
  const members: Record<string, Buffer> = {};
  for (let b = 1; b <= 5; b++) members[`cifar-10-batches-bin/data_batch_${b}.bin`] = encodeCifarRecords('cifar10', img(2), [b, 0]);
  members['cifar-10-batches-bin/test_batch.bin'] = encodeCifarRecords('cifar10', img(1), [3]);
  members['cifar-10-batches-bin/batches.meta.txt'] = Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
  const checksums = serve('toronto', { 'cifar-10-binary.tar.gz': gzipSync(tar(members)) });
  const dest = freshDir();
  const res = await downloadDataset('cifar10', dest, { baseUrl: `${base}/toronto/`, checksums });
  assert.ok(!existsSync(path.join(dest, 'cifar-10-binary.tar.gz')));
  assert.equal(res.files.length, 7);
  const ds = await loadDataset({ dataset: 'cifar10', path: dest }, '/');
  assert.deepEqual([ds.train.count, ds.test.count], [10, 1]);
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 4)), [1, 0, 2, 0]);
});

test('tar reader rejects corrupt headers; unpacking refuses paths outside the folder', async () => {
  const t = tar({ 'a.txt': Buffer.from('hello') });
  assert.deepEqual(readTar(t).map((e) => [e.name, Buffer.from(e.data).toString()]), [['a.txt', 'hello']]);
  t[0] = 0x41;
  assert.throws(() => readTar(t), /corrupt tar header/);
  const evil = serve('evil', { 'cifar-100-binary.tar.gz': gzipSync(tar({ '../escape.bin': Buffer.alloc(3074) })) });
  const dest = freshDir();
  await assert.rejects(downloadDataset('cifar100', dest, { baseUrl: `${base}/evil/`, checksums: evil }), /refusing to unpack "\.\.\/escape\.bin"/);
  assert.ok(!existsSync(path.join(path.dirname(dest), 'escape.bin')));
});
