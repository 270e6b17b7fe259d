// Checksums of the canonical dataset files, and where each value comes from. Only published
// values or values verified here are listed.
//
// - MNIST (*.gz): MD5s of the four canonical gzip files as published with the PyTorch mirror
//   (torchvision's MNIST resource table; the same values every MNIST downloader uses).
// - Fashion-MNIST (*.gz): MD5s published in the README of zalandoresearch/fashion-mnist
//   ("Get the Data" table).
// - Fashion-MNIST (decompressed IDX): MD5s as listed by torchvision for the raw files, and
//   SHA-256s computed here. Both were verified against the files of the Debian package
//   dataset-fashion-mnist (0.0~git20200523.55506a9-1). Note that Debian re-compresses the
//   .gz files, so the Debian .gz bytes do NOT match the published .gz MD5s while their
//   contents match the raw checksums exactly.
// - CIFAR-10 / CIFAR-100 binary archives (*.tar.gz): MD5s published on
//   https://www.cs.toronto.edu/~kriz/cifar.html.
import { createHash } from 'node:crypto';

export interface FileChecksum {
  readonly md5?: string;
  readonly sha256?: string;
  /** Exact size in bytes where known (lets a download fail early). */
  readonly size?: number;
}

export type ChecksumTable = Readonly<Record<string, FileChecksum>>;

export const MNIST_GZ: ChecksumTable = {
  'train-images-idx3-ubyte.gz': { md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
  'train-labels-idx1-ubyte.gz': { md5: 'd53e105ee54ea40749a09fcbcd1e9432' },
  't10k-images-idx3-ubyte.gz': { md5: '9fb629c4189551a2d022fa330f9573f3' },
  't10k-labels-idx1-ubyte.gz': { md5: 'ec29112dd5afa0611ce80d1b7f02629c' },
};

export const FASHION_MNIST_GZ: ChecksumTable = {
  'train-images-idx3-ubyte.gz': { md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
  'train-labels-idx1-ubyte.gz': { md5: '25c81989df183df01b3e8a0aad5dffbe' },
  't10k-images-idx3-ubyte.gz': { md5: 'bef4ecab320f06d8554ea6380940ec79' },
  't10k-labels-idx1-ubyte.gz': { md5: 'bb300cfdad3c16e7a12a480ee83cd310' },
};

/** Decompressed Fashion-MNIST IDX files (verified against the Debian package's contents). */
export const FASHION_MNIST_RAW: ChecksumTable = {
  'train-images-idx3-ubyte': {
    md5: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    size: 47_040_016,
  },
  'train-labels-idx1-ubyte': {
    md5: '9018921c3c673c538a1fc5bad174d6f9',
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    size: 60_008,
  },
  't10k-images-idx3-ubyte': {
    md5: '8181f5470baa50b63fa0f6fddb340f0a',
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    size: 7_840_016,
  },
  't10k-labels-idx1-ubyte': {
    md5: '15d484375f8d13e6eb1aabb0c3f46965',
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    size: 10_008,
  },
};

export const CIFAR10_ARCHIVE: ChecksumTable = {
  'cifar-10-binary.tar.gz': { md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
};

export const CIFAR100_ARCHIVE: ChecksumTable = {
  'cifar-100-binary.tar.gz': { md5: '03b5dce01913d631647c71ecec9e9cb8' },
};

/** All checksums by dataset name, canonical file name → checksum. */
export const CHECKSUMS: Readonly<Record<'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar100', ChecksumTable>> = {
  mnist: MNIST_GZ,
  'fashion-mnist': { ...FASHION_MNIST_GZ, ...FASHION_MNIST_RAW },
  cifar10: CIFAR10_ARCHIVE,
  cifar100: CIFAR100_ARCHIVE,
};

/** MD5 and SHA-256 (hex) of a byte buffer. */
export function digestBytes(bytes: Uint8Array): { md5: string; sha256: string } {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Undefined when `actual` satisfies every checksum `expected` lists, else a description of the mismatch. */
export function checksumMismatch(actual: { md5: string; sha256: string; size?: number }, expected: FileChecksum): string | undefined {
  if (expected.size !== undefined && actual.size !== undefined && actual.size !== expected.size) {
    return `size ${actual.size} bytes, expected ${expected.size}`;
  }
  if (expected.sha256 && expected.sha256.toLowerCase() !== actual.sha256) return `sha256 ${actual.sha256}, expected ${expected.sha256.toLowerCase()}`;
  if (expected.md5 && expected.md5.toLowerCase() !== actual.md5) return `md5 ${actual.md5}, expected ${expected.md5.toLowerCase()}`;
  return undefined;
}
