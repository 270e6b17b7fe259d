"""A run folder written without Node (torchrun on a cluster): run.json, metrics.jsonl and
config.rpg.json in exactly the format src/train/run.ts and run-files.ts write, so a folder copied
back (or opened over Remote) shows in the extension like any run.

Only the standalone torchrun mode uses this; as a child of the TypeScript trainer the engine
writes no run files (the TypeScript runs module owns them there).
"""
from __future__ import annotations

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


def iso_now() -> str:
    """new Date().toISOString(): UTC, milliseconds, Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_run_id() -> str:
    return re.sub(r"[:.]", "-", iso_now())


def safe_name(name: str) -> str:
    return re.sub(r"^-+|-+$", "", re.sub(r"[^A-Za-z0-9._-]+", "-", name)) or "experiment"


class RunFiles:
    def __init__(self, run_dir: str, record: Dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.record = record
        self.metrics = os.path.join(run_dir, METRICS_FILE)

    @staticmethod
    def start(run_dir: str, run_id: str, config: Dict[str, Any], config_path: Optional[str], backend: str, summary: Dict[str, Any],
              dataset: str, resume: bool, resume_step: int) -> "RunFiles":
        os.makedirs(run_dir, exist_ok=True)
        existing = read_run_record(run_dir) if resume else None
        owner = {"pid": os.getpid(), "hostname": socket.gethostname()}
        if existing is not None:
            record = dict(existing)
            record["status"] = "running"
            record.update(owner)
            record.pop("error", None)
            record.pop("endedAt", None)
        else:
            record = {"runId": run_id, "name": config.get("name") or "experiment"}
            if config_path:
                record["configPath"] = os.path.abspath(config_path)
            record.update({"config": config, "status": "running", "backend": backend, "arch": summary["arch"], "dataset": dataset,
                           "dof": summary["dof"], "ringSize": summary["ringSize"], "totalParams": summary["totalParams"],
                           "startedAt": iso_now(), "durationSec": 0, "step": 0, "epoch": 0, **owner})
            if not resume:
                with open(os.path.join(run_dir, RUN_CONFIG_FILE), "w", encoding="utf-8") as f:
                    f.write(js_stringify(config, 2) + "\n")
        files = RunFiles(run_dir, record)
        files.write_record()
        if resume:
            files.truncate_metrics_after(resume_step)
        return files

    def write_record(self) -> None:
        write_file_atomic(os.path.join(self.run_dir, RUN_FILE), (js_stringify(self.record, 2) + "\n").encode("utf-8"))

    def append_row(self, row: Dict[str, Any]) -> None:
        with open(self.metrics, "a", encoding="utf-8") as f:
            f.write(js_stringify(row) + "\n")

    def checkpointed(self, step: int, epoch: float, duration: float, best_acc: float) -> None:
        r = self.record
        r["step"] = step
        r["epoch"] = epoch
        r["durationSec"] = duration
        if best_acc > 0:
            r["bestAcc"] = best_acc
        self.write_record()

    def end(self, status: str, step: int, epoch: float, duration: float, best_acc: float, final_acc: float) -> None:
        r = self.record
        self._end_record(status)
        r["durationSec"] = duration
        r["step"] = step
        r["epoch"] = epoch
        r["bestAcc"] = best_acc
        r["finalAcc"] = final_acc
        self.write_record()

    def failed(self, code: str, message: str, field: Optional[str] = None) -> None:
        if self.record.get("status") != "running":
            return
        self._end_record("failed")
        if "error" not in self.record:
            err: Dict[str, Any] = {"code": code, "message": message}
            if field:
                err["field"] = field
            self.record["error"] = err
        try:
            self.write_record()
        except OSError:
            pass

    def _end_record(self, status: str) -> None:
        self.record["status"] = status
        self.record.pop("pid", None)
        self.record.pop("hostname", None)
        self.record["endedAt"] = iso_now()

    def truncate_metrics_after(self, step: int) -> None:
        if not os.path.isfile(self.metrics):
            return
        import json

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
    import json

    try:
        with open(os.path.join(run_dir, RUN_FILE), "r", encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None
