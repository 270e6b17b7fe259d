// What every dataset loader produces. Pixels stay as bytes (one decoded copy in memory);
// batches are normalized to float32 on the fly.

export interface ImageSplit {
  /** count × height × width × channels bytes, NHWC. */
  readonly pixels: Uint8Array;
  /** count class indices in [0, numClasses). */
  readonly labels: Uint8Array | Uint16Array;
  readonly count: number;
}

export interface Dataset {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames?: string[];
  /** Per-channel mean/std of the training pixels scaled to [0,1], used to normalize batches. */
  readonly mean: number[];
  readonly std: number[];
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

/** Shape facts the language server needs without decoding a dataset. */
export interface DatasetInfo {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly trainCount?: number;
  readonly testCount?: number;
}

export interface Batch {
  /** size × height × width × channels, normalized. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly size: number;
}

/** A dataset file that is missing or malformed: names the file and what was wrong. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DatasetError';
  }
}
