"""Runs ``brz send`` into a throwaway local Dovecot and shows the draft.

Everything happens in a temporary directory with its own HOME: the
configuration is written with ``brz config``, the password is stored with
``keyring set`` (a file keyring from keyrings.alt, as a headless machine has
no Secret Service), and nothing is left behind.
"""

import email
import email.policy
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from breezy.plugins.imapclient.tests.dovecot import DovecotServer

USER, PASSWORD = "demo", "demo password"
BIN = os.path.dirname(sys.executable)


def run(args, cwd, env, stdin=None):
    print("$ " + " ".join(shlex.quote(a) for a in args), flush=True)
    subprocess.run([os.path.join(BIN, args[0])] + args[1:], cwd=cwd, env=env,
                   input=stdin, text=True, check=True)


def main() -> None:
    work = tempfile.mkdtemp(prefix="brz-imapclient-demo-")
    server = DovecotServer({USER: PASSWORD})
    server.start()
    try:
        env = dict(os.environ, HOME=work, BRZ_EMAIL="Demo Dev <demo@example.com>",
                   XDG_CONFIG_HOME=work + "/.config", XDG_DATA_HOME=work + "/.data",
                   XDG_CACHE_HOME=work + "/.cache",
                   PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring")
        env.pop("BRZ_HOME", None)
        print("# A throwaway Dovecot listens on 127.0.0.1:%d\n" % server.port)
        trunk, feature = work + "/trunk", work + "/feature"
        run(["brz", "init", "-q", trunk], work, env)
        with open(trunk + "/hello.txt", "w") as f:
            f.write("hello\n")
        run(["brz", "add", "-q", "hello.txt"], trunk, env)
        run(["brz", "commit", "-q", "-m", "Initial import"], trunk, env)
        run(["brz", "branch", "-q", trunk, feature], work, env)
        with open(feature + "/hello.txt", "a") as f:
            f.write("world\n")
        run(["brz", "commit", "-q", "-m", "Greet the world"], feature, env)
        for setting in ("mail_client=imapclient",
                        "imap_server=imap://127.0.0.1:%d" % server.port,
                        "imap_security=none", "imap_username=" + USER):
            run(["brz", "config", "--scope", "breezy", setting], feature, env)
        run(["keyring", "set", "127.0.0.1", USER], work, env, stdin=PASSWORD + "\n")
        run(["brz", "send", "--mail-to=project@lists.example.org", trunk],
            feature, env)
        show_drafts(server)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def show_drafts(server: DovecotServer) -> None:
    for flags, raw in server.messages(USER, "Drafts"):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        print("\n# The draft in Drafts, flags %s:" % " ".join(
            f.decode() for f in flags))
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            print("%s: %s" % (name, message[name]))
        body = message.get_body(("plain",)).get_content()
        print("\n" + body.replace("\r\n", "\n"))
        for part in message.iter_attachments():
            print("# Attachment %s (%s):" % (part.get_filename(),
                                             part.get_content_type()))
            print(part.get_payload(decode=True).decode("utf-8", "replace")
                  .replace("\r\n", "\n"))


if __name__ == "__main__":
    main()
