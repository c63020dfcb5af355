"""A real HTTP(S) server (the standard library's, threaded) on a free loopback
port, with a few routes the probe tests need."""
from __future__ import annotations

import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ok":
            self._send(200, b"hello slawatch, all is well")
        elif self.path == "/down":
            self._send(503, b"maintenance")
        elif self.path == "/redirect":
            self._send(302, headers={"Location": "/ok"})
        elif self.path == "/to-metadata":  # a redirect to the cloud metadata address
            self._send(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        elif self.path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif self.path == "/vhost":  # answers only for its virtual host (blackbox's `hostname` parameter)
            self._send(200 if self.headers.get("Host") == "vhost.example" else 421, b"vhost")
        elif self.path == "/status.json":
            self._send(200, b'{"status": "ok", "items": [1, 2, 3]}', {"Content-Type": "application/json"})
        elif self.path == "/protected":  # an OAuth 2.0 resource: the token /oauth/token sells
            ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            self._send(200 if ok else 401, b"protected" if ok else b"no token")
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(404, b"no such page")


    def do_POST(self):
        """``/oauth/token``: RFC 6749 §4.4 client credentials — a form with
        grant_type=client_credentials, the client authenticated by HTTP basic auth
        (§2.3.1) or by the form's client_id/client_secret; 401 for a wrong secret."""
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(min(length, 65536)).decode()))
        if self.path != "/oauth/token" or self.headers.get_content_type() != "application/x-www-form-urlencoded":
            return self._send(404, b"")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client, secret = unquote(client), unquote(secret)
        else:
            client, secret = form.get("client_id", ""), form.get("client_secret", "")
        if form.get("grant_type") != "client_credentials":
            return self._send(400, b'{"error": "unsupported_grant_type"}', {"Content-Type": "application/json"})
        if (client, secret) != ("prober", "s3cret"):
            return self._send(401, b'{"error": "invalid_client"}', {"Content-Type": "application/json"})
        body = json.dumps({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600,
                           "scope": form.get("scope", "")}).encode()
        self._send(200, body, {"Content-Type": "application/json", "Cache-Control": "no-store"})


TOKEN = "tok-7Hq2"


class Web:
    def __init__(self, tls_context: ssl.SSLContext | None = None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
