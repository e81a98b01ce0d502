"""Opens connections and keeps them, without sending anything: which ones does the gateway close
(refused), and which does it keep? Then closes them all and makes one call on a new connection.

many_connections.py HOST PORT COUNT: opens COUNT connections, then watches them for GRACE seconds
(a refused one is closed as soon as the gateway accepts it, however late that is on a loaded
machine; a kept one stays open far longer, until the idle timeout); prints one JSON line
{"admitted", "refused", "after"}.
"""
import json
import select
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
GRACE = 5.0
connections = [socket.create_connection((host, port)) for _ in range(count)]
open_ones = set(connections)
deadline = time.monotonic() + GRACE
while open_ones and time.monotonic() < deadline:
    readable, _, _ = select.select(list(open_ones), [], [], max(0.0, deadline - time.monotonic()))
    for connection in readable:
        try:
            closed = connection.recv(1) == b""
        except ConnectionResetError:
            closed = True
        if closed:
            open_ones.discard(connection)
admitted = len(open_ones)
for connection in connections:
    connection.close()
time.sleep(0.5)
with socket.create_connection((host, port), timeout=10) as connection:
    connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
print(json.dumps({"admitted": admitted, "refused": count - admitted, "after": answer.split(b"\r\n", 1)[0].decode()}))
