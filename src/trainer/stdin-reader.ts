// A JSON-RPC message reader for the trainer's stdin that survives bad input. The stock
// vscode-jsonrpc reader buffers anything without a header terminator forever and cannot find
// its way back after a malformed header; a trainer that a stray write can wedge is worse than
// none. This reader frames `Content-Length` messages like the stock one, and on anything else:
//   - bytes that are not a header are skipped up to the next "Content-Length:" line;
//   - a header block without a usable length is dropped;
//   - a body over `maxMessageBytes` is skipped as it streams in (never buffered);
//   - a body that is not JSON is dropped.
// Each case is reported once through `onSkip`; the stream stays usable for the next message.
import { AbstractMessageReader, DataCallback, Disposable, Message } from 'vscode-jsonrpc';

export interface ResilientReaderOptions {
  /** Bodies larger than this are skipped (default 64 MiB). */
  readonly maxMessageBytes?: number;
  /** Called once per skipped stretch of input, with why and how many bytes. */
  readonly onSkip?: (reason: string, bytes: number) => void;
}

const HEADER_NAME = Buffer.from('content-length:');
const HEADER_END = Buffer.from('\r\n\r\n');
/** A header block longer than this is not a header. */
const MAX_HEADER_BYTES = 8 * 1024;

export class ResilientMessageReader extends AbstractMessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized body still to be discarded as they arrive. */
  private discardRemaining = 0;
  private callback: DataCallback | undefined;
  private readonly maxMessageBytes: number;
  private readonly onSkip: (reason: string, bytes: number) => void;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    options: ResilientReaderOptions = {},
  ) {
    super();
    this.maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.onSkip = options.onSkip ?? (() => undefined);
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer | string) => this.receive(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    const onError = (err: Error) => this.fireError(err);
    const onEnd = () => this.fireClose();
    this.input.on('data', onData);
    this.input.on('error', onError);
    this.input.on('end', onEnd);
    this.input.on('close', onEnd);
    return Disposable.create(() => {
      this.input.off('data', onData);
      this.input.off('error', onError);
      this.input.off('end', onEnd);
      this.input.off('close', onEnd);
    });
  }

  private receive(chunk: Buffer): void {
    if (this.discardRemaining > 0) {
      const drop = Math.min(this.discardRemaining, chunk.length);
      this.discardRemaining -= drop;
      chunk = chunk.subarray(drop);
      if (chunk.length === 0) return;
    }
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length && this.discardRemaining === 0 && this.readOne()) {
      // keep framing while whole messages are buffered
    }
  }

  /** Consumes one message (or one stretch of junk) from the buffer; false when more input is needed. */
  private readOne(): boolean {
    const start = indexOfIgnoreCase(this.buffer, HEADER_NAME);
    if (start < 0) {
      // Keep a tail that may be the beginning of a header split across chunks.
      const keep = Math.min(this.buffer.length, HEADER_NAME.length - 1);
      this.skip(this.buffer.length - keep, 'input that is not a JSON-RPC header');
      return false;
    }
    if (start > 0) {
      // Resynchronize on the header name even mid-line: junk glued to a message must not eat it.
      this.skip(start, 'input that is not a JSON-RPC header');
      return true;
    }
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0 || headerEnd > MAX_HEADER_BYTES) {
      if (this.buffer.length <= MAX_HEADER_BYTES) return false;
      this.skip(HEADER_NAME.length, 'a header block without an end');
      return true;
    }
    const length = contentLength(this.buffer.subarray(0, headerEnd).toString('latin1'));
    const bodyStart = headerEnd + HEADER_END.length;
    if (length === undefined) {
      this.skip(bodyStart, 'a header without a valid Content-Length');
      return true;
    }
    if (length > this.maxMessageBytes) {
      const available = Math.min(length, this.buffer.length - bodyStart);
      this.skip(bodyStart + available, `a ${length}-byte message (limit ${this.maxMessageBytes})`);
      this.discardRemaining = length - available;
      return true;
    }
    if (this.buffer.length < bodyStart + length) return false;
    const body = this.buffer.subarray(bodyStart, bodyStart + length).toString('utf8');
    this.buffer = this.buffer.subarray(bodyStart + length);
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      this.onSkip('a message body that is not JSON', length);
      return true;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.onSkip('a message that is not a JSON-RPC object', length);
      return true;
    }
    this.callback?.(asAnswerable(message as Record<string, unknown>));
    return true;
  }

  private skip(bytes: number, reason: string): void {
    if (bytes <= 0) return;
    this.buffer = this.buffer.subarray(bytes);
    this.onSkip(reason, bytes);
  }
}

/** Content-Length of a header block, or undefined when missing or not a non-negative integer. */
function contentLength(headers: string): number | undefined {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) return undefined;
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    return /^\d{1,15}$/.test(value) ? Number(value) : undefined;
  }
  return undefined;
}

function indexOfIgnoreCase(haystack: Buffer, lowerNeedle: Buffer): number {
  const first = lowerNeedle[0]!;
  outer: for (let i = 0; i + lowerNeedle.length <= haystack.length; i++) {
    if ((haystack[i]! | 0x20) !== first) continue;
    for (let k = 1; k < lowerNeedle.length; k++) {
      const c = haystack[i + k]!;
      const lower = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      if (lower !== lowerNeedle[k]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * The method a malformed request is routed to, so that it still gets an answer: every message
 * with an id must be answered (JSON-RPC 2.0), and vscode-jsonrpc drops one whose method is not
 * a string without a word. main.ts answers this method with an InvalidRequest error.
 */
export const INVALID_REQUEST_METHOD = '$/rpg/invalidRequest';

/** A request with an id but no usable method becomes a request for INVALID_REQUEST_METHOD. */
function asAnswerable(m: Record<string, unknown>): Message {
  const hasId = typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id));
  if (!hasId) return m as unknown as Message;
  let reason: string | undefined;
  if ('method' in m && typeof m.method !== 'string') reason = `"method" must be a string, got ${m.method === null ? 'null' : typeof m.method}`;
  else if (!('method' in m) && !('result' in m) && !('error' in m)) reason = 'a request needs a "method" (a message with an id and neither "method", "result" nor "error")';
  else if ('method' in m && 'params' in m && m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) reason = `"params" must be an object or an array, got ${m.params === null ? 'null' : typeof m.params}`;
  if (!reason) return m as unknown as Message;
  return { jsonrpc: '2.0', id: m.id, method: INVALID_REQUEST_METHOD, params: { reason } } as unknown as Message;
}
