"""Installs the repository root as the package ``breezy.plugins.imapclient``."""

from setuptools import setup

PACKAGE = "breezy.plugins.imapclient"

setup(
    name="brz-imapclient",
    version="0.1.0.dev0",
    description="brz send stores merge requests as drafts in an IMAP Drafts folder",
    long_description=open("README", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="GPL-2.0-or-later",
    python_requires=">=3.9",
    package_dir={
        PACKAGE: ".",
        PACKAGE + ".imapclient_plugin": "imapclient_plugin",
        PACKAGE + ".imapclient_plugin.wire": "imapclient_plugin/wire",
        PACKAGE + ".tests": "tests",
    },
    packages=[PACKAGE, PACKAGE + ".imapclient_plugin", PACKAGE + ".imapclient_plugin.wire",
              PACKAGE + ".tests"],
    # Each floor is tested (.ci/run's "floors" and Debian 12's brz 3.3.2);
    # imapclient's top, by tests/test_wire.py: the releases whose private
    # names the door uses.
    install_requires=["breezy>=3.3", "imapclient>=3.0,<4.2", "keyring>=23"],
    # Breezy before 3.3.11 imports TestSkipped, which testtools 2.8 removed:
    # its test suite would not load.
    extras_require={"test": ["breezy[testing]>=3.3.11", "testtools", "keyrings.alt",
                             "pycryptodome", "trustme", "hypothesis", "pymap"]},
)
