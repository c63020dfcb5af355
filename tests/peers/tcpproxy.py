"""A loopback TCP proxy a test (or benchmark) can cut and restore: the database
"blinks" without touching the real server."""
from __future__ import annotations

import asyncio


class Proxy:
    """127.0.0.1:port → PostgreSQL; ``cut()`` drops every connection and stops
    listening, ``restore()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)):
        self.upstream = upstream
        self.server, self.port, self.streams = None, 0, set()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer):
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.streams |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def restore(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self):
        self.server.close()
        for w in self.streams:
            w.transport.abort()
        self.streams.clear()
