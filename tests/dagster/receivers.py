"""Local receivers for alert delivery tests: an HTTP server that records POSTed bodies and a
minimal SMTP server (the subset smtplib speaks: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT)."""

from __future__ import annotations

import base64
import socketserver
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

from tests.http_stub import QuietHandler, serving


@dataclass
class Received:
    requests: list[dict] = field(default_factory=list)
    # HTTP status the receiver answers with (tests of a failing webhook set 500).
    status: int = 200


@contextmanager
def webhook_receiver():
    received = Received()

    class Handler(QuietHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(received.status)
            self.end_headers()

    with serving(Handler) as url:
        yield url, received


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message
    login: tuple[str, str] | None


@dataclass
class Mailbox:
    mails: list[Mail] = field(default_factory=list)


@contextmanager
def smtp_receiver():
    mailbox = Mailbox()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self):
            sender, recipients, login = "", [], None
            self.reply("220 localhost test SMTP")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                command = line.decode().rstrip("\r\n")
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    self.reply("250-localhost")
                    self.reply("250 AUTH PLAIN")
                elif verb == "AUTH":
                    _, user, password = base64.b64decode(command.split()[2]).split(b"\0")
                    login = (user.decode(), password.decode())
                    self.reply("235 authenticated")
                elif verb == "MAIL":
                    sender = command.split(":", 1)[1].strip().strip("<>").split(">")[0]
                    self.reply("250 ok")
                elif verb == "RCPT":
                    recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 ok")
                elif verb == "DATA":
                    self.reply("354 end with .")
                    data = b""
                    while (chunk := self.rfile.readline()) != b".\r\n":
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    mailbox.mails.append(Mail(sender, recipients, message_from_bytes(data, policy=policy.default), login))
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], mailbox
    finally:
        server.shutdown()
        server.server_close()
