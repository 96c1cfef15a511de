"""Progress bars and logging set-up for stages (people wait for long stages)."""

from __future__ import annotations

import logging
import os
import sys


def progress(iterable=None, desc: str = "", total: int | None = None, unit: str = "it", disable: bool = False):
    """A tqdm bar with an ETA; ``PSRLM_NO_PROGRESS=1`` silences every bar (e.g. in logs)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True, mininterval=1.0,
                disable=disable or os.environ.get("PSRLM_NO_PROGRESS") == "1")


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its INFO lines are about fonts and axes units
