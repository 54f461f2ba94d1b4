#!/usr/bin/env python3
"""standin.py: a stand-in TCP server on 127.0.0.1 for the regress tests.

    standin.py MODE [--log FILE] [--port N] [--banner TEXT]

Modes, applied to every accepted connection:
  close       accept, then close at once (FIN)
  reset       accept, then reset (SO_LINGER 0: RST)
  notallowed  send "Not allowed at this time\\r\\n", then close
              (OpenSSH >= 9.8 PerSourcePenalties)
  banner      send an SSH banner (--banner, default
              "SSH-2.0-standin"), then read and discard until EOF
  silent      accept and never send; close when the client does
  sink        read and discard everything; log the byte count at EOF
  echo        send back everything received; half-close like the client

Prints the port on stdout (one line, flushed) once listening; each
accepted connection appends "conn N MODE" to --log, and sink/echo append
"bytes N" at EOF.  Runs until killed (SIGTERM/SIGINT exit quietly).
"""
import argparse
import signal
import socket
import struct
import sys
import threading

MODES = ("close", "reset", "notallowed", "banner", "silent", "sink", "echo")
lock = threading.Lock()
count = 0


def log(path, line):
    if path is None:
        return
    with lock:
        with open(path, "a") as f:
            f.write(line + "\n")


def drain(conn):
    """Read until EOF; return the byte count (a reset ends it too)."""
    n = 0
    buf = bytearray(1 << 20)
    while True:
        try:
            k = conn.recv_into(buf)
        except OSError:
            break
        if k == 0:
            break
        n += k
    return n


def serve(conn, args):
    try:
        if args.mode == "close":
            conn.close()
            return
        if args.mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            conn.close()
            return
        if args.mode == "notallowed":
            conn.sendall(b"Not allowed at this time\r\n")
            conn.close()
            return
        if args.mode == "banner":
            conn.sendall(args.banner.encode() + b"\r\n")
            drain(conn)
        elif args.mode == "silent":
            drain(conn)
        elif args.mode == "sink":
            log(args.log, "bytes %d" % drain(conn))
        elif args.mode == "echo":
            n = 0
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    break
                conn.sendall(data)
                n += len(data)
            conn.shutdown(socket.SHUT_WR)
            log(args.log, "bytes %d" % n)
        conn.close()
    except OSError:
        conn.close()


def main():
    global count
    ap = argparse.ArgumentParser(description="stand-in TCP server")
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--log")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--banner", default="SSH-2.0-standin")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    while True:
        conn, _ = ls.accept()
        count += 1
        log(args.log, "conn %d %s" % (count, args.mode))
        threading.Thread(target=serve, args=(conn, args),
                         daemon=True).start()


if __name__ == "__main__":
    main()
