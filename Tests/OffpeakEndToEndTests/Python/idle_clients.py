"""Clients that hold a connection without sending a request, and one whose answer takes long.

idle_clients.py HOST PORT: four connections at once, each timed from its start (or from its
answer) until the gateway closes it, at most LIMIT seconds; prints one JSON line.
  silent      connects and sends nothing
  trickled    sends a request head a header line at a time, every quarter second, never ending it
  answered    sends one whole request, reads its answer, then sends nothing
  streamed    a streamed chat completion that the upstream sends slowly: read to its end
"""
import json
import socket
import sys
import threading
import time

host, port = sys.argv[1], int(sys.argv[2])
LIMIT = 30.0
results = {}


def closed_within(connection, started, between=None):
    """Seconds from `started` until the peer closes `connection` (None past LIMIT); `between`
    runs every quarter second meanwhile."""
    connection.settimeout(0.25)
    while time.monotonic() - started < LIMIT:
        try:
            if connection.recv(65536) == b"":
                return time.monotonic() - started
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
        if between:
            try:
                between()
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
    return None


def silent():
    started = time.monotonic()
    with socket.create_connection((host, port)) as connection:
        results["silent"] = closed_within(connection, started)


def trickled():
    started = time.monotonic()
    with socket.create_connection((host, port)) as connection:
        connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode())
        results["trickled"] = closed_within(connection, started, lambda: connection.sendall(b"X-Padding: y\r\n"))


def read_answer(connection):
    """The head and a body of Content-Length bytes, or a chunked body to its last chunk."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    length = next((int(line.split(":")[1]) for line in lines if line.startswith("content-length:")), None)
    while (len(body) < length) if length is not None else not body.endswith(b"0\r\n\r\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], body


def answered():
    with socket.create_connection((host, port)) as connection:
        connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status, _ = read_answer(connection)
        results["answered_status"] = status
        results["answered"] = closed_within(connection, time.monotonic())


def streamed():
    body = b'{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"a slow stream please"}]}'
    started = time.monotonic()
    with socket.create_connection((host, port)) as connection:
        connection.sendall(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, answer = read_answer(connection)
        results["streamed_status"] = status
        results["streamed_seconds"] = time.monotonic() - started
        results["streamed_done"] = b"data: [DONE]" in answer


threads = [threading.Thread(target=f) for f in (silent, trickled, answered, streamed)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(results))
