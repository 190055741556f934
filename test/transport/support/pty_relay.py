"""Test helper: a pseudo-terminal pair whose master is relayed to this process's stdio.

Prints the slave path on the first stdout line, then copies master -> stdout and stdin -> master.
Keeps its own slave fd open so the master never sees EIO while no client is attached.
Exits (closing the master: the client sees a hang-up) when stdin closes or on SIGTERM/SIGKILL.
"""
import os
import pty
import select
import sys
import tty

master, slave = pty.openpty()
tty.setraw(slave)
out = sys.stdout.fileno()
inp = sys.stdin.fileno()
os.write(out, (os.ttyname(slave) + "\n").encode())


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


while True:
    readable, _, _ = select.select([master, inp], [], [])
    if master in readable:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            write_all(out, data)
    if inp in readable:
        data = os.read(inp, 65536)
        if not data:
            break
        write_all(master, data)
