"""Opens connections one after another and keeps them, without sending anything: which ones does
the gateway close at once (refused), and which does it keep? Then closes them all and makes one
call on a new connection.

many_connections.py HOST PORT COUNT: prints one JSON line {"admitted", "refused", "after"}.
"""
import json
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kept, refused = [], 0
for _ in range(count):
    connection = socket.create_connection((host, port))
    connection.settimeout(1.0)
    try:
        closed = connection.recv(1) == b""
    except socket.timeout:
        closed = False
    except ConnectionResetError:
        closed = True
    if closed:
        refused += 1
        connection.close()
    else:
        kept.append(connection)
admitted = len(kept)
for connection in kept:
    connection.close()
time.sleep(0.5)
with socket.create_connection((host, port), timeout=10) as connection:
    connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
print(json.dumps({"admitted": admitted, "refused": refused, "after": answer.split(b"\r\n", 1)[0].decode()}))
