"""Progress of a long command on stderr: the step, the stage and the seconds it has taken.

A command's core reports progress as plain messages `"stage: what it does"` (see
`workbench.diagnose.STAGES`); this printer numbers the known stages (`[3/11]`), adds the time
since the command began, and on a terminal redraws one line with a bar, ticking every second
so a long scan is visibly alive (use it as a context manager so the line ends before the
command's own output). Off a terminal (CI logs, pipes) it prints one line per message.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

BAR_WIDTH = 20
TICK_SECONDS = 1.0


class StageProgress:
    """A callable progress printer for the messages of one command."""

    def __init__(self, stages: Sequence[str] = (), stream: TextIO | None = None,
                 live: bool | None = None) -> None:
        self.stages = tuple(stages)
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.began = time.monotonic()
        self.step = 0
        self.message = ""
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    def __call__(self, message: str) -> None:
        """Report a new message (a stage starting, or a note within one)."""
        stage = message.split(":", 1)[0].split(" ", 1)[0]
        if stage in self.stages:
            self.step = max(self.step, self.stages.index(stage) + 1)
        with self._lock:
            self.message = message
            if self.live:
                self._draw()
                self._start_ticker()
            else:
                step = f"{self.step}/{len(self.stages)}, " if self.stages and self.step else ""
                self.stream.write(f"... {message} [{step}{self._elapsed()}]\n")
                self.stream.flush()

    def close(self) -> None:
        """Stop ticking and end the live line."""
        self._stopped.set()
        with self._lock:
            if self.live and self.message:
                self.stream.write("\n")
                self.stream.flush()
            self.message = ""

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.began:.1f} s"

    def _draw(self) -> None:
        done = self.step / len(self.stages) if self.stages else 0.0
        filled = round(done * BAR_WIDTH)
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] " if self.stages else ""
        step = f"{self.step}/{len(self.stages)} " if self.stages and self.step else ""
        line = f"{bar}{step}{self.message} {self._elapsed()}"
        self.stream.write("\r\x1b[2K" + line[:200])
        self.stream.flush()

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            with self._lock:
                if self.message:
                    self._draw()
