"""The implementation of the imapclient plugin, one module per job.

- ``options``: the configuration options and their help.
- ``settings``: turns those options into validated connection settings.
- ``message``: builds the RFC 5322 draft with the directive attached.
- ``credentials``: finds the password (keyring, authentication.conf, prompt).
- ``system_keyring``: all of the plugin's use of keyring.
- ``wire``: the one door to the server (see its ``__init__``).
- ``drafts``: finds the Drafts folder.
- ``cache_files``: the small JSON files the plugin remembers things in.
- ``capability_cache``, ``folder_cache``: what each server announced, and
  each account's Drafts folder.
- ``revisions``: the one engine of a merge request's drafts (one, or a
  series): the last ones replaced or answered (``merge_requests``,
  ``own_drafts``, ``sent_copies``, ``changes``).
- ``unsent``: keeps a message that could not be stored on disk.
- ``store``: stores a message in the Drafts folder, exactly once.
- ``mail_client``: the ``imapclient`` mail client ``brz send`` calls.
- ``git_series``: ``brz send --format=git`` as a cover letter and threaded
  patches, each patch written from
  the git commit: ``git_am`` for what git am reads back (author, date,
  message), ``git_patch`` for the diff as git format-patch writes it.
- ``heap``: has glibc give back what Breezy frees while it builds a bundle.
- ``inputs``: what imap-send is given (message, mbox, patch) as messages.
- ``keyring_store``: ``password_encoding = keyring`` for authentication.conf.
- ``check``: ``brz imap-check``'s steps.
- ``commands``: ``brz imap-send``, ``imap-folders``, ``imap-login``,
  ``imap-check``.
"""
