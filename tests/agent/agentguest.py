"""A real test guest running spirit-agent, for the agent's integration tests and bench/.

Builds on tests/integration/realguest.py (imported, not changed): same guest, same virsh helper,
plus what the agent needs: more memory, the spirit.0 socket, extra virtio-serial channels
(org.qemu.guest_agent.0 and a raw channel for the benchmark), and the kernel command line that
starts the agent.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import realguest  # noqa: E402
from realguest import GUEST, Guest, GuestFiles, virsh  # noqa: E402,F401

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def channel_xml(name, path):
    return ("    <channel type='unix'>\n"
            "      <source mode='bind' path='%s'/>\n"
            "      <target type='virtio' name='%s'/>\n"
            "    </channel>\n" % (path, name))


class AgentGuest(Guest):
    """A defined (not started) domain whose /init runs `agent` (a path inside the guest)."""

    def __init__(self, files, name, socket, agent="/usr/bin/spirit-agent", memory=512,
                 extra_channels=(), cmdline=""):
        self.name = name
        self.files = files
        self.offset = 0
        self.socket = socket
        self.console = os.path.join(files.dir, name + ".console")
        args = [os.path.join(GUEST, "make-domain.sh"), name, files.dir, "--console", self.console,
                "--socket", socket, "--memory", str(memory),
                "--cmdline", ("spirit.agent=%s %s" % (agent, cmdline)).strip()]
        xml = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
        extra = "".join(channel_xml(n, p) for n, p in extra_channels)
        xml = xml.replace("  </devices>", extra + "  </devices>", 1)
        path = os.path.join(files.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        virsh("define", path)

    def start(self, timeout=120):
        """Boots and waits for the guest's READY line; returns the guest's kernel release."""
        offset = self.mark()
        virsh("start", self.name)
        return self.wait_console(r"SPIRIT-GUEST-READY (\S+)", timeout=timeout, after=offset).group(1)

    def agent_starts(self):
        return len(re.findall(r"SPIRIT-AGENT-START", self.console_text()))

    def sanitizer_reports(self):
        text = self.console_text()
        return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)]
