"""An SMTP submission server no one here wrote (aiosmtpd over Python's ssl, i.e. OpenSSL) that
requires STARTTLS and a client certificate, for the replay tests.

Usage: smtp_mtls.py CHAIN KEY CLIENT_ROOTS OUTDIR
Prints "port N" once listening on 127.0.0.1; each accepted message is written to OUTDIR as
N.eml, with a line in OUTDIR/log.jsonl (envelope and the client certificate's subject).
RCPT TO an address starting with "refuse" gets 550.
"""
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Store:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

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
                                "client": subject}) + "\n")
        return "250 2.0.0 queued as %d" % self.count


async def main(chain, key, roots, outdir):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)
    ctx.load_verify_locations(roots)
    ctx.verify_mode = ssl.CERT_REQUIRED
    handler = Store(outdir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, tls_context=ctx, require_starttls=True, hostname="aiosmtpd.test"),
        "127.0.0.1", 0)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
