"""Hostile servers on loopback, in a process of their own (so their CPU is not
the prober's): each mode listens on its own port, prints ``{"mode": port}`` as
one JSON line, and serves until stdin closes. Every stream stops when the
client goes away or after ``LIFETIME`` seconds: nothing here runs unbounded."""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time

CHUNK = b"a" * 65536
LIFETIME = 60.0


async def endless(writer: asyncio.StreamWriter, head: bytes, piece: bytes = CHUNK, pause: float = 0.0) -> None:
    writer.write(head)
    deadline = time.monotonic() + LIFETIME
    while time.monotonic() < deadline:
        writer.write(piece)
        await writer.drain()
        if pause:
            await asyncio.sleep(pause)


async def greeting_then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes,
                        piece: bytes) -> None:
    """The greeting, then — once the client answers it (an IMAP client asks CAPABILITY:
    it has handed the greeting on and begun its session) — the flood."""
    writer.write(head)
    await writer.drain()
    await asyncio.wait_for(reader.readline(), LIFETIME)
    await endless(writer, b"", piece)


def chunked_piece() -> bytes:
    return f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"


MODES = {
    "http_endless_chunked": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                              chunked_piece()),
    "http_huge_chunk": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                            b"fffffffffffffff\r\n"),
    "http_endless_body": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n"),
    "http_endless_headers": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\n", b"X-Hostile: yes\r\n" * 1000),
    "http_endless_header_line": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\nX-Hostile: "),
    "http_slow_body": lambda _, w: endless(w, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"a", 0.2),
    "imap_endless_greeting": lambda _, w: endless(w, b"* OK "),
    "imap_endless_lines": lambda _, w: endless(w, b"* OK hostile\r\n", b"* 1 EXISTS\r\n" * 4096),
    "imap_lines_after_greeting": lambda r, w: greeting_then(r, w, b"* OK hostile\r\n", b"* 1 EXISTS\r\n" * 4096),
    "pop3_endless_banner": lambda _, w: endless(w, b"+OK "),
    "smtp_endless_banner": lambda _, w: endless(w, b"220 "),
    "tcp_endless_banner": lambda _, w: endless(w, b""),
    "tls_stall": lambda _, w: asyncio.sleep(LIFETIME),  # accepts, never speaks TLS
}


async def serve(mode: str) -> int:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await MODES[mode](reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[1]


class HugeDns(asyncio.DatagramProtocol):
    """Answers any query with ~64 KB: the query's id, then junk."""

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) >= 2:
            (qid,) = struct.unpack("!H", data[:2])
            self.transport.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 65535, 0, 0) + b"\xff" * 65000, addr)


async def main() -> None:
    ports = {mode: await serve(mode) for mode in MODES}
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    await loop.create_datagram_endpoint(HugeDns, sock=sock)
    ports["dns_huge"] = sock.getsockname()[1]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the test closes our stdin


if __name__ == "__main__":
    asyncio.run(main())
