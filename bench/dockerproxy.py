#!/usr/bin/env python3
"""bench/dockerproxy.py - a timing proxy for the Docker socket (bench/profile boot).

    dockerproxy.py LISTEN_SOCK DOCKER_SOCK LOG

Forwards every byte both ways, unchanged, and writes one line per HTTP
request to LOG (JSON):
    {"conn": n, "method": "POST", "path": "/v1.41/containers/create?name=..",
     "t_req": epoch_s, "t_resp": first response byte, "t_end": last response
     byte before the next request on the connection (or its close), "status": 201}
libcurl sends one request at a time per connection (no pipelining), so the
n-th response on a connection answers its n-th request. Long streams
(GET /events, exec start) end at the connection's close. Runs until killed.
"""
import asyncio
import json
import os
import sys
import time


class Conn:
    n = 0

    def __init__(self, log):
        Conn.n += 1
        self.id = Conn.n
        self.log = log
        self.pending = []  # requests awaiting their response, oldest first
        self.current = None  # the request whose response is flowing

    def finish(self):
        if self.current:
            self.log.write(json.dumps(self.current) + "\n")
            self.log.flush()
            self.current = None


async def pump_requests(reader, writer, conn):
    buf = b""
    body_left = 0
    while True:
        data = await reader.read(65536)
        if not data:
            break
        now = time.time()
        writer.write(data)
        await writer.drain()
        if body_left >= len(data):
            body_left -= len(data)
            continue
        buf += data[body_left:]
        body_left = 0
        # Parse as many request heads as the buffer holds.
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    buf = b""  # not HTTP any more (hijacked stream): stop parsing
                break
            head = buf[:end].decode("latin-1").split("\r\n")
            parts = head[0].split(" ")
            if len(parts) < 2 or not parts[0].isalpha():
                buf = b""
                break
            clen = 0
            for h in head[1:]:
                k, _, v = h.partition(":")
                if k.strip().lower() == "content-length":
                    clen = int(v.strip() or 0)
            conn.pending.append({"conn": conn.id, "method": parts[0], "path": parts[1],
                                 "t_req": now, "t_resp": None, "t_end": None, "status": None})
            rest = buf[end + 4:]
            if len(rest) >= clen:
                buf = rest[clen:]
            else:
                body_left = clen - len(rest)
                buf = b""
                break
    try:
        writer.write_eof()
    except (OSError, RuntimeError):
        pass


async def pump_responses(reader, writer, conn):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        now = time.time()
        if data.startswith(b"HTTP/") and conn.pending:
            conn.finish()
            conn.current = conn.pending.pop(0)
            conn.current["t_resp"] = now
            try:
                conn.current["status"] = int(data.split(b" ", 2)[1])
            except (IndexError, ValueError):
                pass
        if conn.current:
            conn.current["t_end"] = now
        writer.write(data)
        await writer.drain()
    conn.finish()
    try:
        writer.close()
    except OSError:
        pass


async def main():
    listen, docker, logpath = sys.argv[1:4]
    log = open(logpath, "a")
    try:
        os.unlink(listen)
    except FileNotFoundError:
        pass

    async def handle(cr, cw):
        try:
            dr, dw = await asyncio.open_unix_connection(docker)
        except OSError:
            cw.close()
            return
        conn = Conn(log)
        await asyncio.gather(pump_requests(cr, dw, conn), pump_responses(dr, cw, conn),
                             return_exceptions=True)

    server = await asyncio.start_unix_server(handle, path=listen, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
