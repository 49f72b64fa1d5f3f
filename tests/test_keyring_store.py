"""authentication.conf's password_encoding = keyring, for any Breezy transport."""

from __future__ import annotations

import os

from breezy import bedding, config, tests

from . import fixtures


class TestKeyringCredentialStore(tests.TestCaseInTempDir):

    def write_authentication_conf(self, text: str) -> None:
        os.makedirs(bedding.config_dir(), exist_ok=True)
        with open(bedding.authentication_config_path(), "w") as f:
            f.write(text)

    def test_https_password_comes_from_the_keyring(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        keyring.set_password("code.example.com", "bob", "s3cret")
        self.write_authentication_conf(
            "[code]\nscheme = https\nhost = code.example.com\nuser = bob\n"
            "password_encoding = keyring\n")
        credentials = config.AuthenticationConfig().get_credentials(
            "https", "code.example.com", user="bob")
        self.assertEqual("s3cret", credentials["password"])

    def test_nothing_in_the_keyring_means_no_password(self):
        fixtures.use_keyring(self, fixtures.MemoryKeyring())
        self.write_authentication_conf(
            "[code]\nscheme = https\nhost = code.example.com\nuser = bob\n"
            "password_encoding = keyring\n")
        credentials = config.AuthenticationConfig().get_credentials(
            "https", "code.example.com", user="bob")
        self.assertIsNone(credentials["password"])

    def test_no_keyring_backend_means_no_password(self):
        fixtures.no_keyring(self)
        self.write_authentication_conf(
            "[code]\nscheme = https\nhost = code.example.com\nuser = bob\n"
            "password_encoding = keyring\n")
        credentials = config.AuthenticationConfig().get_credentials(
            "https", "code.example.com", user="bob")
        self.assertIsNone(credentials["password"])
