"""A client that sends its whole body before it reads the answer: what did it manage to send, and read?"""
import json
import socket
import sys
import time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = b'{"model":"qwen-plus","messages":[{"role":"user","content":"' + b"x" * size + b'"}]}'
head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Prefer: respond-async\r\nContent-Length: {len(body)}\r\n\r\n").encode()
started = time.monotonic()
connection = socket.create_connection((host, port))
try:
    connection.sendall(head + body)
    sent = "all"
except OSError as error:
    sent = type(error).__name__
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
print(json.dumps({"sent": sent, "status": status, "code_in_body": b"request_too_large" in answer,
                  "seconds": time.monotonic() - started}))
