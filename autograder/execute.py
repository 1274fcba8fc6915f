"""nbgrader's Execute preprocessor, hardened against a kernel that will not stop.

nbgrader interrupts a cell that runs past ``Execute.timeout`` and moves on, which cuts off an
ordinary infinite loop. A loop that *swallows* ``KeyboardInterrupt`` keeps the kernel busy,
though, and every following cell then waits a full timeout in the queue behind it. Here,
after the interrupt, we ask the kernel for ``kernel_info``; if it does not answer within
``stuck_grace`` seconds it is still stuck, so we restart it. The cells after that run in a
fresh kernel (they usually fail, which costs the student the points of the exercises that
follow the loop, and nothing else): grading a notebook takes bounded time whatever it holds.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from jupyter_client.utils import ensure_async
from nbclient.util import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer


class RobustExecute(Execute):
    """Execute that restarts a kernel which ignores the timeout interrupt."""

    stuck_grace = Integer(
        10, help="Seconds a kernel may take to become responsive after a timeout interrupt before it is restarted."
    ).tag(config=True)

    async def _kernel_responds(self, within: float) -> bool:
        assert self.kc is not None
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=remaining))
            except Exception:  # queue.Empty (sync) or TimeoutError (async)
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    async def _restart(self) -> None:
        assert self.km is not None and self.kc is not None
        await ensure_async(self.km.restart_kernel(now=True))
        await asyncio.sleep(0.5)
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self.log.info("Kernel restarted and ready")

    async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> Any:
        """Run one cell under a watchdog: whatever happens inside nbclient, a cell gets at most
        its timeout, plus the grace period, plus a margin; then the kernel is restarted."""
        limit = self._get_timeout(cell)
        if not limit:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        # The margin is short on purpose. Under load, the restart that _async_handle_timeout starts
        # sometimes stalls in wait_for_ready (seen in the grading tests' logs); cancelling it after
        # 20 s and restarting afresh is faster than waiting out startup_timeout (measured: a
        # 60 s margin made each such cell 50 s slower, and the second restart succeeded either way).
        watchdog = limit + self.stuck_grace + 20
        try:
            return await asyncio.wait_for(
                super().async_execute_cell(cell, cell_index, execution_count, store_history), watchdog)
        except (asyncio.TimeoutError, DeadKernelError):
            # nbclient turns the watchdog's cancellation into DeadKernelError too: one case.
            self.log.error("Cell %s did not finish within %ss, or the kernel died; restarting it",
                           cell_index, watchdog)
            await self._restart()
            cell.setdefault("outputs", []).append(NotebookNode(
                output_type="error", ename="CellTimeoutError",
                evalue=f"the cell did not finish (limit {limit} s) and did not stop when interrupted, "
                       "or the kernel died; the kernel was restarted",
                traceback=["CellTimeoutError: the cell did not finish and the kernel was restarted"]))
            return cell

    # nbclient binds the synchronous wrapper to its own coroutine; rebind it to ours.
    execute_cell = run_sync(async_execute_cell)

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> None | dict[str, Any]:
        reply = await super()._async_handle_timeout(timeout, cell)
        self.log.warning("Timed out after %ss; interrupted the kernel, checking it responds", timeout)
        if await self._kernel_responds(self.stuck_grace):
            self.log.info("The kernel responds after the interrupt")
            return reply
        self.log.error("Kernel ignored the interrupt for %ss; restarting it", self.stuck_grace)
        await self._restart()
        if reply is not None:
            content = reply["content"]
            content["ename"] = "CellTimeoutError"
            content["evalue"] = (
                f"the cell ran longer than {timeout} s and ignored the interrupt; the kernel was restarted, "
                "so the cells after it ran without what earlier cells defined"
            )
            content["traceback"] = [f"CellTimeoutError: {content['evalue']}"]
        return reply
