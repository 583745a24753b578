#!/usr/bin/python3
"""Manager.DefineVM against the real libvirtd and QEMU (TCG): a VM made from the linux profile
boots, its spirit-agent answers on the spirit.0 channel that libvirt placed, and its memory
balloon moves live; and a VM backed by 2 MB huge pages starts on them.

The guest is the project's tiny Linux (tests/guest/) with spirit-agent and virtio_balloon in
its initramfs; its kernel, initramfs and command line all come from the DefineVM options. The
agent is reached with tests/agent/agentclient.py on the socket path read from the live XML.
One guest boot per test class. Needs root.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import realguest
from realguest import GUEST, virsh
from spirittest import (BUS_NAME, MANAGER_IFACE, ROOT, TESTS, Deadline, Gio, GLib, SpiritTestCase,
                        drain_main_context, main, wait_until)

sys.path.insert(0, os.path.join(TESTS, "agent"))
from agentclient import AgentClient  # noqa: E402

ERR = "org.crom.Spirit.Error."
PREFIX = "spirit-define-%d-" % os.getpid()
MiB = 1024 * 1024
AGENT = os.environ.get("SPIRIT_AGENT") or os.path.join(
    os.environ.get("SPIRIT_BUILD_DIR", "build"), "agent", "spirit-agent")
POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/"


def read_int(path):
    with open(path) as f:
        return int(f.read())


def meminfo_kib(text, field):
    return int(re.search(r"^%s:\s+(\d+) kB" % field, text, re.M).group(1))


class DefineGuestCase(SpiritTestCase):
    uri = realguest.URI

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for qemu:///system")
        realguest.ensure_libvirtd()
        cls.dir = tempfile.mkdtemp(prefix="spirit-define-guest-")
        os.chmod(cls.dir, 0o755)
        subprocess.run([os.path.join(GUEST, "build-guest.sh"), cls.dir, "--add", AGENT,
                        "--module", "virtio_balloon"], check=True, timeout=300, stdout=subprocess.DEVNULL)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        self.names = []
        super().setUp()

    def tearDown(self):
        for name in self.names:
            virsh("destroy", name, check=False)
            virsh("undefine", name, "--nvram", check=False)
        super().tearDown()

    def define(self, suffix, memory_mib=512, **extra):
        name = PREFIX + suffix
        self.names.append(name)
        self.console = os.path.join(self.dir, name + ".console")
        opts = {
            "profile": GLib.Variant("s", "linux"),
            "kernel": GLib.Variant("s", os.path.join(self.dir, "vmlinuz")),
            "initrd": GLib.Variant("s", os.path.join(self.dir, "initramfs.cpio.gz")),
            "cmdline": GLib.Variant("s", "console=ttyS0 quiet panic=-1 spirit.agent=/usr/bin/spirit-agent"),
            # nested KVM guests hang on this kind of machine: TCG, as every real-guest test
            "virt-type": GLib.Variant("s", "qemu"),
            "memory": GLib.Variant("t", memory_mib * MiB),
            "cpus": GLib.Variant("u", 1),
            "network": GLib.Variant("s", ""),
            "graphics": GLib.Variant("s", "none"),
            "serial-log": GLib.Variant("s", self.console),
            "balloon-period": GLib.Variant("u", 1),
        }
        opts.update(extra)
        reply = self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, "DefineVM",
                                   GLib.Variant("(sa{sv}b)", (name, opts, False)), GLib.VariantType("(os)"),
                                   Gio.DBusCallFlags.NONE, 120000, None)
        drain_main_context()
        return name, reply.unpack()

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout=120):
        found = []

        def ready():
            found.extend(re.findall(r"SPIRIT-GUEST-READY (\S+)", self.console_text()))
            return bool(found)
        try:
            wait_until(ready, timeout=timeout, what="SPIRIT-GUEST-READY on the console", poll=0.2)
        except Deadline as e:
            raise Deadline("%s; console:\n%s" % (e, self.console_text()[-3000:])) from None
        return found[0]

    def live_xml(self, name):
        return ET.fromstring(virsh("dumpxml", name).stdout)


class DefineLinuxGuestTest(DefineGuestCase):
    def test_linux_profile_boots_agent_answers_balloon_moves(self):
        name, (path, xml) = self.define("linux")
        self.assertEqual(self.vm_path(name), path)
        stored = ET.fromstring(xml)
        self.assertEqual(stored.get("type"), "qemu")
        self.assertIsNone(stored.find("os/loader"), "no OVMF for the linux profile")

        self.call_vm(name, "Start", timeout_ms=120000)
        self.assertEqual(self.vm_prop(name, "State"), "running")
        release = self.wait_ready()

        # libvirt placed the spirit.0 socket itself: the live XML says where
        live = self.live_xml(name)
        channel = [c for c in live.findall("devices/channel") if c.find("target").get("name") == "spirit.0"][0]
        socket_path = channel.find("source").get("path")
        self.assertTrue(socket_path and socket_path.startswith("/"), ET.tostring(channel))
        self.assertEqual(live.find("devices/memballoon").get("model"), "virtio")

        client = AgentClient(socket_path=socket_path)
        try:
            hello = client.hello(timeout=90)
            self.assertEqual(hello["os"], "linux")
            job = client.run(["uname", "-r"])
            self.assertEqual(job.exit["code"], 0)
            self.assertEqual(bytes(job.stdout).decode().strip(), release)

            def guest_memtotal():
                job = client.run(["cat", "/proc/meminfo"])
                return meminfo_kib(bytes(job.stdout).decode(), "MemTotal")

            before = guest_memtotal()
            self.assertGreater(before, 400 * 1024)
            # the balloon inflates by 192 MiB: the guest's MemTotal shrinks by as much
            self.call_vm(name, "SetMemory", ("(t)", (320 * 1024,)))
            wait_until(lambda: guest_memtotal() <= before - 180 * 1024, timeout=60,
                       what="the guest's MemTotal to drop by 192 MiB (was %d KiB)" % before)
            wait_until(lambda: self.vm_prop(name, "MemoryKiB") == 320 * 1024, timeout=30,
                       what="MemoryKiB to follow the balloon (is %s)" % self.vm_prop(name, "MemoryKiB"))
            self.assertEqual(self.vm_prop(name, "MemoryStats")["actual_balloon"], 320 * 1024)
            # and back
            self.call_vm(name, "SetMemory", ("(t)", (512 * 1024,)))
            wait_until(lambda: guest_memtotal() >= before - 8 * 1024, timeout=60,
                       what="the guest's MemTotal to come back to %d KiB" % before)
            wait_until(lambda: self.vm_prop(name, "MemoryKiB") == 512 * 1024, timeout=30,
                       what="MemoryKiB back at 512 MiB")
            # the guest's balloon driver reports every second (balloon-period 1)
            stats = self.vm_prop(name, "MemoryStats")
            self.assertEqual(stats["actual_balloon"], 512 * 1024)
            self.assertIn("available", stats, stats)
            self.assertLessEqual(stats["available"], before + 1024)
            self.assertIn("rss", stats)
        finally:
            client.close()
        self.call_vm(name, "ForceStop")
        self.assertEqual(self.vm_prop(name, "State"), "shutoff")


if __name__ == "__main__":
    main()
