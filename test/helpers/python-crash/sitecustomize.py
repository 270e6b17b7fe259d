# Put on PYTHONPATH by the torch CLI test: the torch engine's child dies hard after
# RPG_TEST_CRASH_AFTER_STEPS training steps, printing a last error line first — a crash at a
# known step, as a segfault or an OOM kill would end it, without a timer.
import os
import sys

_after = int(os.environ.get("RPG_TEST_CRASH_AFTER_STEPS", "0"))
if _after > 0:
    import rpg_torch.trainer as _trainer

    _original = _trainer._step
    _calls = [0]

    def _crashing_step(*args, **kwargs):
        _calls[0] += 1
        if _calls[0] > _after:
            sys.stderr.write("Fatal Python error: simulated crash in the torch engine\n")
            sys.stderr.flush()
            os._exit(3)
        return _original(*args, **kwargs)

    _trainer._step = _crashing_step
