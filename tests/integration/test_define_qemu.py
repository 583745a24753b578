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
import signal
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import realguest
import spirittest
from realguest import GUEST, virsh
from spirittest import (BUS_NAME, MANAGER_IFACE, ROOT, TESTS, Deadline, Gio, GLib, SpiritTestCase,
                        drain_main_context, main, wait_until)

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
        opts = {key: value for key, value in opts.items() if value is not None}
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

        # spiritd owns the channel (one client per socket): its agent link answers for the guest
        wait_until(lambda: self.vm_prop(name, "AgentConnected"), timeout=120,
                   what="spiritd's link to the guest's agent")
        self.assertEqual(self.vm_prop(name, "GuestOS"), "linux")
        self.assertEqual(self.vm_prop(name, "GuestKernel"), release)
        out = self.spiritctl("exec", name, "--", "uname", "-r", check=0).stdout.decode()
        self.assertEqual(out.strip(), release)

        def guest_memtotal():
            return meminfo_kib(self.spiritctl("exec", name, "--", "cat", "/proc/meminfo",
                                              check=0).stdout.decode(), "MemTotal")

        before = guest_memtotal()
        self.assertGreater(before, 400 * 1024)
        # the balloon inflates by 192 MiB: the guest's MemTotal shrinks by as much
        self.call_vm(name, "SetMemory", ("(t)", (320 * 1024,)))
        wait_until(lambda: guest_memtotal() <= before - 180 * 1024, timeout=60,
                   what="the guest's MemTotal to drop by 192 MiB (was %d KiB)" % before, poll=0.5)
        wait_until(lambda: self.vm_prop(name, "MemoryKiB") == 320 * 1024, timeout=30,
                   what="MemoryKiB to follow the balloon (is %s)" % self.vm_prop(name, "MemoryKiB"))
        self.assertEqual(self.vm_prop(name, "MemoryStats")["actual_balloon"], 320 * 1024)
        # and back
        self.call_vm(name, "SetMemory", ("(t)", (512 * 1024,)))
        wait_until(lambda: guest_memtotal() >= before - 8 * 1024, timeout=60,
                   what="the guest's MemTotal to come back to %d KiB" % before, poll=0.5)
        wait_until(lambda: self.vm_prop(name, "MemoryKiB") == 512 * 1024, timeout=30,
                   what="MemoryKiB back at 512 MiB")
        # CpuUsage: a busy loop on one vCPU shows, and goes when it ends (spiritd reads libvirt's
        # CPU time every 2 s). Bounds are loose: the host's 2 CPUs run other tests too.
        one_vcpu = 100.0 / self.vm_prop(name, "Vcpus")
        busy_level = 0.4 * one_vcpu
        wait_until(lambda: self.vm_prop(name, "CpuUsage") < busy_level, timeout=60,
                   what="the guest to be idle before the loop")
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address, LC_ALL="C.UTF-8")
        busy = subprocess.Popen([spirittest.SPIRITCTL, "exec", "--timeout", "60", name, "--",
                                 "sh", "-c", "echo started; while :; do :; done"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(busy.stdout.readline(), b"started\n")  # spiritctl waits for it
            wait_until(lambda: self.vm_prop(name, "CpuUsage") >= busy_level, timeout=30,
                       what="CpuUsage to show a busy vCPU (one is %.0f %%)" % one_vcpu)
            self.assertLessEqual(self.vm_prop(name, "CpuUsage"), 100.0)
        finally:
            busy.send_signal(signal.SIGINT)  # spiritctl turns it into Cancel(job, "INT")
            _, err = busy.communicate(timeout=60)
        self.assertEqual(busy.returncode, 128 + signal.SIGINT, err)
        wait_until(lambda: self.vm_prop(name, "CpuUsage") < busy_level, timeout=30,
                   what="CpuUsage to drop after the loop")

        # the guest's balloon driver reports every second (balloon-period 1)
        stats = self.vm_prop(name, "MemoryStats")
        self.assertEqual(stats["actual_balloon"], 512 * 1024)
        self.assertIn("available", stats, stats)
        self.assertLessEqual(stats["available"], before + 1024)
        self.assertIn("rss", stats)
        self.call_vm(name, "ForceStop")
        self.assertEqual(self.vm_prop(name, "State"), "shutoff")


PRIVATE_LIBVIRTD = """#!/bin/sh
# A libvirtd of its own, in this mount namespace: its state, configuration and sockets on empty
# tmpfs mounts (the host's libvirtd and its VMs stay untouched), and a hugetlbfs of 2 MB pages
# that it finds when it starts, as libvirtd finds hugetlbfs mounts only then.
set -e
dir=$1
for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt/qemu /etc/libvirt/nwfilter \\
    /etc/libvirt/secrets; do
  mount -t tmpfs tmpfs "$d"
done
mount -t hugetlbfs -o pagesize=2M hugetlbfs "$dir/hugepages"
# a host without KVM: DefineVM, left to choose, must pick TCG (<domain type='qemu'>). An empty
# file, not /dev/null, in its place: QEMU's KVM probe then fails at once (with /dev/null it
# takes libvirt half a minute). QEMU then gets no /dev of its own (namespaces = []): libvirt
# cannot copy a bind-mounted regular file into one.
if [ -e /dev/kvm ]; then
  : >"$dir/no-kvm"
  mount --bind "$dir/no-kvm" /dev/kvm
  { cat /etc/libvirt/qemu.conf; echo 'namespaces = []'; } >"$dir/qemu.conf"
  mount --bind "$dir/qemu.conf" /etc/libvirt/qemu.conf
fi
virtlogd -d --pid-file "$dir/virtlogd.pid"
exec libvirtd --pid-file "$dir/libvirtd.pid"
"""


class DefineHugepagesTest(DefineGuestCase):
    """A VM backed by 2 MB huge pages, against a private libvirtd that sees a hugetlbfs mount and
    no /dev/kvm (DefineVM then picks TCG itself).

    The host's libvirtd finds hugetlbfs mounts only when it starts (tests/libvirt/lib.sh mounts
    /dev/hugepages before it starts one), and other tests share it: this class starts its own
    libvirtd in a private mount namespace and runs spiritd there. The host's 2 MB pool is really
    grown (through spiritd's ReserveHugePages) and given back in tearDown.
    """

    MEMORY_MIB = 256
    PAGES = MEMORY_MIB // 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private = tempfile.mkdtemp(prefix="spirit-define-libvirtd-")
        os.chmod(cls.private, 0o755)  # QEMU (libvirt-qemu) opens the guest RAM in hugepages/
        os.mkdir(os.path.join(cls.private, "hugepages"))
        script = os.path.join(cls.private, "libvirtd.sh")
        with open(script, "w") as f:
            f.write(PRIVATE_LIBVIRTD)
        cls.libvirtd_log = open(os.path.join(cls.private, "libvirtd.log"), "w")
        cls.libvirtd = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", script,
                                         cls.private], stdout=cls.libvirtd_log, stderr=subprocess.STDOUT)
        pidfile = os.path.join(cls.private, "libvirtd.pid")
        try:
            wait_until(lambda: cls.libvirtd.poll() is not None or os.path.exists(pidfile), timeout=30,
                       what="the private libvirtd's pid file", poll=0.1)
            if cls.libvirtd.poll() is not None:
                raise AssertionError("the private libvirtd exited: " + open(cls.libvirtd_log.name).read())
            cls.namespace = "/proc/%d/ns/mnt" % cls.libvirtd.pid
            wait_until(lambda: cls.private_virsh("uri", check=False).returncode == 0, timeout=60,
                       what="the private libvirtd to answer", poll=0.2)
        except Exception:
            cls.tearDownClass()
            raise
        # spiritd lives in the namespace too, where qemu:///system is the private libvirtd
        cls.wrapper = os.path.join(cls.private, "spiritd")
        with open(cls.wrapper, "w") as f:
            f.write("#!/bin/sh\nexec nsenter --mount=%s -- %s \"$@\"\n" % (cls.namespace, spirittest.SPIRITD))
        os.chmod(cls.wrapper, 0o755)
        cls.real_spiritd, spirittest.SPIRITD = spirittest.SPIRITD, cls.wrapper

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "real_spiritd", None):
            spirittest.SPIRITD = cls.real_spiritd
        if getattr(cls, "libvirtd", None) is not None:
            cls.libvirtd.terminate()
            cls.libvirtd.wait(timeout=30)
            virtlogd = os.path.join(cls.private, "virtlogd.pid")
            if os.path.exists(virtlogd):
                with open(virtlogd) as f:
                    pid = int(f.read())
                os.kill(pid, 15)
            cls.libvirtd_log.close()
        if getattr(cls, "private", None):
            shutil.rmtree(cls.private, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def private_virsh(cls, *args, check=True):
        result = subprocess.run(["nsenter", "--mount=" + cls.namespace, "--", "virsh", "-c", realguest.URI]
                                + list(args), capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError("virsh %s failed: %s" % (" ".join(args), result.stderr))
        return result

    def setUp(self):
        self.pool_before = read_int(POOL + "nr_hugepages")
        super().setUp()

    def tearDown(self):
        for name in self.names:
            self.private_virsh("destroy", name, check=False)
            self.private_virsh("undefine", name, check=False)
        self.names = []
        super().tearDown()
        # give back what the test reserved: the pool is the host's
        with open(POOL + "nr_hugepages", "w") as f:
            f.write(str(self.pool_before))

    def hugepages(self):
        reply = self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, "GetHugePages", None,
                                   GLib.VariantType("(a(ttt))"), Gio.DBusCallFlags.NONE, 10000, None)
        return {size: (total, free) for size, total, free in reply.unpack()[0]}[2048]

    @staticmethod
    def reserved_pages():
        """Pages promised to mappings (QEMU's) but not touched yet."""
        with open("/proc/meminfo") as f:
            return int(re.search(r"^HugePages_Rsvd:\s+(\d+)", f.read(), re.M).group(1))

    def test_vm_on_huge_pages(self):
        total, free = self.hugepages()
        self.assertEqual((total, free), (read_int(POOL + "nr_hugepages"), read_int(POOL + "free_hugepages")))
        hugepages = {"hugepages": GLib.Variant("b", True)}
        missing = self.PAGES - free
        if missing > 0:
            # too few free pages: refused, saying how many to reserve
            message = self.assert_dbus_error(ERR + "InvalidArgument", self.define, "hp", self.MEMORY_MIB,
                                             **hugepages)
            self.assertIn("needs %d 2 MB pages, only %d are free" % (self.PAGES, free), message)
            self.assertIn("reserve %d more" % missing, message)
            self.assertEqual(self.private_virsh("list", "--all", "--name").stdout.strip(), "")
            reply = self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, "ReserveHugePages",
                                       GLib.Variant("(tt)", (2048, missing)), GLib.VariantType("(tt)"),
                                       Gio.DBusCallFlags.NONE, 60000, None).unpack()
            self.assertEqual(reply, (total + missing, free + missing))
            self.assertEqual(read_int(POOL + "nr_hugepages"), total + missing)
            self.names = []

        free_before = read_int(POOL + "free_hugepages")
        rsvd_before = self.reserved_pages()
        # no virt-type: this libvirtd offers no KVM, so spiritd picks TCG by itself
        name, (path, xml) = self.define("hp", self.MEMORY_MIB, **hugepages, **{"virt-type": None})
        self.assertEqual(ET.fromstring(xml).get("type"), "qemu")
        page = ET.fromstring(xml).find("memoryBacking/hugepages/page")
        self.assertEqual((page.get("size"), page.get("unit")), ("2048", "KiB"))
        self.call_vm(name, "Start", timeout_ms=120000)
        self.wait_ready()
        live = ET.fromstring(self.private_virsh("dumpxml", name).stdout)
        self.assertEqual(live.find("memoryBacking/hugepages/page").get("size"), "2048")
        # the guest's RAM is a file in the hugetlbfs: its pages are taken from the pool
        free_now = read_int(POOL + "free_hugepages")
        self.assertLess(free_now, free_before, "the guest's memory did not come from the huge page pool")
        self.assertEqual((free_before - free_now) + self.reserved_pages() - rsvd_before, self.PAGES,
                         "the VM's %d pages are either in use or reserved for it" % self.PAGES)
        self.call_vm(name, "ForceStop")
        wait_until(lambda: read_int(POOL + "free_hugepages") == free_before, timeout=30,
                   what="the pages to return to the pool", poll=0.1)


if __name__ == "__main__":
    main()
