"""The "Python ceiling": a bare epoll responder, the fastest a Python server can answer here.

No parsing, a fixed answer per listener (argv: PORT:BODY_BYTES ...), two processes sharing the
listeners. The one look at the request is for HTTP/1.0 (ab), which is answered and closed.
Runs as its own process: `python ceiling.py 8001:612 8002:1048576`.
"""

import os
import select
import socket
import sys

answers, listeners = {}, {}
for spec in sys.argv[1:]:
    port, size = (int(part) for part in spec.split(":"))
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n"
    listener = socket.create_server(("127.0.0.1", port), backlog=4096)
    listener.setblocking(False)
    listeners[listener.fileno()] = (listener, head.encode() + b"x" * size)
os.fork()
poll, conns = select.epoll(), {}
for fd in listeners:
    poll.register(fd, select.EPOLLIN | select.EPOLLEXCLUSIVE)
while True:
    for fd, _ in poll.poll():
        if fd in listeners:
            listener, answer = listeners[fd]
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue
            conns[conn.fileno()] = (conn, answer)
            poll.register(conn.fileno(), select.EPOLLIN)
            continue
        conn, answer = conns[fd]
        try:
            data = conn.recv(65536)
            if data:
                conn.sendall(answer)
        except OSError:
            data = b""
        if not data or b" HTTP/1.0\r\n" in data:
            poll.unregister(fd)
            del conns[fd]
            conn.close()
