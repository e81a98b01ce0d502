"""A client that sends its whole body before it reads the answer: what did it manage to send, and read?

send_first.py HOST PORT SIZE [PAUSE]: a body of about SIZE bytes, sent in 1 MiB pieces (PAUSE
seconds between them after the first 8 MiB, to play a slow client)."""
import json
import socket
import sys
import time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0
prefix = b'{"model":"qwen-plus","messages":[{"role":"user","content":"'
suffix = b'"}]}'
length = len(prefix) + size + len(suffix)
head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Prefer: respond-async\r\nContent-Length: {length}\r\n\r\n").encode()
started = time.monotonic()
connection = socket.create_connection((host, port))
piece = b"x" * (1 << 20)
sent_bytes = 0
try:
    connection.sendall(head + prefix)
    remaining = size
    while remaining > 0:
        chunk = piece[:min(remaining, len(piece))]
        connection.sendall(chunk)
        sent_bytes += len(chunk)
        remaining -= len(chunk)
        if pause and sent_bytes > (8 << 20):
            time.sleep(pause)
    connection.sendall(suffix)
    sent = "all"
except OSError as error:
    sent = type(error).__name__
stopped = time.monotonic() - started
answer = b""
connection.settimeout(15)
try:
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        answer += chunk
        if b"\r\n\r\n" in answer and b"}}" in answer:
            break
except OSError as error:
    answer += b" " + type(error).__name__.encode()
status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None
print(json.dumps({"sent": sent, "bytes_sent": sent_bytes, "status": status, "code_in_body": b"request_too_large" in answer,
                  "seconds_sending": stopped, "seconds": time.monotonic() - started}))
