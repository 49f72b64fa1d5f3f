"""authentication.conf's password_encoding = keyring, for any Breezy transport."""

from __future__ import annotations

import os

from breezy import bedding, config, tests

from . import fixtures

SECTION = ("[code]\nscheme = https\nhost = code.example.com\nuser = bob\n"
           "password_encoding = keyring\n")


class TestKeyringCredentialStore(tests.TestCaseInTempDir):

    def bobs_credentials(self) -> dict:
        """What Breezy finds for bob, with SECTION in authentication.conf."""
        os.makedirs(bedding.config_dir(), exist_ok=True)
        with open(bedding.authentication_config_path(), "w") as f:
            f.write(SECTION)
        return config.AuthenticationConfig().get_credentials(
            "https", "code.example.com", user="bob")

    def test_https_password_comes_from_the_keyring(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        keyring.set_password("code.example.com", "bob", "s3cret")
        self.assertEqual("s3cret", self.bobs_credentials()["password"])

    def test_nothing_in_the_keyring_means_no_password(self):
        fixtures.use_keyring(self, fixtures.MemoryKeyring())
        self.assertIsNone(self.bobs_credentials()["password"])

    def test_no_keyring_backend_means_no_password(self):
        fixtures.no_keyring(self)
        self.assertIsNone(self.bobs_credentials()["password"])
