"""The one door to the IMAP server: nothing outside this package imports
imaplib, imapclient, socket or ssl, or sees their exceptions.

- ``transport``: TCP, TLS and tunnel links, reads and writes bounded.
- ``protocol``: imaplib and imapclient adapted.
- ``pipelining``: commands in fewer round trips.
- ``commands``: the command lines.
- ``faults``: every library exception as one of the plugin's errors.
- ``login``: the login methods; ``early_login``: GMail's, before its greeting.
- ``connection``: connect, log in, give a ``Connection``.
- ``mailbox``: the ``Connection``: folders, searches, appends, removals;
  ``replies``: reading what the server answered.
- ``conversation_trace``: ``brz -Dimap``.
"""
