"""The engine as the TypeScript trainer runs it: `python -m rpg_torch train --job JOB.json`,
JSON lines on stdout, graceful stop (stdin "stop" or SIGTERM) with a checkpoint, bit-exact
resume, and errors as one event naming the field."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

import _helpers
from _helpers import events, run_job

from rpg_torch.checkpoint import read_checkpoint


def config(**train):
    return {"name": "tiny", "seed": 3, "model": {"arch": "mlp", "hidden": [32]}, "rpg": {"dof": 500},
            "data": {"dataset": "mnist-embedded", "trainSize": 256, "testSize": 64},
            "train": {"optimizer": "adam", "lr": 0.003, "batchSize": 32, "epochs": 2, **train}}


@unittest.skipUnless(_helpers.HAVE_DIGITS, _helpers.NO_DIGITS)
class Protocol(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def job(self, cfg, run="run", **extra):
        return {"config": cfg, "runDir": os.path.join(self.d, run), "device": "cpu", "threads": 1, **extra}

    def test_events_checkpoint_and_no_run_files(self):
        r = run_job(self.job(config(evalEvery=4)), os.path.join(self.d, "job.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        ev = events(r.stdout)
        kinds = [e["event"] for e in ev if e["event"] != "log"]
        self.assertEqual(kinds[0], "start")
        self.assertEqual(kinds[-1], "done")
        start = ev[0]
        self.assertEqual((start["totalSteps"], start["stepsPerEpoch"], start["startStep"], start["resumed"]), (16, 8, 0, False))
        self.assertEqual(start["summary"]["ringSize"], 500)
        rows = [e for e in ev if e["event"] == "row"]
        self.assertEqual([e["step"] for e in rows], list(range(1, 17)))
        self.assertEqual(set(rows[0]), {"event", "type", "step", "epoch", "progress", "loss", "acc", "lr", "samplesPerSec", "time", "etaSeconds"})
        self.assertEqual([e["step"] for e in ev if e["event"] == "eval"], [4, 8, 12, 16])
        self.assertEqual([e["step"] for e in ev if e["event"] == "checkpoint"], [8, 16])
        self.assertLess(rows[-1]["loss"], rows[0]["loss"])
        done = ev[-2] if ev[-1]["event"] == "log" else ev[-1]
        self.assertEqual((done["status"], done["steps"], done["epochs"]), ("finished", 16, 2))
        run_dir = os.path.join(self.d, "run")
        self.assertEqual(sorted(os.listdir(run_dir)), ["checkpoint.bin"])  # run.json/metrics.jsonl are the TypeScript side's
        ck = read_checkpoint(run_dir)
        m = ck.meta
        self.assertEqual((m["formatVersion"], m["engine"], m["step"], m["epoch"], m["batchInEpoch"], m["optimizerStep"]), (2, "torch", 16, 2, 0, 16))
        self.assertEqual(m["planHash"], start["planHash"])
        self.assertEqual(m["materializedHash"], start["materializedHash"])
        self.assertEqual(list(ck.tensors), ["ring", "fc1.bias", "fc2.bias", "ring/m", "ring/v", "fc1.bias/m", "fc1.bias/v", "fc2.bias/m", "fc2.bias/v"])

    def test_stop_then_resume_is_bit_exact(self):
        self.stop_then_resume(config(maxSteps=900, epochs=200, evalEvery=300, checkpointEvery=300))

    def test_dropout_masks_follow_the_step_across_a_resume(self):
        # A ViT with dropout, given as the resolved spec the TypeScript side sends: the resumed
        # steps draw the masks of their own step numbers, so the losses are the uninterrupted run's.
        from rpg_torch.config import validate_config
        from rpg_torch.models import build_model_spec
        cfg = config(maxSteps=900, epochs=200, evalEvery=300, checkpointEvery=300, batchSize=8)
        cfg["model"] = {"arch": "vit", "vit": {"patch": 7, "dim": 8, "depth": 1, "heads": 2, "mlpDim": 8, "dropout": 0.3}}
        cfg["rpg"] = {"dof": 100}
        spec = build_model_spec(validate_config(cfg)["model"], 28, 28, 1, 10).to_json()
        self.assertIn("dropout", [op["op"] for op in spec["ops"]])
        self.stop_then_resume(cfg, spec=spec)

    def stop_then_resume(self, cfg, **extra):
        whole = run_job(self.job(cfg, "whole", **extra), os.path.join(self.d, "whole.json"))
        self.assertEqual(whole.returncode, 0, whole.stderr)
        whole_rows = {e["step"]: e["loss"] for e in events(whole.stdout) if e["event"] == "row"}
        self.assertEqual(len(whole_rows), 900)

        job_file = os.path.join(self.d, "a.json")
        with open(job_file, "w") as f:
            json.dump(self.job(cfg, "a", **extra), f)
        seen = []
        child = subprocess.Popen([sys.executable, "-m", "rpg_torch", "train", "--job", job_file], cwd=_helpers.PYTHON_DIR, env=_helpers.env(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (child.stdin.close(), child.stdout.close()))
        # Ask to stop once step 5 is reported. The child can run ahead of us by at most what the
        # stdout pipe holds (~64 KiB, ~250 rows), far less than the 900 steps: it stops early.
        for line in child.stdout:
            e = json.loads(line)
            seen.append(e)
            if e["event"] == "row" and e["step"] == 5:
                child.stdin.write("stop\n")
                child.stdin.flush()
        child.wait(timeout=300)
        self.assertEqual(child.returncode, 0)
        done = [e for e in seen if e["event"] == "done"][0]
        self.assertEqual(done["status"], "stopped")
        stopped_at = done["steps"]
        self.assertTrue(5 <= stopped_at < 900)
        self.assertEqual([e for e in seen if e["event"] == "checkpoint"][-1]["step"], stopped_at)

        r = run_job(self.job(cfg, "a", resume=os.path.join(self.d, "a", "checkpoint.bin"), **extra), os.path.join(self.d, "b.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        ev = events(r.stdout)
        self.assertEqual((ev[0]["startStep"], ev[0]["resumed"]), (stopped_at, True))
        resumed = {e["step"]: e["loss"] for e in ev if e["event"] == "row"}
        self.assertEqual(min(resumed), stopped_at + 1)
        self.assertEqual(max(resumed), 900)
        for step, loss in resumed.items():
            self.assertEqual(loss, whole_rows[step], f"step {step}")

    def test_sigterm_stops_with_a_checkpoint(self):
        cfg = config(maxSteps=900, epochs=200, evalEvery=1000, checkpointEvery=1000)
        job_file = os.path.join(self.d, "t.json")
        with open(job_file, "w") as f:
            json.dump(self.job(cfg, "t"), f)
        child = subprocess.Popen([sys.executable, "-m", "rpg_torch", "train", "--job", job_file, "--no-stdin"], cwd=_helpers.PYTHON_DIR,
                                 env=_helpers.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(child.stdout.close)
        seen = []
        for line in child.stdout:
            e = json.loads(line)
            seen.append(e)
            if e["event"] == "row" and e["step"] == 3:
                child.send_signal(signal.SIGTERM)
        child.wait(timeout=300)
        self.assertEqual(child.returncode, 0)
        done = [e for e in seen if e["event"] == "done"][0]
        self.assertEqual(done["status"], "stopped")
        self.assertEqual(read_checkpoint(os.path.join(self.d, "t")).meta["step"], done["steps"])

    def test_errors_are_one_event_naming_the_field(self):
        cases = [
            (config(lr=-1), "config", "train.lr"),
            ({**config(), "data": {"dataset": "fashion-mnist", "path": "/nonexistent/fm"}}, "dataset", "data.path"),
            ({**config(), "rpg": {"dof": 10 ** 6}}, "plan", "rpg.dof"),
            ({**config(optimizer="sgd", lr=1e6, momentum=0.9), "rpg": {"dof": 500, "lrNormalization": "official"}}, "nan", "train.lr"),
        ]
        for i, (cfg, code, field) in enumerate(cases):
            r = run_job(self.job(cfg, f"e{i}"), os.path.join(self.d, f"e{i}.json"))
            self.assertEqual(r.returncode, 1, code)
            err = [e for e in events(r.stdout) if e["event"] == "error"]
            self.assertEqual(len(err), 1, r.stdout)
            self.assertEqual((err[0]["code"], err[0].get("field")), (code, field), err[0]["message"])
            self.assertNotIn("Traceback", r.stderr)
        r = run_job(self.job(config(), "cuda", device="cuda"), os.path.join(self.d, "cuda.json"))
        err = [e for e in events(r.stdout) if e["event"] == "error"]
        import torch

        if not torch.cuda.is_available():
            self.assertEqual(err[0]["code"], "backend")
            self.assertIn("CUDA was requested but this PyTorch sees no CUDA GPU", err[0]["message"])


if __name__ == "__main__":
    unittest.main()
