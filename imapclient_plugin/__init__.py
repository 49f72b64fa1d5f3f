"""The implementation of the imapclient plugin, one module per job.

- ``options``: the configuration options and their help.
- ``settings``: turns those options into validated connection settings.
- ``message``: builds the RFC 5322 draft with the directive attached.
- ``credentials``: finds the password (keyring, authentication.conf, prompt).
- ``session``: connects, secures and logs in, translating faults to errors.
- ``protocol_trace``: the ``-Dimap`` log of the conversation, redacted.
- ``fast_commands``: login, APPEND and LOGOUT in fewer round trips.
- ``bounded_io``: reads and writes bounded in size and in time.
- ``drafts``: finds the Drafts folder and appends the draft.
- ``cache_files``: the small JSON files the plugin remembers things in.
- ``folder_cache``: remembers each account's Drafts folder.
- ``revisions``: each merge request's last draft, replaced or answered.
- ``unsent``: keeps a message that could not be stored on disk.
- ``store``: stores a message in the Drafts folder, exactly once.
- ``mail_client``: the ``imapclient`` mail client ``brz send`` calls.
- ``heap``: has glibc give back what Breezy frees while it builds a bundle.
- ``inputs``: what imap-send is given (message, mbox, patch) as messages.
- ``keyring_store``: ``password_encoding = keyring`` for authentication.conf.
- ``check``: ``brz imap-check``'s steps.
- ``commands``: ``brz imap-send``, ``imap-folders``, ``imap-login``,
  ``imap-check``.
"""
