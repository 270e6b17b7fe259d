#!/usr/bin/env bash
# GPU benchmark: ResNet-20 and ResNet-18 (32×32 stem) training throughput on webgpu, plain and RPG,
# next to PyTorch CUDA on the same models when `python3 -c "import torch; torch.cuda.is_available()"`
# holds. Made for a bare Linux GPU machine that has PyTorch and CUDA but no Node:
#
#   on a machine with this repository and `npm ci` done:
#     bench/gpu.sh --pack DIR        packs DIR: this machine's node binary, the bundled benchmark,
#                                    the node_modules files it loads, the Vulkan loader, this script
#     tar czf rpg-gpu-bench.tgz -C DIR .     and copy it to the GPU machine
#   on the GPU machine:
#     tar xzf rpg-gpu-bench.tgz -C bench && bench/gpu.sh [--batch 128] [--steps 20]
#
# There it uses the Vulkan loader it finds (else the packed one) and the NVIDIA Vulkan driver it
# finds (nvidia_icd.json, or one written for libGLX_nvidia.so.0 when a container has the library
# but no json). Without a GPU, for testing: `npm run setup:software-gpu`, export its
# VK_DRIVER_FILES, and `bench/gpu.sh --allow-software --archs lenet5 --batch 8 --steps 2`
# (from the repository it packs into $TMPDIR/rpg-gpu-bench and runs the packed copy).
#
# Options: --archs LIST (resnet20,resnet18) --batch N (128) --steps N (20) --warmup N (3)
#          --allow-software (run on a software adapter; its figures are not GPU figures)
#          --pack DIR (repository only: pack and stop)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
say() { printf 'gpu.sh: %s\n' "$*" >&2; }

# ---- in the repository: build, pack, then run the packed copy (what a GPU machine runs) --------
if [ ! -f "$here/dist/gpu-bench.js" ]; then
  repo="$(cd "$here/.." && pwd)"
  pack_only=""
  args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --pack) pack_only="${2:?--pack needs a folder}"; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  [ -d "$repo/node_modules" ] || { say "run npm ci in $repo first"; exit 1; }
  (cd "$repo" && npm run -s build)
  # Outside the repository: nothing missing from the pack can be found in its node_modules.
  dest="${pack_only:-${TMPDIR:-/tmp}/rpg-gpu-bench}"
  node "$repo/bench/gpu-pack.mjs" "$dest" >&2
  if [ -n "$pack_only" ]; then
    say "packed into $dest; copy it to the GPU machine (tar czf rpg-gpu-bench.tgz -C $dest .) and run its gpu.sh"
    exit 0
  fi
  exec "$dest/gpu.sh" ${args[@]+"${args[@]}"}
fi

# ---- packed: find Vulkan, run webgpu, then PyTorch CUDA ---------------------------------------
archs="resnet20,resnet18"; batch=128; steps=20; warmup=3; allow_software=""
while [ $# -gt 0 ]; do
  case "$1" in
    --archs) archs="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --allow-software) allow_software="--allow-software"; shift ;;
    *) say "unknown option $1"; exit 2 ;;
  esac
done
[ "$(uname -s)" = Linux ] || { say "this script is for Linux GPU machines"; exit 2; }

lib_dirs=(/usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib)
find_lib() { # soname → path of the first copy the dynamic linker would see, or nothing
  local hit
  hit="$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true) | awk -v n="$1" '$1 == n { print $NF; exit }')"
  if [ -n "$hit" ]; then echo "$hit"; return; fi
  local d
  for d in ${LD_LIBRARY_PATH//:/ } "${lib_dirs[@]}"; do [ -e "$d/$1" ] && { echo "$d/$1"; return; }; done
  return 0
}

loader="$(find_lib libvulkan.so.1)"
if [ -n "$loader" ]; then
  say "Vulkan loader: $loader"
elif [ -f "$here/lib/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "Vulkan loader: none installed, using the packed one ($here/lib/libvulkan.so.1)"
else
  say "no Vulkan loader (libvulkan.so.1): install libvulkan1"; exit 1
fi

if [ -n "${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}" ]; then
  say "Vulkan driver(s) from the environment: ${VK_DRIVER_FILES:-$VK_ICD_FILENAMES}"
else
  icd=""
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for f in "$d"/nvidia_icd*.json; do [ -f "$f" ] && { icd="$f"; break 2; }; done
  done
  if [ -z "$icd" ]; then
    glx="$(find_lib libGLX_nvidia.so.0)"
    if [ -n "$glx" ]; then
      # A container with the driver's libraries but not its ICD json (NVIDIA's Vulkan driver
      # lives in libGLX_nvidia.so.0).
      icd="$here/nvidia_icd.json"
      printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$glx" >"$icd"
      say "NVIDIA Vulkan driver: $glx (wrote $icd)"
    elif command -v nvidia-smi >/dev/null 2>&1; then
      say "nvidia-smi works but the driver's Vulkan part (libGLX_nvidia.so.0) is missing; in a container set NVIDIA_DRIVER_CAPABILITIES=all (or include graphics)"
    fi
  else
    say "NVIDIA Vulkan driver: $icd"
  fi
  # Only NVIDIA's driver: a software driver installed next to it must not be picked instead.
  [ -n "$icd" ] && export VK_DRIVER_FILES="$icd"
fi

torch_json="$(mktemp)"
trap 'rm -f "$torch_json"' EXIT
py="${PYTHON:-python3}"
if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "PyTorch CUDA: $("$py" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))')"
  "$py" "$here/pytorch_rpg.py" --device cuda --archs "$archs" --batch "$batch" --steps "$steps" --warmup "$warmup" >"$torch_json" || { say "the PyTorch reference failed"; : >"$torch_json"; }
else
  say "PyTorch with CUDA is not available to $py: webgpu rows only"
fi

status=0
"$here/node" "$here/dist/gpu-bench.js" --archs "$archs" --batch "$batch" --steps "$steps" --warmup "$warmup" --torch-json "$torch_json" $allow_software || status=$?
exit "$status"
