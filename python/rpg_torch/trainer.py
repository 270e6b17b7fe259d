"""The training loop of the torch engine, the same loop as src/train/run.ts: one-stage, end to
end, the same steps/epochs/eval/checkpoint policy, the same rows; on one device or as one rank
of a torchrun job (DistributedDataParallel, the global batch split over the ranks).

It talks JSON lines on stdout, one object per line:
  {"event":"start", ...RunStart, "engine":"torch", "device", "threads", "worldSize", "torch"}
  {"event":"row", ...TrainRow}        every step
  {"event":"eval", ...EvalRow}        every evalEvery steps and at every epoch's end
  {"event":"checkpoint","path","step","epoch","bytes"}
  {"event":"log","message"}
  {"event":"done","status":"finished"|"stopped", "steps","epochs","bestAcc","finalAcc","durationSec","checkpoint","runDir"}
  {"event":"error","code","message","field"?,"file"?}
It stops gracefully on SIGTERM/SIGINT or a line "stop" on stdin: the step in flight finishes,
a checkpoint is written, then "done" with status "stopped". With ``write_run_files`` (the
standalone torchrun mode) rank 0 also writes run.json and metrics.jsonl; as a child of the
TypeScript trainer it does not.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from . import checkpoint as ckpt_mod
from .config import ConfigError, validate_config
from .data import Dataset, batch_count, batches, epoch_order, eval_batches
from .devices import DeviceChoice, DeviceError, choose, torch_version_tuple, MIN_TORCH
from .experiment import TrainError, config_error, load_data, resolve
from .jsonc import js_number, js_stringify
from .network import RpgNetwork, to_nchw
from .optimizer import Optimizer, learning_rate
from .plan import content_hash, materialize_plan, materialized_hash
from .runfiles import RunFolder, RunLockedError, experiment_folder_name, new_run_id


# ---- process plumbing -------------------------------------------------------------------------

class StopFlag:
    """Set by SIGTERM/SIGINT, a "stop" line on stdin, or a closed stdout (the parent is gone)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def set(self) -> None:
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def install(self, read_stdin: bool) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.set())
        if read_stdin:
            threading.Thread(target=self._read_stdin, name="rpg-stdin", daemon=True).start()

    def _read_stdin(self) -> None:
        try:
            for line in sys.stdin:
                if line.strip() == "stop":
                    self.set()
                    return
        except (OSError, ValueError):
            return


class Emitter:
    """JSON lines on stdout (rank 0 only); a broken pipe stops training instead of crashing."""

    def __init__(self, enabled: bool, stop: Optional[StopFlag] = None, stream=None) -> None:
        self.enabled = enabled
        self.stop = stop
        self.stream = stream if stream is not None else sys.stdout
        self.lock = threading.Lock()

    def emit(self, obj: Dict[str, Any]) -> None:
        if not self.enabled:
            return
        line = js_stringify(obj) + "\n"
        with self.lock:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.enabled = False
                if self.stop is not None:
                    self.stop.set()

    def log(self, message: str) -> None:
        self.emit({"event": "log", "message": message})


@dataclass
class Job:
    config: Dict[str, Any]
    run_dir: Optional[str] = None  # child mode: the TypeScript side chose it
    runs_dir: Optional[str] = None  # standalone: <runs>/<name>/<run id>
    config_path: Optional[str] = None
    resume: Optional[str] = None  # a checkpoint file or run folder
    embedded_dir: Optional[str] = None
    device: str = "auto"
    threads: Optional[int] = None
    bf16: bool = False
    distributed: bool = False
    write_run_files: bool = False
    spec: Optional[Dict[str, Any]] = None
    run_id: Optional[str] = None


# ---- distributed helpers ----------------------------------------------------------------------

class Dist:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.world = 1
        self.rank = 0
        self.local_rank: Optional[int] = None

    def init(self, choice_kind_hint: str) -> None:
        if not self.enabled:
            return
        import torch.distributed as dist

        if not dist.is_available():
            raise TrainError("backend", "this PyTorch was built without torch.distributed; run without torchrun", "train.engine")
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        backend = "nccl" if choice_kind_hint == "cuda" else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
        self.world = dist.get_world_size()
        self.rank = dist.get_rank()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: List[float], device: torch.device) -> List[float]:
        if self.world == 1:
            return values
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        if self.world == 1:
            return flag
        return self.sum([1.0 if flag else 0.0], device)[0] > 0

    def broadcast(self, obj: Any) -> Any:
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sync_buffers(self, net: torch.nn.Module) -> None:
        """Rank 0's BatchNorm running statistics everywhere (each rank updated its own copy with
        its share of the batch since DDP last broadcast them)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        for buf in net.buffers():
            if buf.dtype.is_floating_point:
                dist.broadcast(buf, 0)

    def shard(self, n: int) -> Tuple[int, int]:
        return (self.rank * n) // self.world, ((self.rank + 1) * n) // self.world

    def close(self) -> None:
        if self.enabled and self.world >= 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


# ---- the loop ---------------------------------------------------------------------------------

def js_str(x: float) -> str:
    """`${x}` in JavaScript (NaN, Infinity, shortest digits)."""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return js_number(x)


def evaluate(net: RpgNetwork, ds: Dataset, device: torch.device, dist: Dist, split: str = "test", batch_size: int = 500,
             autocast: bool = False) -> Tuple[float, float]:
    """Loss and accuracy over a split, BatchNorm in inference mode (session.ts evaluate); under
    torchrun each rank takes every world-th batch and the sums are reduced."""
    was_training = net.training
    net.eval()
    loss_sum = 0.0
    correct = 0.0
    count = 0.0
    with torch.no_grad():
        for b in eval_batches(ds, split, batch_size):
            if b.index % dist.world != dist.rank:
                continue
            x = to_nchw(b.x).to(device)
            y = b.y.to(device)
            with _autocast(device, autocast):
                logits = net(x)
            logits = logits.float()
            loss_sum += float(F.cross_entropy(logits, y)) * b.size
            correct += float((logits.argmax(1) == y).sum())
            count += b.size
    loss_sum, correct, count = dist.sum([loss_sum, correct, count], device)
    net.train(was_training)
    return loss_sum / max(1, count), correct / max(1, count)


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


def run(job: Job, emitter: Emitter, stop: StopFlag) -> int:
    """Trains (or resumes) one run. Returns the process exit code (0 also when stopped)."""
    dist = Dist(job.distributed)
    try:
        if torch_version_tuple() < MIN_TORCH:
            raise TrainError("backend", f"PyTorch {torch.__version__} is too old: the torch engine needs {'.'.join(map(str, MIN_TORCH))} or newer "
                                        "(pip install --upgrade torch)", "train.engine")
        resume_ckpt = None
        resume_file = None
        if job.resume:
            resume_file = job.resume if job.resume.endswith(".bin") else os.path.join(job.resume, ckpt_mod.CHECKPOINT_FILE)
            try:
                resume_ckpt = ckpt_mod.read_checkpoint(resume_file)
            except ckpt_mod.CheckpointError as e:
                raise TrainError("checkpoint", str(e), None, e.file) from None
        try:
            # A resumed run trains the config it was started with (stored in its checkpoint).
            config = validate_config(resume_ckpt.meta.get("config") if resume_ckpt else job.config, job.config_path, trusted=True)
        except ConfigError as e:
            raise config_error(e) from None
        try:
            pref = job.device
            if dist.enabled and torch.cuda.is_available() and pref in ("auto", "cuda"):
                pref = "cuda"
            kind_hint = "cuda" if pref.startswith("cuda") or (pref == "auto" and torch.cuda.is_available()) else "cpu"
            dist.init(kind_hint)
            choice = choose(pref, job.threads, dist.local_rank if dist.enabled and kind_hint == "cuda" else None)
        except DeviceError as e:
            raise TrainError("backend", str(e), "train.engine") from None
        emitter.enabled = emitter.enabled and dist.is_main
        return _train(job, config, resume_ckpt, resume_file, choice, dist, emitter, stop)
    except TrainError as e:
        if dist.is_main:
            emitter.emit(e.event())
        return 1
    except Exception as e:  # noqa: BLE001 - reported, with the stack on stderr
        traceback.print_exc(file=sys.stderr)
        if dist.is_main:
            emitter.emit({"event": "error", "code": "internal", "message": f"{type(e).__name__}: {e}"})
        return 1
    finally:
        dist.close()


def _is_oom(e: BaseException) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(e, oom)) or (isinstance(e, RuntimeError) and "out of memory" in str(e))


def _train(job: Job, config: Dict[str, Any], resume_ckpt, resume_file: Optional[str], choice: DeviceChoice, dist: Dist,
           emitter: Emitter, stop: StopFlag) -> int:
    tc = config["train"]
    ds = load_data(config, job.config_path, job.embedded_dir)
    resolved = resolve(config, ds.height, ds.width, ds.channels, ds.numClasses, job.spec, ds.name)
    materialized = materialize_plan(resolved.plan) if resolved.plan else None
    m_hash = materialized_hash(materialized) if materialized else None
    net = RpgNetwork(resolved.spec, materialized, config["seed"]).to(choice.device)
    optimizer = Optimizer(tc["optimizer"], tc["momentum"], tc["weightDecay"], config["rpg"]["lrNormalization"], net.variables(), net.roles, materialized)

    steps_per_epoch = max(1, batch_count(ds.train.count, tc["batchSize"]))  # core/train/schedule.ts runLength
    total_steps = min(tc.get("maxSteps") or math.inf, steps_per_epoch * tc["epochs"])
    total_steps = int(total_steps)
    eval_every = tc.get("evalEvery")
    checkpoint_every = tc.get("checkpointEvery") or steps_per_epoch
    augment = config["data"]["augment"]

    step = 0
    best_acc = 0.0
    last_acc = 0.0
    elapsed_before = 0.0
    plan_hash = resolved.plan.hash if resolved.plan else None
    if resume_ckpt is not None:
        meta = resume_ckpt.meta
        check_checkpoint_plan(resume_file, meta, resolved.plan, materialized, m_hash, emitter)
        try:
            ckpt_mod.restore_tensors(net.state_tensors(), resume_ckpt, resume_file)
            ckpt_mod.restore_tensors(optimizer.state_tensors(), resume_ckpt, resume_file)
        except ckpt_mod.CheckpointError as e:
            raise TrainError("checkpoint", str(e), None, e.file) from None
        optimizer.step = int(meta.get("optimizerStep", 0))
        step = int(meta.get("step", 0))
        best_acc = float(meta.get("bestAcc", 0))
        last_acc = float(meta.get("lastAcc", 0))
        elapsed_before = float(meta.get("elapsedSec", 0))
        if meta.get("engine", "tfjs") != "torch" or meta.get("backend") != choice.backend:
            emitter.log(f"note: checkpoint written by {meta.get('engine', 'tfjs')}/{meta.get('backend')}, resuming on torch/{choice.backend}; "
                        "results may differ in the last bits")

    # Every rank takes part (DDP broadcasts rank 0's parameters): before the run folder exists.
    model: torch.nn.Module = net
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(net, device_ids=[choice.device.index] if choice.kind == "cuda" else None, broadcast_buffers=True)
    elif choice.kind == "cuda" and choice.gpus > 1:
        model = torch.nn.DataParallel(net)

    # The run folder: given by the TypeScript side (child mode), the resumed one, or a new one.
    if job.run_dir:
        run_dir = os.path.abspath(job.run_dir)
    elif resume_file:
        run_dir = os.path.dirname(os.path.abspath(resume_file))
    else:
        run_id = dist.broadcast(job.run_id or new_run_id())
        run_dir = os.path.join(os.path.abspath(job.runs_dir or "runs"), experiment_folder_name(config.get("name")), run_id)
    run_id = os.path.basename(run_dir)
    if dist.is_main:
        os.makedirs(run_dir, exist_ok=True)
    info = {"engine": "torch", "backend": choice.backend, "device": choice.name, "arch": resolved.spec.arch, "dataset": ds.name,
            "summary": resolved.summary, "totalSteps": total_steps, "stepsPerEpoch": steps_per_epoch, "startStep": step}
    files: Optional[RunFolder] = None
    if job.write_run_files and dist.is_main:
        try:
            if resume_ckpt is not None and os.path.isfile(os.path.join(run_dir, "run.json")):
                files = RunFolder.open(run_dir)
                if files.record.get("status") == "finished":
                    files.release()
                    raise TrainError("config", f"run {run_dir} finished at step {files.record.get('step')}: there is nothing to resume", "resumeFrom")
                if files.lock.took_over_from:
                    emitter.log(f"note: took over the lock of process {files.lock.took_over_from['pid']} ({files.lock.took_over_from['hostname']}), which is gone")
                files.resume(info)
            else:
                files = RunFolder.create(run_dir, run_id, config, job.config_path, info)
        except RunLockedError as e:
            raise TrainError("checkpoint", str(e), None, run_dir) from None

    # EngineRunInfo (src/core/engine.ts), then what a trainer shows of the device.
    emitter.emit({"event": "start", **info, "runDir": run_dir, "runId": run_id, "resumed": resume_ckpt is not None,
                  "deviceKind": choice.kind, "gpus": choice.gpus, "threads": choice.threads, "worldSize": dist.world, "torch": torch.__version__,
                  "planHash": plan_hash, "materializedHash": m_hash, "bf16": bool(job.bf16 and choice.kind == "cuda")})
    emitter.log(f"run {run_id}: {resolved.spec.arch} on {ds.name}, {resolved.summary['dof']:,} DoF, torch {torch.__version__} on "
                f"{choice.name} ({choice.kind}, {choice.threads} threads, world {dist.world}), {total_steps} steps")

    t0 = time.monotonic()

    def elapsed() -> float:
        return elapsed_before + (time.monotonic() - t0)

    checkpoint_path = os.path.join(run_dir, ckpt_mod.CHECKPOINT_FILE)

    def save_checkpoint(epoch: int, batch_in_epoch: int) -> None:
        if not dist.is_main:
            return
        meta = {"formatVersion": 2, "engine": "torch", "backend": choice.backend, "step": step, "epoch": epoch, "batchInEpoch": batch_in_epoch,
                "seed": config["seed"], "planHash": plan_hash, "materializedHash": m_hash,
                "ringSize": resolved.plan.ringSize if resolved.plan else 0, "optimizerStep": optimizer.step, "bestAcc": best_acc,
                "lastAcc": last_acc, "elapsedSec": elapsed(), "config": config, "savedAt": _iso(), "device": choice.name,
                "torch": torch.__version__, "worldSize": dist.world}
        path, nbytes = ckpt_mod.write_checkpoint(run_dir, meta, net.state_tensors() + optimizer.state_tensors())
        if files is not None:
            files.checkpointed(step, steps_per_epoch, meta["elapsedSec"])
        emitter.emit({"event": "checkpoint", "path": path, "step": step, "epoch": epoch, "bytes": nbytes})

    def run_eval(epoch_value: float) -> None:
        nonlocal best_acc, last_acc
        dist.sync_buffers(net)
        loss, acc = evaluate(net, ds, choice.device, dist, "test", 500, job.bf16)
        last_acc = acc
        best_acc = max(best_acc, acc)
        row = {"type": "eval", "step": step, "epoch": epoch_value, "loss": loss, "acc": acc, "time": elapsed()}
        if files is not None:
            files.append_row(row)
        emitter.emit({"event": "eval", **row})

    def progress() -> Dict[str, Any]:
        out: Dict[str, Any] = {"step": step, "epoch": step / steps_per_epoch, "durationSec": elapsed()}
        if files is not None and files.best_acc > 0:
            out["bestAcc"] = files.best_acc
        return out

    window_start = time.monotonic()
    window_samples = 0
    samples_per_sec = 0.0
    stopped = False
    bs = tc["batchSize"]
    try:
        net.train()
        stopped = dist.any(stop.is_set(), choice.device)
        if stopped and step < total_steps:  # stopped while the data loaded: still leave a checkpoint
            save_checkpoint(step // steps_per_epoch, step % steps_per_epoch)
        while step < total_steps and not stopped:
            epoch = step // steps_per_epoch
            start_batch = step % steps_per_epoch
            batch_index = start_batch
            order = epoch_order(config["seed"], epoch, ds.train.count)
            for b in batches(ds, "train", bs, config["seed"], epoch, True, augment, start_batch, order=order):
                lr = learning_rate(tc, step, total_steps)
                loss, hits = _step(model, net, optimizer, b, lr, choice, dist, job.bf16, step)
                step += 1
                batch_index += 1
                if not math.isfinite(loss):
                    hint = ' or use rpg.lrNormalization "projected"' if config["rpg"]["enabled"] and config["rpg"]["lrNormalization"] != "projected" else ""
                    raise TrainError("nan", f"training diverged: the loss became {js_str(loss)} at step {step} (epoch {epoch + 1}); lower train.lr "
                                            f"(now {js_str(lr)}){hint}", "train.lr")
                window_samples += b.size
                now = time.monotonic()
                if now - window_start >= 1.0 or samples_per_sec == 0:
                    samples_per_sec = window_samples / max(1e-3, now - window_start)
                    window_start = now
                    window_samples = 0
                row = {"type": "train", "step": step, "epoch": epoch + batch_index / steps_per_epoch, "progress": step / total_steps,
                       "loss": loss, "acc": hits / b.size, "lr": lr, "samplesPerSec": samples_per_sec, "time": elapsed(),
                       "etaSeconds": ((total_steps - step) * bs) / max(1e-9, samples_per_sec)}
                if files is not None:
                    files.append_row(row)
                emitter.emit({"event": "row", **row})
                epoch_done = batch_index == steps_per_epoch
                if (eval_every is not None and step % eval_every == 0) or epoch_done or step >= total_steps:
                    run_eval(epoch + batch_index / steps_per_epoch)
                stopped = dist.any(stop.is_set(), choice.device)
                if step % checkpoint_every == 0 or epoch_done or step == total_steps or stopped:
                    save_checkpoint(epoch + 1 if epoch_done else epoch, 0 if epoch_done else batch_index)
                if stopped or step >= total_steps:
                    break
    except TrainError as e:
        if files is not None:
            files.fail(e.code, str(e), e.field, progress())
        raise
    except Exception as e:
        if _is_oom(e):
            err = TrainError("backend", f"out of memory on {choice.name} training {resolved.spec.arch} at batch size {bs} "
                                        f"({resolved.summary['totalParams']:,} parameters): lower train.batchSize; the last checkpoint "
                                        f"(step {_last_ckpt_step(checkpoint_path)}) is kept", "train.batchSize")
            if files is not None:
                files.fail(err.code, str(err), err.field, progress())
            raise err from None
        if files is not None:
            files.fail("internal", f"{type(e).__name__}: {e}", None, progress())
        raise
    status = "stopped" if stopped and step < total_steps else "finished"
    if files is not None:
        files.end(status, step, step / steps_per_epoch, elapsed(), best_acc, last_acc)
    emitter.emit({"event": "done", "status": status, "runDir": run_dir, "steps": step, "epochs": step / steps_per_epoch, "bestAcc": best_acc,
                  "finalAcc": last_acc, "durationSec": elapsed(), "checkpoint": checkpoint_path})
    emitter.log(f"run {run_id} {status} after {step} steps: test accuracy {last_acc * 100:.2f}% (best {best_acc * 100:.2f}%)")
    return 0


def check_checkpoint_plan(file: str, meta: Dict[str, Any], plan, materialized, m_hash: Optional[str], emitter: Emitter) -> None:
    """Refuses a checkpoint of another plan (core/checkpoint/file.ts checkCheckpointPlan): the
    plan hash, then whichever of materializedHash (torch, or a tfjs engine that writes it) and
    planContentHash (tfjs) the checkpoint holds, and the ring size."""
    expected = plan.hash if plan else None

    def other(why: str) -> TrainError:
        return TrainError("checkpoint", f"checkpoint {file} was written for a different plan ({why})", None, file)

    if meta.get("planHash") != expected:
        def name(h):
            return "the plain model" if h is None else f"plan {h}"
        raise other(f"{name(meta.get('planHash'))}; the config and seed now give {name(expected)}")
    if plan is None:
        return
    if meta.get("materializedHash") is not None:
        if meta["materializedHash"] != m_hash:
            raise other(f"its indices, signs and scales {meta['materializedHash']} differ from {m_hash}")
    elif meta.get("planContentHash") is not None:
        if materialized.plan.generatedCount > 2_000_000:
            emitter.log(f"checking the checkpoint's plan content hash over {materialized.plan.generatedCount:,} weights (a sequential hash: "
                        "checkpoints that carry materializedHash skip this)")
        ours = content_hash(materialized)
        if meta["planContentHash"] != ours:
            raise other(f"its index and sign arrays {meta['planContentHash']} differ from {ours}: written by another version of the plan algorithm?")
    if meta.get("ringSize") != plan.ringSize:
        raise other(f"a ring of {meta.get('ringSize')} entries; the plan has {plan.ringSize}")


def _last_ckpt_step(path: str) -> str:
    try:
        return str(ckpt_mod.read_checkpoint(path).meta.get("step"))
    except Exception:  # noqa: BLE001
        return "none yet"


def _iso() -> str:
    from .runfiles import iso_now

    return iso_now()


def _step(model: torch.nn.Module, net: RpgNetwork, optimizer: Optimizer, b, lr: float, choice: DeviceChoice, dist: Dist,
          bf16: bool, step: int) -> Tuple[float, float]:
    """One optimization step on batch b (the global batch; under torchrun this rank's share),
    returning the global mean loss and hit count (step.ts trainStep). ``step`` (the steps done
    before this one) seeds the dropout masks, drawn for the global batch: every world size drops
    the same values."""
    g = b.size
    lo, hi = dist.shard(g)
    net.step, net.global_batch = step, g
    weight = 1.0
    if hi > lo:
        x_nhwc, y = b.x[lo:hi], b.y[lo:hi]
        weight = (hi - lo) * dist.world / g
    else:  # fewer examples than ranks: this rank still joins the gradient all-reduce, with weight 0
        x_nhwc, y = b.x[:1], b.y[:1]
        weight = 0.0
    x = to_nchw(x_nhwc).to(choice.device, non_blocking=True)
    y = y.to(choice.device, non_blocking=True)
    optimizer.zero_grad()
    rows = torch.arange(lo, hi) if hi > lo else torch.zeros(1, dtype=torch.int64)
    with _autocast(choice.device, bf16):
        logits = model(x, rows.to(choice.device))
    logits = logits.float()
    loss = F.cross_entropy(logits, y)
    (loss * weight if weight != 1.0 else loss).backward()
    optimizer.apply(lr)
    with torch.no_grad():
        hits = float((logits.argmax(1) == y).sum()) if weight > 0 else 0.0
        local = float(loss) * (hi - lo) if weight > 0 else 0.0
    if dist.world > 1:
        local, hits = dist.sum([local, hits], choice.device)
        return local / g, hits
    return float(loss), hits
