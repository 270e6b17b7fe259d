"""A run folder written without Node (torchrun on a cluster): run.json, metrics.jsonl,
config.rpg.json and run.lock exactly as src/core/runs (folder.ts, lock.ts, train-run.ts) write
them, so a folder copied back (or opened over Remote) shows in the extension like any run.

Only the standalone torchrun mode uses this (rank 0); as a child of the TypeScript trainer the
engine writes no run files: core/runs owns them there.
"""
from __future__ import annotations

import json
import os
import re
import socket
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from .checkpoint import write_file_atomic
from .jsonc import js_stringify

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
RUN_CONFIG_FILE = "config.rpg.json"
LOCK_FILE = "run.lock"


def iso_now() -> str:
    """new Date().toISOString(): UTC, milliseconds, Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_run_id() -> str:
    return re.sub(r"[:.]", "-", iso_now())


def experiment_folder_name(name: Optional[str]) -> str:
    return re.sub(r"^-+|-+$", "", re.sub(r"[^A-Za-z0-9._-]+", "-", name or "")) or "experiment"


def process_alive(pid: int) -> bool:
    """Whether `pid` runs. A zombie (killed, not yet reaped) holds no run: it counts as gone,
    as in src/core/runs/record.ts."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # it exists, owned by someone else
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "r") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunLockedError(Exception):
    pass


class RunLock:
    """run.lock: created with O_EXCL by the one process that writes the run; a lock left by a
    process that died on this host is taken over (lock.ts)."""

    def __init__(self, run_dir: str) -> None:
        self.file = os.path.join(run_dir, LOCK_FILE)
        self.me = {"pid": os.getpid(), "hostname": socket.gethostname(), "startedAt": iso_now()}
        self.took_over_from: Optional[Dict[str, Any]] = None
        self.released = False
        for _ in range(2):
            if self._try_create():
                return
            owner = self._owner()
            if owner is None or owner["hostname"] != self.me["hostname"] or process_alive(owner["pid"]):
                raise RunLockedError(self._locked_message(run_dir, owner))
            self.took_over_from = owner
            try:
                os.unlink(self.file)
            except OSError:
                pass
        raise RunLockedError(self._locked_message(run_dir, self._owner()))

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, (json.dumps(self.me, separators=(",", ":")) + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return True

    def _owner(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.file, "r", encoding="utf-8") as f:
                raw = json.load(f)
            if isinstance(raw.get("pid"), int) and isinstance(raw.get("hostname"), str):
                return {"pid": raw["pid"], "hostname": raw["hostname"], "startedAt": str(raw.get("startedAt", "?"))}
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def _locked_message(self, run_dir: str, owner: Optional[Dict[str, Any]]) -> str:
        if owner is None:
            return f"run {run_dir} is locked by another process ({self.file} is unreadable); if no process trains it, delete that file"
        here = owner["hostname"] == self.me["hostname"]
        where = "this machine" if here else f"host {owner['hostname']}"
        extra = "" if here else f" (or, if that process is gone, delete {self.file})"
        return f"run {run_dir} is being trained by process {owner['pid']} on {where} since {owner['startedAt']}; stop it there first{extra}"

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            with open(self.file, "r", encoding="utf-8") as f:
                now = json.load(f)
            if now.get("pid") == self.me["pid"] and now.get("hostname") == self.me["hostname"] and now.get("startedAt") == self.me["startedAt"]:
                os.unlink(self.file)
        except (OSError, ValueError):
            pass


def _describe(info: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"engine": info["engine"], "backend": info["backend"]}
    if info.get("device"):
        out["device"] = info["device"]
    out.update({"arch": info["arch"], "dataset": info["dataset"], "dof": info["summary"]["dof"], "ringSize": info["summary"]["ringSize"],
                "totalParams": info["summary"]["totalParams"]})
    return out


def _owner() -> Dict[str, Any]:
    return {"pid": os.getpid(), "hostname": socket.gethostname()}


def _strip_owner(record: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("pid", "hostname")}


def _progress(step: int, epoch: float, duration: float, best_acc: Optional[float] = None, final_acc: Optional[float] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {"step": step, "epoch": epoch, "durationSec": duration}
    if best_acc is not None and best_acc > 0:
        out["bestAcc"] = best_acc
    if final_acc is not None:
        out["finalAcc"] = final_acc
    return out


def remove_stale_temp_files(run_dir: str) -> None:
    """Temp files (`<name>.tmp-<pid>`) killed writers left behind (atomic.ts)."""
    try:
        names = os.listdir(run_dir)
    except OSError:
        return
    for name in names:
        m = re.search(r"\.tmp-(\d+)$", name)
        if m and not (int(m.group(1)) != os.getpid() and process_alive(int(m.group(1)))):
            try:
                os.unlink(os.path.join(run_dir, name))
            except OSError:
                pass


class RunFolder:
    """The run record's transitions: created → running → (checkpointed)* → finished | stopped |
    failed, each an atomic rewrite of run.json; rows appended to metrics.jsonl (folder.ts)."""

    def __init__(self, run_dir: str, record: Dict[str, Any], lock: RunLock, created: bool) -> None:
        self.dir = run_dir
        self.record = record
        self.lock = lock
        self.created = created
        self.metrics = os.path.join(run_dir, METRICS_FILE)
        self.best_acc = float(record.get("bestAcc") or 0)

    @staticmethod
    def create(run_dir: str, run_id: str, config: Dict[str, Any], config_path: Optional[str], info: Dict[str, Any]) -> "RunFolder":
        os.makedirs(run_dir, exist_ok=True)
        lock = RunLock(run_dir)
        record: Dict[str, Any] = {"runId": run_id, "name": config.get("name") or "experiment"}
        if config_path:
            record["configPath"] = os.path.abspath(config_path)
        record.update({"config": config, "status": "running", **_describe(info), "startedAt": iso_now(), "durationSec": 0, "step": 0, "epoch": 0,
                       **_owner()})
        folder = RunFolder(run_dir, record, lock, True)
        try:
            with open(os.path.join(run_dir, RUN_CONFIG_FILE), "w", encoding="utf-8") as f:
                f.write(js_stringify(config, 2) + "\n")
            folder.save()
        except BaseException:
            lock.release()
            raise
        return folder

    @staticmethod
    def open(run_dir: str) -> "RunFolder":
        lock = RunLock(run_dir)
        record = read_run_record(run_dir)
        if record is None:
            lock.release()
            raise FileNotFoundError(f"{os.path.join(run_dir, RUN_FILE)} is missing or unreadable: {run_dir} is not a run folder")
        return RunFolder(run_dir, record, lock, False)

    def resume(self, info: Dict[str, Any]) -> None:
        remove_stale_temp_files(self.dir)
        self.truncate_metrics_after(info["startStep"])
        rest = {k: v for k, v in self.record.items() if k not in ("error", "endedAt")}
        rest["status"] = "running"
        rest.update(_describe(info))
        rest.update(_owner())
        self.record = rest
        self.save()

    def save(self) -> None:
        write_file_atomic(os.path.join(self.dir, RUN_FILE), (js_stringify(self.record, 2) + "\n").encode("utf-8"))

    def append_row(self, row: Dict[str, Any]) -> None:
        if row.get("type") == "eval":
            self.best_acc = max(self.best_acc, row["acc"])
        with open(self.metrics, "a", encoding="utf-8") as f:
            f.write(js_stringify(row) + "\n")

    def checkpointed(self, step: int, steps_per_epoch: int, duration: float) -> None:
        self.record.update(_progress(step, step / max(1, steps_per_epoch), duration, self.best_acc))
        self.save()

    def end(self, status: str, step: int, epoch: float, duration: float, best_acc: float, final_acc: float) -> None:
        try:
            self.record = {**_strip_owner(self.record), **_progress(step, epoch, duration, best_acc, final_acc), "status": status, "endedAt": iso_now()}
            self.save()
        finally:
            self.lock.release()

    def fail(self, code: str, message: str, field: Optional[str] = None, progress: Optional[Dict[str, Any]] = None) -> None:
        try:
            if self.record.get("status") != "running":
                return
            error: Dict[str, Any] = {"code": code, "message": message}
            if field:
                error["field"] = field
            self.record = {**_strip_owner(self.record), **(progress or {}), "status": "failed", "endedAt": iso_now(), "error": error}
            self.save()
        except OSError:
            pass
        finally:
            self.lock.release()

    def release(self) -> None:
        self.lock.release()

    def truncate_metrics_after(self, step: int) -> None:
        if not os.path.isfile(self.metrics):
            return
        kept = []
        with open(self.metrics, "r", encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if not line.strip():
                    continue
                try:
                    if json.loads(line)["step"] <= step:
                        kept.append(line)
                except (ValueError, KeyError, TypeError):
                    pass
        write_file_atomic(self.metrics, ("\n".join(kept) + "\n" if kept else "").encode("utf-8"))


def read_run_record(run_dir: str) -> Optional[Dict[str, Any]]:
    try:
        with open(os.path.join(run_dir, RUN_FILE), "r", encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None
