"""What Breezy frees while it builds a bundle is given back, not kept
under the message (glibc; see imapclient_plugin.heap)."""

import platform
import sys

from breezy import tests

from . import fixtures

MB = 1 << 20

# In a fresh interpreter, as brz send goes: a big buffer freed (glibc then
# raises its trim threshold above it), the mail client made (or not), then
# a block the size of a small bundle taken from the heap's top and freed.
FREED_THEN_KEPT = """
import ctypes
def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(%(big)d))
stack = breezy.config.MemoryStack(b'mail_client = imapclient')
client_class = stack.get('mail_client')
if %(make_client)r:
    client_class(stack)
block = libc.malloc(%(block)d)
ctypes.memset(block, 1, %(block)d)
before = rss()
libc.free(block)
print(before - rss())
"""


class TestFreedMemoryGoesBack(tests.TestCase):

    def setUp(self) -> None:
        super().setUp()
        if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
            raise tests.TestNotApplicable("glibc's trim threshold")

    def given_back(self, make_client: bool) -> int:
        """Bytes given back to the system as an 8 MB block is freed."""
        return int(fixtures.run_with_plugin(FREED_THEN_KEPT % dict(
            big=16 * MB, block=8 * MB, make_client=make_client)))

    def test_without_the_client_glibc_keeps_it(self):
        # What the plugin is there for: the default keeps the freed block.
        self.assertLess(self.given_back(make_client=False), 2 * MB)

    def test_once_the_client_is_made_it_goes_back(self):
        self.assertGreater(self.given_back(make_client=True), 6 * MB)
