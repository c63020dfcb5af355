"""Loopback HTTP/TCP target for the probe benchmark: answers every request with a
small 200 and closes. Runs in its own process, so its CPU is nobody's probe cost."""
import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok"


async def handle(reader, writer):
    try:
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if data:
            writer.write(RESPONSE)
            await writer.drain()
    except Exception:  # noqa: BLE001 - a TCP probe connects and leaves
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
