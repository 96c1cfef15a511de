"""What every stage does before its own work: logging, offline defaults, params validation; after it: its
wall time, with ``PSRLM_TRACE=<file>`` what it read and wrote (``psrlm/trace.py``), and under a
multi-process launch an orderly end of the process group."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable

from psrlm.params import Params, ParamsError, load_params
from psrlm.progress import setup_logging
from psrlm.trace import TRACE, Trace
from schemas.table import ArtifactError, write_json

log = logging.getLogger("psrlm")


def run_stage(work: Callable[..., None]) -> None:
    """Validate ``params.yaml`` (before any work), then call ``work(params, *argv)``.

    Bad params or a bad input artifact end the stage with exit code 2 and one clear message.
    """
    setup_logging()
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("PSRLM_NO_PROGRESS") == "1":
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        params: Params = load_params()
        if params.model.base is None or os.path.isdir(params.model.base):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing of ours needs the hub
        trace = Trace(params) if os.environ.get(TRACE) else None
        started = time.time()
        work(params, *sys.argv[1:])
        # wall time apart from the artifacts (which must be the same on every run with the same inputs)
        spec = getattr(sys.modules["__main__"], "__spec__", None)  # python -m stages.<name>
        module = spec.name if spec else work.__module__
        timing = params.timing_file(module.rsplit(".", 1)[-1], *sys.argv[1:])
        if int(os.environ.get("RANK", "0")) == 0:  # under `accelerate launch`, the main process alone writes
            write_json(timing, {"seconds": round(time.time() - started, 1)})
            if trace:  # DVC names the stage it runs (rollout@m2)
                trace.save(os.environ[TRACE], os.environ.get("DVC_STAGE") or " ".join([module, *sys.argv[1:]]))
        leave_process_group()
    except (ParamsError, ArtifactError, FileNotFoundError) as err:
        log.error("%s", err)
        sys.exit(2)


def leave_process_group() -> None:
    """Under ``accelerate launch`` (a training stage on several processes), wait until every process is
    done, the main one's writes included, then take the process group down in each one before the
    interpreter exits. Left to interpreter teardown, the processes leave at different moments and one
    can die on its peer's closed connection (SIGABRT in rank 1 after the model was written, once in
    CI: the launcher then fails the stage). Nothing to do in a single process or before torch is loaded."""
    torch = sys.modules.get("torch")
    if int(os.environ.get("WORLD_SIZE", "1")) < 2 or torch is None:  # (vLLM's own in-process group: left to it)
        return
    if not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
