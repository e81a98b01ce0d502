"""A callback receiver for the tests. It verifies every delivery with the standardwebhooks package (an
implementation independent of Offpeak's), answers according to the path, and lists what it received
at GET /events.

Paths: /ok answers 200; /flaky 500 to the first two attempts of an event, then 200; /gone 410;
/slow waits longer than the gateway's timeout, then 200; /retry-after 503 with Retry-After: 2 to the
first attempt, then 200; /redirect 302.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

port, secret = int(sys.argv[1]), sys.argv[2]
verifier = Webhook(secret)
events = []
attempts = {}
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = json.dumps(events).encode()
        self.answer(200, body, {"Content-Type": "application/json"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            payload = verifier.verify(body, headers)
            verified = True
        except Exception as error:  # recorded, and the test fails on it
            payload, verified = {"error": str(error)}, False
        event_id = headers.get("webhook-id")
        with lock:
            count = attempts.get((self.path, event_id), 0) + 1
            attempts[(self.path, event_id)] = count
            events.append({
                "path": self.path, "webhook_id": event_id, "verified": verified, "attempt": count,
                "type": payload.get("type"), "data": payload.get("data"), "received_at": time.time(),
                "signature": headers.get("webhook-signature"), "timestamp": headers.get("webhook-timestamp"),
            })
        if self.path == "/flaky" and count <= 2:
            return self.answer(500, b"not yet")
        if self.path == "/gone":
            return self.answer(410, b"gone")
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/retry-after" and count == 1:
            return self.answer(503, b"busy", {"Retry-After": "2"})
        if self.path == "/redirect":
            return self.answer(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})
        self.answer(200, b"ok")


server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
server.daemon_threads = True
print(f"receiver listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
