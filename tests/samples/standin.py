#!/usr/bin/env python3
"""standin.py MODE: a stand-in for a server that refuses a source.

Listens on a free 127.0.0.1 port, prints the port on stdout, then serves
every connection the same way until killed:

  close       accept, then close at once (a reset if the client's
              banner arrived first, else a FIN)
  drain       accept, read the client's banner, then close (FIN)
  reset       accept, then reset (SO_LINGER 0: RST)
  notallowed  send "Not allowed at this time\\r\\n" (sshd >= 9.8 on
              PerSourcePenalties or MaxStartups refusal), then close
  silent      accept and never answer (banner timeout)
  badbanner   send a line with a NUL byte (not SSH), then close
"""
import socket
import struct
import sys
import time

mode = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    if mode == "close":
        c.close()
    elif mode == "drain":
        c.settimeout(2)
        try:
            c.recv(4096)
        except OSError:
            pass
        c.close()
    elif mode == "reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()
    elif mode == "notallowed":
        # as sshd's drop_connection(): write, close, read nothing
        c.sendall(b"Not allowed at this time\r\n")
        c.close()
    elif mode == "silent":
        held.append(c)
    elif mode == "badbanner":
        c.sendall(b"hello\0world\r\n")
        time.sleep(0.2)
        c.close()
    else:
        sys.exit("standin.py: unknown mode " + mode)
