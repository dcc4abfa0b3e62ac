"""The kernel manager of the app servers (`voila.json` names it): at most `max_kernels` kernels
per server, and a readable "busy, retry in a moment" page past that.

Every page an app server renders starts a kernel (or takes a pre-heated one) of a few hundred
MB; without a cap, a link pasted in a busy channel or a page reloaded in a loop exhausts the
machine. Past the cap a page request gets HTTP 503 with a short message instead of a kernel. A
pool refill that would pass the cap is skipped and retried when a kernel ends (a closed page's
kernel is shut down by the page or culled when idle; see `voila.json`), so the pool never holds
a request waiting for a kernel that cannot start.

Imports only jupyter_server, tornado and traitlets: the server loads this module at start.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer, Unicode

BUSY_REASON = ("Busy: this app is serving as many pages as it can right now. Retry in a "
               "moment, or close a page of it you no longer need")


class ChannelKernelManager(AsyncMappingKernelManager):
    """`AsyncMappingKernelManager` with a cap on the kernels of one server."""

    max_kernels = Integer(
        8, config=True,
        help="Most kernels alive at once, pre-heated ones included; 0: no cap. Past it a page "
             "request gets the busy page (HTTP 503).")
    busy_reason = Unicode(BUSY_REASON, config=True,
                          help="The sentence the busy page shows (one line, ASCII).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting = 0
        self._short_pools: set[str] = set()
        self._closing = False
        self._connected: set[str] = set()  # kernels a page has connected to
        self._unconnected_since: dict[str, float] = {}

    def kernel_count(self) -> int:
        """Kernels alive or starting."""
        return len(self._kernels) + self._starting

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        """Start a kernel unless the server is at its cap: then a page request gets the busy
        page (HTTP 503) and a pool refill is skipped (retried when a kernel ends)."""
        if self.max_kernels and self.kernel_count() >= self.max_kernels:
            env = kwargs.get("env") or {}
            if env.get("VOILA_PREHEAT") == "True":
                # A refill: out of the pool; a request that already took it gets the busy page.
                self._skip_refill()
            else:
                self.log.warning("Busy page sent: %s kernels alive (cap %s)",
                                 self.kernel_count(), self.max_kernels)
            raise web.HTTPError(503, reason=self.busy_reason)
        self._starting += 1
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1

    def _skip_refill(self) -> None:
        """Take the running refill task out of its pool, so no request waits on it."""
        task = asyncio.current_task()
        for name, pool in getattr(self, "_pools", {}).items():
            if task in pool:
                pool.remove(task)
                self._short_pools.add(name)
        if task is not None:  # nobody awaits the task any more: consume its exception
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self.log.info("Pool refill skipped: %s kernels alive (cap %s)", self.kernel_count(),
                      self.max_kernels)

    def notify_connect(self, kernel_id: str) -> None:
        """A page connected to the kernel."""
        super().notify_connect(kernel_id)
        self._connected.add(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Cull an idle kernel no page is connected to, as jupyter_server does; but a kernel
        no page has connected to yet gets `cull_idle_timeout` from when the culler first saw it
        outside the pool. A pre-heated kernel just handed to a visitor has been idle since it
        was pre-rendered, and its page needs a moment to connect."""
        if kernel_id not in self._connected:
            first = self._unconnected_since.setdefault(kernel_id, time.monotonic())
            if time.monotonic() - first < self.cull_idle_timeout:
                return
        await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:
        """Shut a kernel down, then refill any pool a cap left short."""
        await super().shutdown_kernel(kernel_id, *args, **kwargs)
        self._connected.discard(kernel_id)
        self._unconnected_since.pop(kernel_id, None)
        if self._short_pools and not self._closing and hasattr(self, "fill_if_needed"):
            short, self._short_pools = self._short_pools, set()
            for name in short:
                self.fill_if_needed(delay=0, notebook_name=name)

    async def shutdown_all(self, *args: Any, **kwargs: Any) -> None:
        """Shut every kernel down (the server is stopping): no refills any more."""
        self._closing = True
        await super().shutdown_all(*args, **kwargs)
