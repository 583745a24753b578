"""Real libvirtd + QEMU guests for Spirit's integration tests.

Builds the tiny test guest (tests/guest/), defines TCG domains with unique names, reads the
guest's serial console file, and removes everything it defined. Needs root.
"""

import os
import re
import shutil
import subprocess
import tempfile

from spirittest import TESTS, Deadline, wait_until

GUEST = os.path.join(TESTS, "guest")
LIBVIRT = os.path.join(TESTS, "libvirt")
URI = "qemu:///system"


def virsh(*args, check=True):
    result = subprocess.run(["virsh", "-c", URI] + list(args), capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError("virsh %s failed: %s" % (" ".join(args), result.stderr))
    return result


def ensure_libvirtd():
    subprocess.run([os.path.join(LIBVIRT, "ensure-libvirtd.sh")], check=True, timeout=120)


def restart_libvirtd():
    subprocess.run([os.path.join(LIBVIRT, "restart-libvirtd.sh")], check=True, timeout=120,
                   env=dict(os.environ))


class GuestFiles:
    """A kernel+initramfs built once per test process, in a directory libvirt-qemu can read."""

    def __init__(self, extra_binaries=()):
        self.dir = tempfile.mkdtemp(prefix="spirit-guest-")
        os.chmod(self.dir, 0o755)
        args = [os.path.join(GUEST, "build-guest.sh"), self.dir]
        for binary in extra_binaries:
            args += ["--add", binary]
        subprocess.run(args, check=True, timeout=300, stdout=subprocess.DEVNULL)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Guest:
    """One defined domain. kind: "linux" boots the test kernel; "firmware" has nothing to boot and
    sits in SeaBIOS, ignoring the ACPI power button (a guest that will not shut down)."""

    def __init__(self, files, name, kind="linux", disk=False, socket=None, cmdline=""):
        self.name = name
        self.files = files
        self.offset = 0
        self.console = os.path.join(files.dir, name + ".console")
        if kind == "linux":
            args = [os.path.join(GUEST, "make-domain.sh"), name, files.dir, "--console", self.console]
            if disk:
                self.disk = os.path.join(files.dir, name + ".qcow2")
                subprocess.run([os.path.join(GUEST, "make-disk.sh"), self.disk], check=True, timeout=60,
                               stdout=subprocess.DEVNULL)
                args += ["--disk", self.disk]
            if socket:
                args += ["--socket", socket]
            if cmdline:
                args += ["--cmdline", cmdline]
            xml = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
        else:
            xml = FIRMWARE_ONLY_XML % {"name": name}
        path = os.path.join(files.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        virsh("define", path)

    def undefine(self):
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, "--managed-save", "--snapshots-metadata", "--nvram", check=False)

    def mark(self):
        """From now on ticks() reads only what the console gets after this point (a new boot)."""
        self.offset = len(self.console_text())
        return self.offset

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ticks(self):
        """[(n, uptime)] of every SPIRIT-TICK line so far, in order."""
        text = self.console_text()[self.offset:]
        return [(int(n), float(up)) for n, up in re.findall(r"SPIRIT-TICK (\d+) ([\d.]+)", text)]

    def wait_console(self, pattern, timeout=60, after=0):
        """Waits until pattern appears in the console past offset `after`; returns the match."""
        found = []

        def check():
            m = re.compile(pattern).search(self.console_text(), after)
            if m:
                found.append(m)
            return bool(found)
        try:
            wait_until(check, timeout=timeout, what="%r on %s's console" % (pattern, self.name),
                       poll=0.1)
        except Deadline as e:
            tail = self.console_text()[max(after, len(self.console_text()) - 3000):]
            raise Deadline("%s; the console past the offset ends with:\n%s" % (e, tail)) from None
        return found[0]

    def wait_ticks_past(self, n, timeout=60):
        wait_until(lambda: any(t > n for t, _ in self.ticks()), timeout=timeout,
                   what="%s to tick past %d" % (self.name, n), poll=0.1)


FIRMWARE_ONLY_XML = """<domain type='qemu'>
  <name>%(name)s</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='network'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='none'/>
  </devices>
</domain>
"""
