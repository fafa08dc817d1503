#!/usr/bin/python3
"""smtp_receiver.py: a real SMTP server (Debian's python3-aiosmtpd) for the
integration suite notify.

    /usr/bin/python3 smtp_receiver.py PORT DIR USER PASSWORD [CERT KEY]

Listens on 127.0.0.1:PORT and accepts a mail only from a client that
authenticated as USER with PASSWORD (others get 530). Without CERT and KEY
it offers AUTH PLAIN/LOGIN in clear (loopback only); with them it offers
STARTTLS with that certificate and requires it before AUTH and MAIL. Each
mail is written to DIR/mail-N.eml as received (appearing whole, after a
line "mail-N.eml FROM TO[,TO] auth=USER tls=yes|no" is appended to
DIR/smtp.log). DIR/smtp.ready appears once it listens.
"""
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, directory, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
count = 0


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login.decode() == user and auth_data.password.decode() == password)
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        name = "mail-%d.eml" % count
        # The log line first, then the mail under its final name in one
        # rename: a test that sees mail-N.eml sees all of it, and its line.
        with open(os.path.join(directory, "smtp.log"), "a") as f:
            f.write("%s %s %s auth=%s tls=%s\n" % (
                name, envelope.mail_from, ",".join(envelope.rcpt_tos),
                session.auth_data.login.decode() if session.auth_data else "-",
                "yes" if session.ssl else "no"))
        partial = os.path.join(directory, name + ".partial")
        with open(partial, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(partial, os.path.join(directory, name))
        return "250 Message accepted"


tls = {}
if len(sys.argv) > 6:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[5], sys.argv[6])
    tls = {"tls_context": context, "require_starttls": True}
controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_require_tls=bool(tls), auth_required=False, **tls)
controller.start()
with open(os.path.join(directory, "smtp.ready"), "w") as f:
    f.write("ready")
try:
    signal.pause()
finally:
    controller.stop()
