// What the running build carries, so that `rpg info` and the trainer say why a backend is
// missing in words a user can act on. scripts/package-vsix.mjs writes the field
// "rpgPackageTarget" into each .vsix's package.json ({ "target": "universal" | "linux-x64", … });
// a checkout's package.json has none (its addon and Dawn come from npm ci).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface PackageTarget {
  /** 'universal', or the vsce target of a platform .vsix ('linux-x64', …). */
  readonly target: string;
  /** The platform .vsix targets that carry the native addon and Dawn (what to install instead). */
  readonly platformTargets: readonly string[];
}

let cached: PackageTarget | null | undefined;

/** The packaged build's target, or undefined from a checkout (sources or dist/ after npm run build). */
export function packageTarget(): PackageTarget | undefined {
  if (cached === undefined) {
    try {
      // The bundles run from dist/, one folder below the package.json.
      const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { rpgPackageTarget?: PackageTarget };
      cached = pkg.rpgPackageTarget ?? null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

/** This machine as vsce names targets: linux-x64, darwin-arm64, win32-x64, alpine-x64, … */
export function hostTarget(): string {
  return `${process.platform}-${process.arch}`;
}

/** Which .vsix gives `what` on this machine, or that none does yet. */
function otherPackage(p: PackageTarget, what: string): string {
  const host = hostTarget();
  return p.platformTargets.includes(host) ? `install the ${host} .vsix for ${what}` : `no .vsix carries ${what} for ${host} yet`;
}

/** Why a packaged build has no oneDNN addon here (undefined from a checkout); `detail`: the loader's own words. */
export function packagedNativeProblem(detail: string): string | undefined {
  const p = packageTarget();
  if (!p) return undefined;
  // E.g. a system older than the libraries the package carries (glibc < 2.34), or RPG_ONEDNN=0.
  return p.target === hostTarget()
    ? `convolutions: tfjs-wasm — the ${p.target} .vsix's native addon is not in use here (${detail})`
    : `convolutions: tfjs-wasm — this package (${p.target} .vsix) has no native addon for ${hostTarget()}; ${otherPackage(p, 'oneDNN convolutions')}`;
}

/** Why a packaged build has no WebGPU (Dawn) here (undefined from a checkout). */
export function packagedWebGpuProblem(): string | undefined {
  const p = packageTarget();
  if (!p) return undefined;
  return p.target === 'universal'
    ? `not in this package: the universal .vsix leaves out Dawn, whose binary is built per platform (21 MB for linux-x64); ${otherPackage(p, 'WebGPU')}`
    : `not in this package: the ${p.target} .vsix carries Dawn for ${p.target} only, not for ${hostTarget()}`;
}
