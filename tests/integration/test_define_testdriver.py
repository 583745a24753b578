#!/usr/bin/python3
"""Manager.DefineVM, ListProfiles, GetHugePages and VM.Retune against libvirt's test driver.

spiritd runs the whole path (polkit off, --no-polkit): the profiles in data/profiles, this
machine's CPU topology and huge pages, libvirt's own define. The returned XML is parsed and
looked at element by element, never compared as a whole document.

Run one class with: tests/integration/test_define_testdriver.py DefineTest
"""

import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from spirittest import (BUS_NAME, MANAGER_IFACE, ROOT, SOURCE_ROOT, Gio, GLib, SpiritTestCase,
                        drain_main_context, main, wait_until)

ERR = "org.crom.Spirit.Error."
MiB = 1024 * 1024


def options(**kwargs):
    """a{sv} from Python values: bool b, str s, list as, int u unless the key takes t."""
    types = {"memory": "t", "hugepage-size": "t"}
    result = {}
    for key, value in kwargs.items():
        key = key.replace("_", "-")
        if isinstance(value, bool):
            sig = "b"
        elif isinstance(value, str):
            sig = "s"
        elif isinstance(value, list):
            sig = "as"
        else:
            sig = types.get(key, "u")
        result[key] = GLib.Variant(sig, value)
    return result


def online_cpus():
    with open("/sys/devices/system/cpu/online") as f:
        text = f.read().strip()
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


class DefineBase(SpiritTestCase):
    def setUp(self):
        self.files = tempfile.TemporaryDirectory(prefix="spirit-define-")
        self.kernel = os.path.join(self.files.name, "vmlinuz")
        self.initrd = os.path.join(self.files.name, "initrd.img")
        self.disk = os.path.join(self.files.name, "disk.img")
        for path in (self.kernel, self.initrd, self.disk):
            with open(path, "wb") as f:
                f.write(b"\0" * 4096)
        self.added = []
        super().setUp()
        self.objects.connect("object-added", lambda manager, obj: self.added.append(obj.get_object_path()))

    def tearDown(self):
        super().tearDown()
        self.files.cleanup()

    def manager_call(self, method, signature, args, reply=None, timeout_ms=60000):
        result = self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, method,
                                    GLib.Variant(signature, args) if signature else None,
                                    GLib.VariantType(reply) if reply else None,
                                    Gio.DBusCallFlags.NONE, timeout_ms, None)
        drain_main_context()
        return result.unpack()

    def define(self, name, dry_run=False, **kwargs):
        path, xml = self.manager_call("DefineVM", "(sa{sv}b)", (name, options(**kwargs), dry_run), "(os)")
        return path, ET.fromstring(xml)

    def linux(self, name, dry_run=False, **kwargs):
        kwargs.setdefault("kernel", self.kernel)
        kwargs.setdefault("network", "")
        return self.define(name, dry_run, profile="linux", **kwargs)


class DefineTest(DefineBase):
    def test_list_profiles(self):
        (profiles,) = self.manager_call("ListProfiles", None, None, "(a(ss))")
        names = [name for name, _ in profiles]
        self.assertEqual(names, ["linux", "windows"])
        self.assertIn("Linux guest", dict(profiles)["linux"])

    def test_memory_stats_property(self):
        # the test driver has no balloon statistics (test_define_qemu.py reads real ones)
        for name in ("alpha", "beta", "gamma"):
            self.assertEqual(self.vm_prop(name, "MemoryStats"), {}, name)

    def test_get_huge_pages_matches_sysfs(self):
        (pools,) = self.manager_call("GetHugePages", None, None, "(a(ttt))")
        pools = {size: (total, free) for size, total, free in pools}
        self.assertIn(2048, pools)
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") as f:
            total = int(f.read())
        # another test may change the pool meanwhile: the value must at least be a real one
        self.assertLessEqual(pools[2048][1], pools[2048][0])
        self.assertGreaterEqual(total, 0)

    def test_linux_direct_kernel_boot(self):
        path, dom = self.linux("dk-linux", memory=512 * MiB, cpus=1, initrd=self.initrd,
                               cmdline="console=ttyS0 spirit.agent=/usr/bin/spirit-agent",
                               virt_type="qemu")
        # the object is there before the reply, with the new VM's properties
        self.assertIn(path, self.added)
        self.assertEqual(self.vm_path("dk-linux"), path)
        self.assertEqual(self.vm_prop("dk-linux", "State"), "shutoff")
        self.assertEqual(self.vm_prop("dk-linux", "MemoryKiB"), 512 * 1024)
        self.assertEqual(self.vm_prop("dk-linux", "Vcpus"), 1)
        self.assertIn("dk-linux", self.vm_names())
        # libvirt's stored definition: what we built, plus the UUID it made
        self.assertEqual(dom.get("type"), "qemu")
        self.assertEqual(dom.findtext("name"), "dk-linux")
        self.assertRegex(dom.findtext("uuid"), r"^[0-9a-f-]{36}$")
        self.assertEqual(dom.findtext("os/kernel"), self.kernel)
        self.assertEqual(dom.findtext("os/initrd"), self.initrd)
        self.assertEqual(dom.findtext("os/cmdline"), "console=ttyS0 spirit.agent=/usr/bin/spirit-agent")
        self.assertIsNone(dom.find("os/loader"))
        self.assertIsNone(dom.find("devices/interface"))

    def test_virt_type(self):
        # the test driver cannot say whether it offers KVM: the default stays kvm
        _, dom = self.linux("vt-default", dry_run=True)
        self.assertEqual(dom.get("type"), "kvm")
        _, dom = self.linux("vt-tcg", dry_run=True, virt_type="qemu")
        self.assertEqual(dom.get("type"), "qemu")
        self.assertIsNone(dom.find("cpu").get("mode"), "TCG keeps QEMU's CPU model")

    def test_every_definition_has_the_agent_channel_and_balloon(self):
        for name, kwargs in (("ch-linux", dict(profile="linux", kernel=self.kernel)),
                             ("ch-disk", dict(profile="linux", disk=self.disk, balloon_period=7))):
            _, dom = self.define(name, True, network="", **kwargs)
            channels = [c for c in dom.findall("devices/channel") if c.find("target").get("name") == "spirit.0"]
            self.assertEqual(len(channels), 1, name)
            channel = channels[0]
            self.assertEqual(channel.get("type"), "unix")
            self.assertEqual(channel.find("target").get("type"), "virtio")
            self.assertEqual(channel.find("source").get("mode"), "bind")
            self.assertIsNone(channel.find("source").get("path"), "libvirt picks the socket path")
            balloon = dom.find("devices/memballoon")
            self.assertEqual(balloon.get("model"), "virtio")
            self.assertEqual(balloon.find("stats").get("period"), "7" if name == "ch-disk" else "5")

    def test_windows_profile(self):
        if not os.path.exists("/usr/share/OVMF/OVMF_CODE_4M.ms.fd"):
            self.fail("the windows profile needs ovmf (tools/install-deps.sh installs it)")
        path, dom = self.define("win-vm", profile="windows", disk=self.disk, network="", cpus=2,
                                memory=4096 * MiB)
        self.assertEqual(self.vm_path("win-vm"), path)
        self.assertEqual(dom.find("os/loader").get("secure"), "yes")
        self.assertIsNotNone(dom.find("features/hyperv/relaxed"))
        self.assertEqual(dom.find("clock").get("offset"), "localtime")
        self.assertEqual(dom.find("devices/disk/driver").get("cache"), "none")
        self.assertEqual(int(dom.findtext("memory")), 4096 * 1024)

    def test_tuning_combinations(self):
        cpus = online_cpus()
        # pinning and huge pages are checked against this machine: ask for what it has
        _, dom = self.linux("tune-iommu", dry_run=True, iommu=True, cpus=1, balloon_period=0)
        self.assertEqual(dom.find("devices/iommu").get("model"), "intel")
        self.assertIsNone(dom.find("devices/memballoon/stats"))
        self.assertEqual(dom.findtext("vcpu"), "1")
        if cpus >= 2:
            _, dom = self.linux("tune-pin", dry_run=True, cpus=1, pin="1")
            pins = dom.findall("cputune/vcpupin")
            self.assertEqual([(p.get("vcpu"), p.get("cpuset")) for p in pins], [("0", "1")])
            self.assertIsNotNone(dom.find("cputune/emulatorpin"))

    def test_dry_run_xml_passes_libvirts_schema(self):
        # what DefineVM would define, for each profile, through virt-xml-validate (domain.rng)
        for name, kwargs in (("schema-linux", dict(profile="linux", kernel=self.kernel, initrd=self.initrd,
                                                   cmdline="console=ttyS0", virt_type="qemu", iommu=True)),
                             ("schema-windows", dict(profile="windows", disk=self.disk, cdrom=[self.disk], cpus=1))):
            path, xml = self.manager_call("DefineVM", "(sa{sv}b)", (name, options(**kwargs), True), "(os)")
            self.assertEqual(path, "/")
            target = os.path.join(self.files.name, name + ".xml")
            with open(target, "w") as f:
                f.write(xml)
            result = subprocess.run(["virt-xml-validate", target, "domain"], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("validates", result.stdout + result.stderr)

    def test_dry_run_defines_nothing(self):
        before = self.vm_names()
        path, dom = self.linux("dry-vm", dry_run=True, memory=256 * MiB)
        self.assertEqual(path, "/")
        self.assertEqual(dom.findtext("name"), "dry-vm")
        self.assertIsNone(dom.find("uuid"))
        self.assertEqual(self.vm_names(), before)
        self.assertEqual(self.added, [])
        self.assert_dbus_error(ERR + "NoSuchVM", self.vm_path, "dry-vm")

    def test_spiritd_exits_cleanly_after_defines(self):
        self.linux("clean-1")
        self.linux("clean-2", cpus=1)
        self.assertEqual(self.stop_daemon(), 0, self.daemon.output())


class DefineErrorsTest(DefineBase):
    def assert_refused(self, error, fragments, name="bad-vm", dry_run=False, **kwargs):
        before = self.vm_names()
        self.assert_dbus_error(ERR + error, self.define, name, dry_run, **kwargs, contains=fragments)
        self.assertEqual(self.vm_names(), before)

    def test_bad_requests_say_what_to_change(self):
        self.assert_refused("InvalidArgument", ["profile"], kernel=self.kernel)
        self.assert_refused("InvalidArgument", ["No profile named \"plan9\"", "linux, windows"],
                            profile="plan9", kernel=self.kernel)
        self.assert_refused("InvalidArgument", ["colour"], profile="linux", kernel=self.kernel, colour="red")
        self.assert_refused("InvalidArgument", ["kernel", "does not exist"], profile="linux",
                            kernel="/nonexistent/vmlinuz")
        self.assert_refused("InvalidArgument", ["name"], name="-bad", profile="linux", kernel=self.kernel)
        self.assert_refused("InvalidArgument", ["ask for at most %d" % online_cpus()], profile="linux",
                            kernel=self.kernel, cpus=online_cpus() + 1)
        self.assert_refused("InvalidArgument", ["pin"], profile="linux", kernel=self.kernel,
                            cpus=1, pin="0-%d" % (online_cpus() - 1))

    def test_huge_pages_missing_are_counted(self):
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            free = int(f.read())
        memory = (free + 100) * 2 * MiB
        self.assert_refused("InvalidArgument", ["reserve", "more"], profile="linux", kernel=self.kernel,
                            memory=memory, hugepages=True)

    def test_an_existing_name_is_refused(self):
        self.assert_refused("InvalidArgument", ["already exists"], name="alpha", profile="linux",
                            kernel=self.kernel)

    def test_unknown_host(self):
        self.assert_refused("InvalidArgument", ["No host named 'mars'", "local"], name="mars/vm",
                            profile="linux", kernel=self.kernel)

    def test_wrong_types(self):
        before = self.vm_names()
        with self.assertRaises(GLib.Error) as ctx:
            self.manager_call("DefineVM", "(sa{sv}b)",
                              ("typed", {"profile": GLib.Variant("s", "linux"), "kernel": GLib.Variant("s", self.kernel),
                                         "cpus": GLib.Variant("s", "two")}, False), "(os)")
        self.assertEqual(Gio.DBusError.get_remote_error(ctx.exception), ERR + "InvalidArgument")
        self.assertIn("cpus", ctx.exception.message)
        self.assertEqual(self.vm_names(), before)

    def test_reserve_bad_arguments(self):
        for size, count, fragment in ((4, 1, "not supported"), (2048, 0, "1 to")):
            with self.assertRaises(GLib.Error) as ctx:
                self.manager_call("ReserveHugePages", "(tt)", (size, count), "(tt)")
            self.assertEqual(Gio.DBusError.get_remote_error(ctx.exception), ERR + "InvalidArgument")
            self.assertIn(fragment, ctx.exception.message)


class RetuneTest(DefineBase):
    def retune(self, name, **kwargs):
        (xml,) = self.call_vm(name, "Retune", ("(a{sv})", (options(**kwargs),)))
        return ET.fromstring(xml)

    def test_retune_changes_tuning_and_keeps_the_rest(self):
        path, before = self.linux("rt-vm", cpus=1, memory=512 * MiB, initrd=self.initrd)
        dom = self.retune("rt-vm", memory=1024 * MiB, iommu=True, balloon_period=9)
        self.assertEqual(int(dom.findtext("memory")), 1024 * 1024)
        self.assertEqual(dom.find("devices/iommu").get("model"), "intel")
        self.assertEqual(dom.find("devices/memballoon/stats").get("period"), "9")
        # the rest is kept: boot, UUID, the agent channel
        self.assertEqual(dom.findtext("uuid"), before.findtext("uuid"))
        self.assertEqual(dom.findtext("os/kernel"), self.kernel)
        self.assertEqual(dom.findtext("os/initrd"), self.initrd)
        names = [c.find("target").get("name") for c in dom.findall("devices/channel")]
        self.assertIn("spirit.0", names)
        wait_until(lambda: self.vm_prop("rt-vm", "MaxMemoryKiB") == 1024 * 1024,
                   what="MaxMemoryKiB to follow the retune")
        self.assertEqual(self.vm_path("rt-vm"), path)

    def test_retune_refuses_other_keys_and_keeps_the_vm(self):
        _, before = self.linux("rt-bad", cpus=1)
        self.assert_dbus_error(ERR + "InvalidArgument", self.retune, "rt-bad", kernel=self.kernel,
                               contains="kernel")
        self.assert_dbus_error(ERR + "InvalidArgument", self.retune, "rt-bad", cpus=online_cpus() + 1,
                               contains="ask for at most %d" % online_cpus())
        self.assertEqual(self.vm_prop("rt-bad", "Vcpus"), 1)
        self.assertEqual(self.vm_prop("rt-bad", "MaxMemoryKiB"), int(before.findtext("memory")))

    def test_retune_keeps_the_balloon_target(self):
        self.linux("rt-balloon", cpus=1, memory=1024 * MiB)
        self.call_vm("rt-balloon", "SetMemory", ("(t)", (512 * 1024,)))
        dom = self.retune("rt-balloon", balloon_period=2)
        self.assertEqual(int(dom.findtext("currentMemory")), 512 * 1024)
        self.assertEqual(int(dom.findtext("memory")), 1024 * 1024)

    def test_retune_a_vm_defined_elsewhere(self):
        # beta has 4 vCPUs; this machine may have fewer, and the retune checks them all
        dom = self.retune("beta", cpus=1, balloon_period=11)
        self.assertEqual(dom.findtext("name"), "beta")
        self.assertEqual(dom.findtext("vcpu"), "1")
        self.assertEqual(dom.find("devices/memballoon/stats").get("period"), "11")


class DefineCliTest(DefineBase):
    """spiritctl vm create / vm retune / profiles / host hugepages, through the real spiritd."""

    def test_create_dry_run_prints_xml_and_defines_nothing(self):
        before = self.vm_names()
        result = self.spiritctl("vm", "create", "cli-dry", "--profile", "linux", "--kernel", self.kernel,
                                "--memory", "768M", "--cpus", "1", "--no-network", "--virt-type", "qemu",
                                "--cmdline", "console=ttyS0", "--dry-run", check=0)
        dom = ET.fromstring(result.stdout)
        self.assertEqual(dom.get("type"), "qemu")
        self.assertEqual(int(dom.findtext("memory")), 768 * 1024)
        self.assertEqual(dom.findtext("os/cmdline"), "console=ttyS0")
        self.assertEqual(self.vm_names(), before)

    def test_create_relative_paths_and_retune(self):
        env_cwd = os.getcwd()
        os.chdir(self.files.name)
        try:
            result = self.spiritctl("vm", "create", "cli-vm", "-p", "linux", "--kernel", "vmlinuz",
                                    "--initrd", "initrd.img", "--cpus", "1", "--no-network", check=0)
        finally:
            os.chdir(env_cwd)
        self.assertIn("cli-vm: defined with the linux profile", result.stdout.decode())
        wait_until(lambda: "cli-vm" in self.vm_names(), what="cli-vm on the bus")
        result = self.spiritctl("vm", "retune", "cli-vm", "--memory", "1G", "--iommu", check=0)
        self.assertIn("cli-vm: retuned", result.stdout.decode())
        wait_until(lambda: self.vm_prop("cli-vm", "MaxMemoryKiB") == 1024 * 1024, what="the new memory")
        result = self.spiritctl("--json", "vm", "retune", "cli-vm", "--balloon-period", "4", check=0)
        dom = ET.fromstring(__import__("json").loads(result.stdout)["xml"])
        self.assertEqual(dom.findtext("os/kernel"), self.kernel)
        self.assertEqual(dom.find("devices/memballoon/stats").get("period"), "4")
        self.assertIsNotNone(dom.find("devices/iommu"))

    def test_create_errors(self):
        result = self.spiritctl("vm", "create", "cli-bad", "--kernel", self.kernel, check=2)
        self.assertIn("--profile", result.stderr.decode())
        result = self.spiritctl("vm", "create", "cli-bad", "-p", "linux", "--kernel", "/nonexistent", check=1)
        self.assertIn("does not exist", result.stderr.decode())
        result = self.spiritctl("vm", "create", "cli-bad", "-p", "linux", "--memory", "lots", check=2)
        self.assertIn("--memory", result.stderr.decode())
        self.assertNotIn("cli-bad", self.vm_names())

    def test_profiles_and_hugepages(self):
        result = self.spiritctl("profiles", check=0)
        lines = result.stdout.decode().splitlines()
        self.assertEqual([line.split()[0] for line in lines], ["linux", "windows"])
        profiles = self.spiritctl_json("profiles")
        self.assertEqual([p["Name"] for p in profiles], ["linux", "windows"])
        pools = self.spiritctl_json("host", "hugepages")
        self.assertIn(2048, [p["PageKiB"] for p in pools])
        result = self.spiritctl("host", "hugepages", "--size", "3M", check=2)
        self.assertIn("--size", result.stderr.decode())


if __name__ == "__main__":
    main()
