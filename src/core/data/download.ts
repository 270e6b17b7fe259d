// `rpg data download NAME`: fetches the canonical files of a dataset with Node's fetch,
// verifies their checksums (checksums.ts), writes them atomically (temporary file +
// rename, removed on any failure), and for CIFAR unpacks the binary archive. The folder it
// fills is what data.path should point at.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { CHECKSUMS, ChecksumTable, checksumMismatch, FileChecksum } from './checksums';
import { CIFAR_LAYOUT, describeCifar } from './cifar';
import { describeIdxDataset } from './idx';

export type DownloadableDataset = 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar100';
export const DOWNLOADABLE_DATASETS: readonly DownloadableDataset[] = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100'];

export interface DownloadSource {
  /** Folder URL the file names are appended to (ends with '/'). */
  readonly baseUrl: string;
  readonly files: readonly string[];
  /** The file is a .tar.gz to unpack into the destination folder (CIFAR). */
  readonly archive: boolean;
  /** Where the files come from, for messages and docs. */
  readonly origin: string;
}

/** The canonical locations, one table. */
export const DOWNLOAD_SOURCES: Readonly<Record<DownloadableDataset, DownloadSource>> = {
  mnist: {
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
    archive: false,
    origin: 'PyTorch mirror of yann.lecun.com/exdb/mnist',
  },
  'fashion-mnist': {
    baseUrl: 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    files: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
    archive: false,
    origin: 'zalandoresearch/fashion-mnist on GitHub (also http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)',
  },
  cifar10: {
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: ['cifar-10-binary.tar.gz'],
    archive: true,
    origin: 'https://www.cs.toronto.edu/~kriz/cifar.html',
  },
  cifar100: {
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: ['cifar-100-binary.tar.gz'],
    archive: true,
    origin: 'https://www.cs.toronto.edu/~kriz/cifar.html',
  },
};

export type DownloadPhase = 'check' | 'skip' | 'download' | 'verify' | 'extract' | 'done';

export interface DownloadProgress {
  readonly phase: DownloadPhase;
  readonly file: string;
  /** Bytes received so far (download phase). */
  readonly received?: number;
  /** Content-Length when the server sent one. */
  readonly total?: number;
  readonly message: string;
}

export interface DownloadOptions {
  /** Replaces the source's baseUrl (a mirror, or a local test server). */
  readonly baseUrl?: string;
  /** Replaces globalThis.fetch. */
  readonly fetchImpl?: typeof fetch;
  /** Replaces the built-in checksum table for this download (file name → checksum). */
  readonly checksums?: ChecksumTable;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Give up when no response headers arrive within this time (default 15 s). */
  readonly connectTimeoutMs?: number;
  /** Give up when the body stalls this long (default 60 s). */
  readonly stallTimeoutMs?: number;
  /** Keep the CIFAR .tar.gz after unpacking (default false). */
  readonly keepArchive?: boolean;
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  /** The folder to use as data.path. */
  readonly dataPath: string;
  /** Files written or found valid, absolute. */
  readonly files: string[];
  /** Files that were already present and valid. */
  readonly skipped: string[];
}

export class DownloadError extends Error {
  constructor(message: string, readonly url?: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'CERT_HAS_EXPIRED', 'EPROTO']);

function unreachable(url: string, detail: string): DownloadError {
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the raw URL
  }
  return new DownloadError(`cannot reach ${host}: no network? Download the files elsewhere and set data.path (${detail})`, url);
}

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

async function digestFile(file: string): Promise<{ md5: string; sha256: string; size: number } | undefined> {
  let fh;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      md5.update(buf.subarray(0, bytesRead));
      sha.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { md5: md5.digest('hex'), sha256: sha.digest('hex'), size };
  } finally {
    await fh.close();
  }
}

let tmpCounter = 0;
function tempName(file: string): string {
  return `${file}.part-${process.pid}-${++tmpCounter}`;
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.rm(file, { force: true }).catch(() => undefined);
}

/** Fetches `url` into `dest` atomically, verifying `expected`. */
async function fetchVerified(url: string, dest: string, expected: FileChecksum, opts: DownloadOptions, progress: (p: DownloadProgress) => void): Promise<void> {
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch;
  const name = path.basename(dest);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut: 'connect' | 'stall' | undefined;
  const arm = (ms: number, kind: 'connect' | 'stall') => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = kind;
      controller.abort(new Error(`${kind} timeout`));
    }, ms);
  };
  const tmp = tempName(dest);
  let ok = false;
  try {
    arm(opts.connectTimeoutMs ?? 15_000, 'connect');
    let response: Response;
    try {
      response = await fetchImpl(url, { signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      if (opts.signal?.aborted) throw new DownloadError(`download of ${name} cancelled`, url);
      const code = errorCode(e);
      if (timedOut === 'connect') throw unreachable(url, `no answer within ${Math.round((opts.connectTimeoutMs ?? 15_000) / 1000)} s`);
      if (code === undefined || NETWORK_CODES.has(code) || /fetch failed/i.test((e as Error).message)) throw unreachable(url, code ?? (e as Error).message);
      throw new DownloadError(`${url}: ${(e as Error).message}`, url);
    }
    if (!response.ok) throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`.trim(), url);
    const lengthHeader = response.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (total !== undefined && expected.size !== undefined && total !== expected.size) {
      throw new DownloadError(`${url}: the server announces ${total} bytes but ${name} has ${expected.size}`, url);
    }
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    let received = 0;
    let lastReport = 0;
    const fh = await fsp.open(tmp, 'w');
    try {
      progress({ phase: 'download', file: name, received: 0, total, message: `downloading ${url}` });
      const stall = opts.stallTimeoutMs ?? 60_000;
      arm(stall, 'stall');
      if (response.body) {
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            arm(stall, 'stall');
            md5.update(chunk);
            sha.update(chunk);
            await fh.write(chunk);
            received += chunk.length;
            const now = Date.now();
            if (now - lastReport >= 250) {
              lastReport = now;
              progress({ phase: 'download', file: name, received, total, message: `${name}: ${formatBytes(received)}${total ? ` of ${formatBytes(total)}` : ''}` });
            }
          }
        } catch (e) {
          if (opts.signal?.aborted) throw new DownloadError(`download of ${name} cancelled`, url);
          if (timedOut === 'stall') throw new DownloadError(`${url}: no data for ${Math.round(stall / 1000)} s, giving up`, url);
          throw new DownloadError(`${url}: connection lost after ${formatBytes(received)} (${errorCode(e) ?? (e as Error).message})`, url);
        }
      }
    } finally {
      await fh.close();
    }
    if (timer) clearTimeout(timer);
    progress({ phase: 'download', file: name, received, total, message: `${name}: ${formatBytes(received)} received` });
    if (total !== undefined && received !== total) throw new DownloadError(`${url}: incomplete download, ${received} of ${total} bytes`, url);
    progress({ phase: 'verify', file: name, message: `verifying ${name}` });
    const mismatch = checksumMismatch({ md5: md5.digest('hex'), sha256: sha.digest('hex'), size: received }, expected);
    if (mismatch) throw new DownloadError(`checksum mismatch for ${name} from ${url}: ${mismatch}; the file was deleted`, url);
    await fsp.rename(tmp, dest);
    ok = true;
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    if (!ok) await removeQuietly(tmp);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

// ---- tar (ustar / GNU) reader, just enough for the CIFAR archives ----

export interface TarEntry {
  readonly name: string;
  readonly type: 'file' | 'dir' | 'other';
  readonly data: Uint8Array;
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
}

function octal(bytes: Uint8Array, start: number, length: number): number {
  if (bytes[start]! & 0x80) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = start + 1; i < start + length; i++) v = v * 256 + bytes[i]!;
    return v;
  }
  const s = cString(bytes, start, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Entries of an uncompressed tar archive; throws on a corrupt header. */
export function readTar(tar: Uint8Array, archiveName = 'archive'): TarEntry[] {
  const out: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const stored = octal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== stored) throw new DownloadError(`${archiveName}: corrupt tar header at byte ${pos}`);
    const size = octal(h, 124, 12);
    const flag = String.fromCharCode(h[156]!);
    const dataStart = pos + 512;
    if (dataStart + size > tar.length) throw new DownloadError(`${archiveName}: truncated tar archive`);
    const data = tar.subarray(dataStart, dataStart + size);
    pos = dataStart + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (flag === 'x') {
      const text = Buffer.from(data).toString('utf8');
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
      if (m) paxPath = m[1];
      continue;
    }
    if (flag === 'g') continue;
    const magic = cString(h, 257, 6);
    const prefix = magic.startsWith('ustar') ? cString(h, 345, 155) : '';
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    longName = undefined;
    paxPath = undefined;
    out.push({ name, type: flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : 'other', data });
  }
  return out;
}

/** A safe relative path inside the destination, or undefined for anything that could escape. */
function safeRelative(name: string): string | undefined {
  const norm = name.replace(/\\/g, '/').replace(/^\.\//, '');
  if (norm === '' || norm.startsWith('/') || /^[A-Za-z]:/.test(norm)) return undefined;
  const parts = norm.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join(path.sep);
}

const gunzipAsync = promisify(zlib.gunzip);

async function extractTarGz(archive: string, destDir: string, progress: (p: DownloadProgress) => void): Promise<string[]> {
  const name = path.basename(archive);
  progress({ phase: 'extract', file: name, message: `unpacking ${name}` });
  let tar: Buffer;
  try {
    tar = await gunzipAsync(await fsp.readFile(archive));
  } catch (e) {
    throw new DownloadError(`${name}: cannot decompress (${(e as Error).message})`);
  }
  const written: string[] = [];
  for (const entry of readTar(tar, name)) {
    if (entry.type !== 'file') continue;
    const rel = safeRelative(entry.name);
    if (!rel) throw new DownloadError(`${name}: refusing to unpack "${entry.name}" outside the destination folder`);
    const dest = path.join(destDir, rel);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempName(dest);
    try {
      await fsp.writeFile(tmp, entry.data);
      await fsp.rename(tmp, dest);
    } catch (e) {
      await removeQuietly(tmp);
      throw e;
    }
    written.push(dest);
  }
  return written;
}

function alreadyComplete(name: DownloadableDataset, destDir: string): boolean {
  try {
    if (name === 'cifar10' || name === 'cifar100') {
      const s = describeCifar(destDir, name);
      return s.trainCount === 50_000 && s.testCount === 10_000;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * Downloads dataset `name` into `destDir` (created if needed) and returns the folder to use as
 * data.path. Files already present with the right checksum are kept. Any failure leaves no
 * partial file behind. Without network it fails within connectTimeoutMs with
 * "cannot reach <host>: no network? Download the files elsewhere and set data.path".
 */
export async function downloadDataset(name: DownloadableDataset, destDir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const source = DOWNLOAD_SOURCES[name];
  if (!source) throw new DownloadError(`unknown dataset "${String(name)}": expected one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  const table = opts.checksums ?? CHECKSUMS[name];
  const progress = opts.onProgress ?? (() => undefined);
  const dir = path.resolve(destDir);
  const created = await fsp.mkdir(dir, { recursive: true });
  try {
    return await downloadInto(name, source, dir, table, opts, progress);
  } catch (e) {
    // Leave no trace of a failed first download: remove the folder if we made it and it is empty.
    if (created !== undefined) await fsp.rmdir(dir).catch(() => undefined);
    throw e;
  }
}

async function downloadInto(name: DownloadableDataset, source: DownloadSource, dir: string, table: ChecksumTable, opts: DownloadOptions, progress: (p: DownloadProgress) => void): Promise<DownloadResult> {
  const baseUrl = opts.baseUrl ?? source.baseUrl;
  const files: string[] = [];
  const skipped: string[] = [];

  if (source.archive && alreadyComplete(name, dir)) {
    const sub = path.join(dir, CIFAR_LAYOUT[name as 'cifar10' | 'cifar100'].subdir);
    progress({ phase: 'skip', file: sub, message: `${name} is already unpacked in ${dir}` });
    return { dataPath: dir, files: [], skipped: [sub] };
  }

  for (const file of source.files) {
    const expected = table[file];
    if (!expected || (!expected.md5 && !expected.sha256)) throw new DownloadError(`no checksum known for ${file}: refusing to download it unverified`);
    const dest = path.join(dir, file);
    const url = new URL(file, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
    progress({ phase: 'check', file, message: `checking ${dest}` });
    const existing = await digestFile(dest);
    if (existing && !checksumMismatch(existing, expected)) {
      progress({ phase: 'skip', file, message: `${file} already present and verified` });
      skipped.push(dest);
    } else {
      await fetchVerified(url, dest, expected, opts, progress);
    }
    files.push(dest);
    if (source.archive) {
      const unpacked = await extractTarGz(dest, dir, progress);
      if (!opts.keepArchive) {
        await removeQuietly(dest);
        files.pop();
      }
      files.push(...unpacked);
    }
  }

  // Prove the result loads (headers / sizes only).
  try {
    if (name === 'mnist' || name === 'fashion-mnist') describeIdxDataset(dir);
    else describeCifar(dir, name);
  } catch (e) {
    throw new DownloadError(`downloaded files do not form a valid ${name} dataset: ${(e as Error).message}`);
  }
  progress({ phase: 'done', file: dir, message: `${name} ready in ${dir} (set data.path to this folder)` });
  return { dataPath: dir, files, skipped };
}
