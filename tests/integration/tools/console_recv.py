#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A --console-socket receiver for the terminal tests.

console_recv.py SOCKET [--input TEXT] [--input-delay SECONDS] [--timeout SECONDS]

Listens on SOCKET (created under a temporary name and renamed into place once
it listens, so a runtime that sees the path can always connect), accepts one
connection, receives the pty master over SCM_RIGHTS and copies everything the
container writes to the terminal to stdout until the terminal hangs up. TEXT
(with \\n, \\r, \\x04 escapes) is written to the master after receiving it.

Diagnostics go to stderr: "fd-received", the name the runtime sent with the
fd, and whether the fd is a pty master. Exit status: 0 after a hang-up, 3 when
no fd arrived, 4 on timeout.
"""
import argparse
import array
import fcntl
import os
import select
import socket
import sys
import time

TIOCGPTN = 0x80045430


def listen(path):
    tmp = path + ".tmp"
    for p in (path, tmp):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(tmp)
    s.listen(1)
    os.rename(tmp, path)
    return s


def receive_fd(conn):
    fds = array.array("i")
    msg, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return msg, list(fds)


def is_pty_master(fd):
    try:
        # TIOCGPTN (_IOR('T', 0x30, unsigned int)) only works on a master.
        fcntl.ioctl(fd, TIOCGPTN, b"\0\0\0\0")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--input", default=None)
    ap.add_argument("--input-delay", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    srv = listen(a.socket)
    r, _, _ = select.select([srv], [], [], a.timeout)
    if not r:
        print("timeout waiting for a connection", file=sys.stderr)
        return 4
    conn, _ = srv.accept()
    srv.close()
    msg, fds = receive_fd(conn)
    conn.close()
    if not fds:
        print("no fd received", file=sys.stderr)
        return 3
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)
    print("fd-received name=%s master=%s" % (msg.decode(errors="replace"),
                                              is_pty_master(master)),
          file=sys.stderr, flush=True)
    pending = None
    if a.input is not None:
        pending = a.input.encode().decode("unicode_escape").encode("latin-1")
    input_at = time.monotonic() + a.input_delay
    out = sys.stdout.buffer
    while True:
        now = time.monotonic()
        if now >= deadline:
            print("timeout waiting for the terminal to hang up", file=sys.stderr)
            return 4
        if pending is not None and now >= input_at:
            os.write(master, pending)
            pending = None
        wait = deadline - now
        if pending is not None:
            wait = min(wait, max(0.0, input_at - now))
        r, _, _ = select.select([master], [], [], wait)
        if not r:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        out.write(data)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
