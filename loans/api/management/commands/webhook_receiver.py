"""A tiny webhook receiver for trying the API locally: prints each event and whether its
signature verifies.  Loopback only.  ``manage.py webhook_receiver --secret whsec_... --port 9000``"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, HTTPServer

from django.core.management.base import BaseCommand

from loans.api import signing


class Command(BaseCommand):
    help = "Listen on 127.0.0.1 for partner webhooks and verify their signatures (a local demo tool)."

    def add_arguments(self, parser):
        parser.add_argument("--secret", required=True, help="The endpoint's whsec_… secret.")
        parser.add_argument("--port", type=int, default=9000)
        parser.add_argument("--count", type=int, default=0, help="Stop after this many events (0: run until Ctrl-C).")

    def handle(self, *args, secret, port, count, **options):
        out = self.stdout
        seen = {"n": 0}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    signing.verify(body, self.headers.get(signing.HEADER, ""), secret)
                    verdict = "signature ok"
                    self.send_response(200)
                except signing.SignatureVerificationError as exc:
                    verdict = f"signature REJECTED: {exc}"
                    self.send_response(400)
                self.end_headers()
                try:
                    event = json.loads(body)
                    out.write(f"{event.get('type')} {event.get('id')} — {verdict}\n{json.dumps(event.get('data'), ensure_ascii=False)}")
                except ValueError:
                    out.write(f"non-JSON body — {verdict}")
                seen["n"] += 1

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", port), Handler)
        out.write(f"listening on http://127.0.0.1:{port}/hooks")
        try:
            while not count or seen["n"] < count:
                server.handle_request()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
