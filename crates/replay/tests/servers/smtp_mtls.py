"""An SMTP submission server no one here wrote (aiosmtpd over Python's ssl, i.e. OpenSSL) that
requires STARTTLS and a client certificate, for the replay tests.

Usage: smtp_mtls.py CHAIN KEY CLIENT_ROOTS OUTDIR [pipelining]
Prints "port N" once listening on 127.0.0.1; each accepted message is written to OUTDIR as
N.eml, with a line in OUTDIR/log.jsonl (envelope, the client certificate's subject, and
whether the commands after MAIL FROM had already arrived with it: "pipelined").
RCPT TO an address starting with "refuse" gets 550.
With "pipelining", EHLO also offers PIPELINING (RFC 2920): aiosmtpd reads commands from its
stream one line at a time, so it serves pipelined groups, but does not offer it itself.
"""
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Store:
    def __init__(self, outdir, pipelining):
        self.outdir = outdir
        self.count = 0
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # asyncio's StreamReader holds what arrived past the MAIL line (a private attribute,
        # good enough for a test server): bytes there mean the client did not wait for 250.
        envelope.pipelined = len(getattr(server._reader, "_buffer", b"")) > 0
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        cert = (session.ssl or {}).get("peercert") or {}
        subject = ", ".join("%s=%s" % kv for rdn in cert.get("subject", ()) for kv in rdn)
        self.count += 1
        with open(os.path.join(self.outdir, "%d.eml" % self.count), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(os.path.join(self.outdir, "log.jsonl"), "a") as f:
            f.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                "client": subject,
                                "pipelined": getattr(envelope, "pipelined", False)}) + "\n")
        return "250 2.0.0 queued as %d" % self.count


async def main(chain, key, roots, outdir, pipelining=False):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)
    ctx.load_verify_locations(roots)
    ctx.verify_mode = ssl.CERT_REQUIRED
    handler = Store(outdir, pipelining)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, tls_context=ctx, require_starttls=True, hostname="aiosmtpd.test"),
        "127.0.0.1", 0)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5], pipelining=sys.argv[5:6] == ["pipelining"]))
