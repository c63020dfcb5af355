"""Statement PDFs rendered off the event loop: WeasyPrint holds the CPU for about
a second per page, which on the loop would delay every probe. A process pool
of ``PDF_WORKERS`` renders; at most ``PDF_WORKERS`` run and ``PDF_QUEUE`` wait,
beyond that 429."""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from fastapi import HTTPException

PDF_WORKERS = 1
PDF_QUEUE = 4


def _render(html: str) -> bytes:
    import weasyprint  # loaded in the worker process only

    return weasyprint.HTML(string=html).write_pdf()


class PdfRenderer:
    def __init__(self, workers: int = PDF_WORKERS, queue: int = PDF_QUEUE):
        self.workers, self.capacity, self.pending = workers, workers + queue, 0
        self.pool: ProcessPoolExecutor | None = None

    async def render(self, html: str) -> bytes:
        if self.pending >= self.capacity:
            raise HTTPException(429, "statement PDFs are being rendered; try again shortly",
                                headers={"Retry-After": "5"})
        if self.pool is None:  # spawn: a clean process, not a fork of the running service
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, _render, html)
        finally:
            self.pending -= 1

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
