#!/usr/bin/env python3
"""Pseudo-terminal bridge for the at-pki mock device (python3 stdlib only).

Opens a pty pair, prints the slave path as the first line on stdout, then copies bytes:
    stdin  -> pty master   (module output, the client reads it from the slave)
    master -> stdout       (what the client wrote to the slave)
Both ends are raw, so the stream is binary-safe. We keep our own slave fd open, so the master
never sees EIO/hang-up while no client has the port open (a client may close and re-open).
EOF on stdin (parent closed it or died) ends the process, which closes the master: a client
still attached then sees a disconnect, like an unplugged USB adapter.
"""
import errno
import fcntl
import os
import pty
import select
import sys
import time
import tty

# Module output nobody reads is eventually dropped, as on a UART (bounded memory).
MAX_PENDING = 1 << 20


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def main():
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    write_all(1, (os.ttyname(slave) + "\n").encode())
    fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
    pending = bytearray()
    try:
        while True:
            readable, writable, _ = select.select([0, master], [master] if pending else [], [])
            if 0 in readable:
                data = os.read(0, 65536)
                if not data:
                    return 0
                pending += data
                if len(pending) > MAX_PENDING:
                    del pending[: len(pending) - MAX_PENDING]
            if master in readable:
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    data = b""
                except OSError as error:
                    if error.errno != errno.EIO:
                        raise
                    # Should not happen while we hold the slave; never busy-loop on it.
                    time.sleep(0.01)
                    data = b""
                if data:
                    write_all(1, data)
            if master in writable and pending:
                try:
                    del pending[: os.write(master, pending)]
                except BlockingIOError:
                    pass
    except BrokenPipeError:
        return 0
    finally:
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    sys.exit(main())
