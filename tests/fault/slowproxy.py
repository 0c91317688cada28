#!/usr/bin/env python3
"""tests/fault/slowproxy.py - a Docker socket proxy that holds container lists.

    slowproxy.py LISTEN_SOCK DOCKER_SOCK DELAY_S

Forwards every byte both ways, unchanged, except that a request for
GET .../containers/json is held DELAY_S seconds before it is passed on: a
flamed behind it takes at least that long to adopt its runners, so a test can
act during adoption (kill -9, List, health). Runs until killed.
"""
import asyncio
import os
import sys

LISTEN, UPSTREAM, DELAY = sys.argv[1], sys.argv[2], float(sys.argv[3])


async def pipe(reader, writer, hold):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if hold and b"/containers/json" in data and data.startswith(b"GET "):
                await asyncio.sleep(DELAY)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(creader, cwriter):
    try:
        ureader, uwriter = await asyncio.open_unix_connection(UPSTREAM)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, uwriter, True), pipe(ureader, cwriter, False))


async def main():
    if os.path.exists(LISTEN):
        os.unlink(LISTEN)
    server = await asyncio.start_unix_server(handle, path=LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
