#!/usr/bin/python3
"""org.crom.Spirit.GPU through spiritd: the swap's orchestration on the host (issue 5).

spiritd runs on a private session bus over libvirt's test driver, against:
- the fake sysfs tree of tests/gpu (fake-gpu-kernel: a process that plays the kernel, binding
  and unbinding drivers and making device nodes as sysfs writes ask), through SPIRIT_SYSFS_ROOT;
- python-dbusmock's logind and systemd templates on a private system bus. The HUD's user manager
  is the same systemd mock (SPIRIT_USER_BUS_ADDRESS). StopUnit and StartUnit are replaced
  (AddMethod) by versions that record, at the moment spiritd calls them, which driver the GPU
  has and which inhibitors logind holds, so the order of the steps is checked from outside.

Every case ends with the same checks: where the GPU's functions are, whether the HUD unit runs,
whether an inhibitor is left, whether a journal is left.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import dbus
import dbusmock

import spirittest
from spirittest import GLib, Gio, wait_until

FAKE_KERNEL = spirittest._built("FAKE_GPU_KERNEL", "tests/gpu/fake-gpu-kernel")
GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"
IGPU = "0000:00:02.0"
GPU_PATH = "/org/crom/Spirit/gpu/0000_01_00_0"
GPU_IFACE = "org.crom.Spirit.GPU"
HUD = "nexus-hud.service"
SYSTEMD_MANAGER = "org.freedesktop.systemd1.Manager"
SYSTEMD_UNIT = "org.freedesktop.systemd1.Unit"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
TEST_IFACE = "org.crom.SpiritTest"  # the test's own methods on the systemd mock

PASSTHROUGH_STEPS = ["sessions", "inhibit", "stop-hud", "check", "holders", "vtconsoles",
                     "framebuffers", "driver_override", "unbind", "probe", "vfio-node", "define", "start-vm"]
RECLAIM_STEPS = ["inhibit", "remove-hostdevs", "vfio-holders", "clear-override", "unbind-vfio",
                 "probe-host", "host-nodes", "restore-vtconsoles", "start-hud"]

# Runs in the systemd mock: records the GPU's driver and logind's inhibitors at the call, then
# does what systemd does (job, ActiveState, JobRemoved), unless told to hang.
_JOB_CODE = '''
import json, os
from gi.repository import GLib
root = os.environ["SPIRIT_TEST_SYSFS_ROOT"]
link = root + "/sys/bus/pci/devices/0000:01:00.0/driver"
driver = os.path.basename(os.readlink(link)) if os.path.islink(link) else ""
logind = dbus.SystemBus().get_object("org.freedesktop.login1", "/org/freedesktop/login1")
inhibitors = [str(i[1]) for i in logind.ListInhibitors(dbus_interface="org.freedesktop.login1.Manager")]
if not hasattr(self, "hud_log"):
    self.hud_log = []
self.hud_log.append(["%(verb)s", str(args[0]), driver, inhibitors])
job_id = self.next_job_id
self.next_job_id += 1
job = "/org/freedesktop/systemd1/Job/%%d" %% job_id
objects[self.units[str(args[0])]].UpdateProperties("org.freedesktop.systemd1.Unit", {"ActiveState": "%(state)s"})
if not getattr(self, "%(verb)s_hangs", False):
    # (exec'd code: the lambda sees only its own arguments)
    GLib.idle_add(lambda s=self, i=job_id, j=job, u=args[0], d=dbus: s.EmitSignal(
        "org.freedesktop.systemd1.Manager", "JobRemoved", "uoss",
        [d.UInt32(i), d.ObjectPath(j), u, "done"]) and False)
ret = job
'''
STOP_UNIT_CODE = _JOB_CODE % {"verb": "stop", "state": "inactive"}
START_UNIT_CODE = _JOB_CODE % {"verb": "start", "state": "active"}


class GpuTestCase(spirittest.SpiritTestCase):
    tree = None  # fake-gpu-kernel's variant: None, "--non-viable" or "--iommu-off"
    polkit_allowed = None  # None: --no-polkit; a list: the polkitd mock allows these actions
    uri = spirittest.TEST_DRIVER_URI

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        dbusmock.DBusTestCase.start_system_bus()
        cls.system_address = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
        cls.system = dbus.bus.BusConnection(cls.system_address)

    @classmethod
    def tearDownClass(cls):
        cls.system.close()
        dbusmock.DBusTestCase.tearDownClass()
        super().tearDownClass()

    # --- the world around spiritd ----------------------------------------------------

    def _stop_mock(self, proc, name):
        proc.terminate()
        proc.wait()
        wait_until(lambda: not self.system.name_has_owner(name), timeout=30, what="%s to go" % name, poll=0.01)

    def _stop_kernel(self):
        self.kernel.stdin.close()
        self.kernel.wait(timeout=30)
        self.kernel.stdout.close()

    def setUp(self):
        self.mocks = []
        self.kernel = subprocess.Popen([FAKE_KERNEL] + ([self.tree] if self.tree else []),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self._stop_kernel)
        self.root = self.kernel.stdout.readline().strip()
        self.assertTrue(self.root.startswith("/"), "fake-gpu-kernel printed no root")
        self.state_dir = tempfile.mkdtemp(prefix="spirit-gpu-state-")
        self.addCleanup(shutil.rmtree, self.state_dir, True)
        os.environ["SPIRIT_TEST_SYSFS_ROOT"] = self.root

        proc, self.logind = dbusmock.DBusTestCase.spawn_server_template("logind", {}, stdout=subprocess.DEVNULL)
        self.addCleanup(self._stop_mock, proc, "org.freedesktop.login1")
        self.logind_mock = dbus.Interface(self.logind, dbusmock.MOCK_IFACE)
        self.logind_mock.AddSession("c1", "seat0", dbus.UInt32(1000), "alice", True)

        proc, self.systemd = dbusmock.DBusTestCase.spawn_server_template("systemd", {}, stdout=subprocess.DEVNULL)
        self.addCleanup(self._stop_mock, proc, "org.freedesktop.systemd1")
        self.systemd_mock = dbus.Interface(self.systemd, dbusmock.MOCK_IFACE)
        self.systemd_mock.AddMockUnit(HUD)
        self.systemd_mock.AddMethod(SYSTEMD_MANAGER, "StopUnit", "ss", "o", STOP_UNIT_CODE)
        self.systemd_mock.AddMethod(SYSTEMD_MANAGER, "StartUnit", "ss", "o", START_UNIT_CODE)
        self.systemd_mock.AddMethod(TEST_IFACE, "GetHudLog", "", "s",
                                    "import json\nret = json.dumps(getattr(self, 'hud_log', []))")
        self.systemd_mock.AddMethod(TEST_IFACE, "ClearHudLog", "", "", "self.hud_log = []")
        self.systemd_mock.AddMethod(TEST_IFACE, "SetHangs", "sb", "", "setattr(self, args[0] + '_hangs', bool(args[1]))")
        self.systemd_test = dbus.Interface(self.systemd, TEST_IFACE)
        self.systemd.StartUnit(HUD, "replace", dbus_interface=SYSTEMD_MANAGER)
        self.systemd_test.ClearHudLog()

        if self.polkit_allowed is not None:
            proc, polkitd = dbusmock.DBusTestCase.spawn_server_template("polkitd", {}, stdout=subprocess.DEVNULL)
            self.addCleanup(self._stop_mock, proc, "org.freedesktop.PolicyKit1")
            dbus.Interface(polkitd, dbusmock.MOCK_IFACE).SetAllowed(self.polkit_allowed)
            self.spiritd_args = []

        self.progress = []
        self.extra_env = {}
        super().setUp()
        self._progress_sub = self.bus.signal_subscribe(
            spirittest.BUS_NAME, GPU_IFACE, "Progress", None, None, Gio.DBusSignalFlags.NONE,
            lambda conn, sender, path, iface, sig, params: self.progress.append(params.unpack()[0]))

    def tearDown(self):
        self.bus.signal_unsubscribe(self._progress_sub)
        super().tearDown()

    def gpu_env(self):
        env = {
            "SPIRIT_SYSFS_ROOT": self.root,
            "SPIRIT_STATE_DIR": self.state_dir,
            "SPIRIT_USER_BUS_ADDRESS": self.system_address,
            "SPIRIT_GPU_UNIT_TIMEOUT_MS": "1500",
            "SPIRIT_GPU_STEP_TIMEOUT_MS": "1500",
        }
        env.update(self.extra_env)
        return env

    def start_daemon(self, extra_args=None, env=None, wait_connected=True):
        full = self.gpu_env()
        full.update(env or {})
        super().start_daemon(extra_args, env=full, wait_connected=wait_connected)

    def restart_daemon(self, **env):
        self.assertEqual(self.stop_daemon(), 0, self.daemon.output())
        self.extra_env = env
        self.start_daemon()

    # --- reading the state -------------------------------------------------------------

    def gpu_prop(self, name):
        reply = self.bus.call_sync(spirittest.BUS_NAME, GPU_PATH, spirittest.PROPS_IFACE, "Get",
                                   GLib.Variant("(ss)", (GPU_IFACE, name)), GLib.VariantType("(v)"),
                                   Gio.DBusCallFlags.NONE, 10000, None)
        return reply.unpack()[0]

    def call_gpu(self, method, args, timeout_ms=60000):
        self.bus.call_sync(spirittest.BUS_NAME, GPU_PATH, GPU_IFACE, method, args, None,
                           Gio.DBusCallFlags.NONE, timeout_ms, None)
        spirittest.drain_main_context()

    def passthrough(self, vm="beta", force=False):
        self.call_gpu("Passthrough", GLib.Variant("(sb)", (vm, force)))

    def reclaim(self, force=False):
        self.call_gpu("Reclaim", GLib.Variant("(b)", (force,)))

    def driver(self, address):
        link = os.path.join(self.root, "sys/bus/pci/devices", address, "driver")
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def hud_state(self):
        path = self.systemd.GetUnit(HUD, dbus_interface=SYSTEMD_MANAGER)
        unit = self.system.get_object("org.freedesktop.systemd1", path)
        return str(unit.Get(SYSTEMD_UNIT, "ActiveState", dbus_interface=dbus.PROPERTIES_IFACE))

    def hud_log(self):
        return json.loads(self.systemd_test.GetHudLog())

    def inhibitors(self):
        return [str(i[1]) for i in self.logind.ListInhibitors(dbus_interface=LOGIND_MANAGER)]

    def journals(self):
        return [f for f in os.listdir(self.state_dir) if f.endswith(".journal")]

    def assert_on_host(self, hud_active=True):
        """The GPU is on its host drivers, the HUD runs, nothing is held or left behind."""
        self.assertEqual(self.driver(GPU), "nouveau")
        self.assertEqual(self.driver(AUDIO), "snd_hda_intel")
        self.assertFalse(os.path.exists(os.path.join(self.root, "dev/vfio/1")))
        self.assertTrue(os.path.exists(os.path.join(self.root, "dev/dri/card1")) or
                        os.path.exists(os.path.join(self.root, "dev/dri/card0")))
        self.assertEqual(self.gpu_prop("State"), "host")
        self.assertEqual(self.gpu_prop("Owner"), "host")
        self.assertEqual(self.gpu_prop("Driver"), "nouveau")
        if hud_active:
            self.assertEqual(self.hud_state(), "active")
        wait_until(lambda: not self.inhibitors(), timeout=30, what="the inhibitor to be released", poll=0.02)
        self.assertEqual(self.journals(), [])

    def assert_in_vm(self, vm="beta"):
        self.assertEqual(self.driver(GPU), "vfio-pci")
        self.assertEqual(self.driver(AUDIO), "vfio-pci")
        self.assertTrue(os.path.exists(os.path.join(self.root, "dev/vfio/1")))
        self.assertEqual(self.gpu_prop("State"), "vm")
        self.assertEqual(self.gpu_prop("Owner"), self.vm_path(vm))
        self.assertEqual(self.gpu_prop("OwnerName"), vm)
        self.assertEqual(self.gpu_prop("Driver"), "vfio-pci")
        self.assertEqual(self.gpu_prop("HostDriver"), "nouveau")
        wait_until(lambda: self.vm_prop(vm, "State") == "running", timeout=30, what="%s running" % vm)
        self.assertEqual(self.hud_state(), "inactive")


class GpuSwapTest(GpuTestCase):
    def test_objects(self):
        objects = self.bus.call_sync(spirittest.BUS_NAME, spirittest.ROOT, "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects", None, None, Gio.DBusCallFlags.NONE, 10000,
                                     None).unpack()[0]
        self.assertIn(GPU_PATH, objects)
        self.assertIn("/org/crom/Spirit/gpu/0000_00_02_0", objects)
        gpu = objects[GPU_PATH][GPU_IFACE]
        self.assertEqual(gpu["Address"], GPU)
        self.assertEqual(gpu["Driver"], "nouveau")
        self.assertEqual(gpu["HostDriver"], "nouveau")
        self.assertEqual(gpu["Functions"], [GPU, AUDIO])
        self.assertEqual(gpu["IommuGroup"], 1)
        self.assertEqual(sorted(gpu["GroupMembers"]), sorted(["0000:00:01.0", GPU, AUDIO]))
        self.assertTrue(gpu["Viable"])
        self.assertEqual(gpu["State"], "host")
        self.assertEqual(gpu["Owner"], "host")
        self.assertTrue(gpu["Name"])

    def test_passthrough_then_reclaim(self):
        self.passthrough("beta")
        self.assert_in_vm("beta")
        self.assertEqual(self.progress, PASSTHROUGH_STEPS)
        # The HUD was stopped while the GPU was still on nouveau, with the inhibitor held.
        self.assertEqual(self.hud_log(), [["stop", HUD, "nouveau", ["Spirit"]]])
        wait_until(lambda: not self.inhibitors(), timeout=30, what="the inhibitor to go", poll=0.02)
        self.assertEqual(self.journals(), ["gpu-%s.journal" % GPU])

        self.progress.clear()
        self.reclaim(force=True)
        self.assert_on_host()
        self.assertEqual(self.progress, ["inhibit", "stop-vm"] + RECLAIM_STEPS[1:])
        # The HUD was started again once the GPU was back on nouveau, inhibitor still held.
        self.assertEqual(self.hud_log()[-1], ["start", HUD, "nouveau", ["Spirit"]])
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")

        # And once more: the way back left everything as it was.
        self.passthrough("beta")
        self.assert_in_vm("beta")

    def test_hud_not_running_is_left_alone(self):
        self.systemd.StopUnit(HUD, "replace", dbus_interface=SYSTEMD_MANAGER)
        self.systemd_test.ClearHudLog()
        self.passthrough("beta")
        self.assert_in_vm("beta")
        self.reclaim(force=True)
        self.assert_on_host(hud_active=False)
        self.assertEqual(self.hud_state(), "inactive")
        self.assertEqual(self.hud_log(), [])

    def test_vm_shutdown_takes_the_gpu_back(self):
        self.passthrough("beta")
        self.assert_in_vm("beta")
        self.call_vm("beta", "ForceStop")
        wait_until(lambda: self.gpu_prop("State") == "host", timeout=20, what="the GPU to come back",
                   poll=0.05)
        self.assert_on_host()
        self.assertEqual([entry[0] for entry in self.hud_log()], ["stop", "start"])

    def test_reclaim_refuses_while_vm_runs(self):
        self.passthrough("beta")
        self.assert_dbus_error("org.crom.Spirit.Error.InvalidState", self.reclaim, False,
                               contains=["beta", "running"])
        self.assert_in_vm("beta")

    def test_forced_past_holders_and_sessions(self):
        node = os.path.join(self.root, "dev/dri/card1")
        if not os.path.exists(node):
            node = os.path.join(self.root, "dev/dri/card0")
        with open(node, "rb") as stdin:
            holder = subprocess.Popen(["sleep", "600"], stdin=stdin)
        try:
            msg = self.assert_dbus_error("org.crom.Spirit.Error.Busy", self.passthrough, "beta",
                                         contains=["holders", "sleep", "(pid %d)" % holder.pid])
            self.assert_on_host()
            self.assertEqual(self.hud_log()[-1][0], "start", msg)  # stopped, then started again
            self.passthrough("beta", force=True)
            self.assertEqual(holder.wait(timeout=10), -signal.SIGTERM)
            self.assert_in_vm("beta")
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()


class GpuSpiritctlTest(GpuTestCase):
    def test_status_passthrough_reclaim(self):
        out = self.spiritctl("gpu", "status", check=0).stdout.decode()
        self.assertIn(GPU + "  ", out)
        self.assertIn("on the host", out)
        self.assertIn("nouveau", out)
        self.assertIn("group 1: ", out)
        self.assertIn(IGPU, out)

        # Two GPUs: the one that is not the boot GPU is meant.
        result = self.spiritctl("gpu", "passthrough", "beta", check=0)
        out = result.stdout.decode()
        lines = out.splitlines()
        self.assertEqual(lines[0], "[ 1/13] Looking for graphical sessions on the GPU's seat (sessions)")
        self.assertIn("[ 3/13] Stopping the HUD (stop-hud)", lines)
        self.assertEqual(lines[-1], "GPU %s is now in beta" % GPU)
        self.assert_in_vm("beta")

        gpus = self.spiritctl_json("gpu", "status")
        gpu = [g for g in gpus if g["Address"] == GPU][0]
        self.assertEqual((gpu["State"], gpu["OwnerName"], gpu["Driver"]), ("vm", "beta", "vfio-pci"))
        out = self.spiritctl("gpu", "status", check=0).stdout.decode()
        self.assertIn("  State:       in the VM beta\n", out)
        self.assertIn("  Driver:      vfio-pci (on the host: nouveau)\n", out)

        result = self.spiritctl("gpu", "reclaim", check=1)
        self.assertIn("beta is running", result.stderr.decode())
        out = self.spiritctl("gpu", "reclaim", "--force", check=0).stdout.decode()
        self.assertIn("(start-hud)", out)
        self.assertEqual(out.splitlines()[-1], "GPU %s is back on the host" % GPU)
        self.assert_on_host()

    def test_errors(self):
        result = self.spiritctl("gpu", "passthrough", "nope", check=1)
        self.assertIn("No VM named 'nope'", result.stderr.decode())
        result = self.spiritctl("gpu", "passthrough", "beta", "--gpu", "0000:09:00.0", check=1)
        self.assertIn("No GPU at 0000:09:00.0", result.stderr.decode())
        self.spiritctl("gpu", check=2)
        self.spiritctl("gpu", "passthrough", check=2)
        self.spiritctl("gpu", "explode", check=2)
        self.assert_on_host()
        self.assertEqual(self.hud_log(), [])


class GpuPrivateSocketTest(GpuTestCase):
    """The HUD's user manager reached as in production: a direct connection to its private socket
    (RUNTIME_DIR/systemd/private; SPIRIT_USER_RUNTIME_DIR stands for /run/user/UID), no bus name,
    JobRemoved after Subscribe. tests/gpu/fake-user-manager.py plays that manager."""

    def setUp(self):
        self.runtime_dir = tempfile.mkdtemp(prefix="spirit-gpu-user-")
        self.addCleanup(shutil.rmtree, self.runtime_dir, True)
        self.user_log = os.path.join(self.runtime_dir, "calls.log")
        self.user_manager = subprocess.Popen(
            [sys.executable, os.path.join(spirittest.TESTS, "gpu", "fake-user-manager.py"),
             self.runtime_dir, HUD, self.user_log], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self._stop_user_manager)
        self.assertEqual(self.user_manager.stdout.readline().strip(), "ready")
        super().setUp()

    def _stop_user_manager(self):
        self.user_manager.stdin.close()
        self.user_manager.wait(timeout=30)
        self.user_manager.stdout.close()

    def gpu_env(self):
        env = super().gpu_env()
        del env["SPIRIT_USER_BUS_ADDRESS"]
        env["SPIRIT_USER_RUNTIME_DIR"] = self.runtime_dir
        return env

    def calls(self):
        with open(self.user_log, encoding="utf-8") as f:
            return [line.strip() for line in f if not line.startswith("Subscribe")]

    def test_hud_through_the_private_socket(self):
        self.passthrough("beta")
        self.assertEqual(self.driver(GPU), "vfio-pci")
        self.assertEqual(self.calls(), ["GetUnit %s" % HUD, "StopUnit %s" % HUD])
        self.reclaim(force=True)
        self.assertEqual(self.driver(GPU), "nouveau")
        self.assertEqual(self.calls()[-1], "StartUnit %s" % HUD)
        self.assertEqual(self.gpu_prop("State"), "host")
        # The systemd mock on the system bus (the SPIRIT_USER_BUS_ADDRESS of the other tests) saw nothing.
        self.assertEqual(self.hud_log(), [])


class GpuBadRequestTest(GpuTestCase):
    def assert_unchanged(self):
        self.assert_on_host()
        self.assertEqual(self.hud_log(), [])

    def test_unknown_vm(self):
        self.assert_dbus_error("org.crom.Spirit.Error.NoSuchVM", self.passthrough, "nope", contains="nope")
        self.assert_unchanged()

    def test_running_vm(self):
        self.assert_dbus_error("org.crom.Spirit.Error.InvalidState", self.passthrough, "alpha",
                               contains=["alpha", "running"])
        self.assert_unchanged()

    def test_reclaim_on_host(self):
        self.assert_dbus_error("org.crom.Spirit.Error.InvalidState", self.reclaim, True,
                               contains="on the host already")
        self.assert_unchanged()

    def test_already_passed_through(self):
        self.passthrough("beta")
        self.assert_dbus_error("org.crom.Spirit.Error.InvalidState", self.passthrough, "gamma",
                               contains=["already passed through", "beta"])
        self.assert_in_vm("beta")

    def test_two_passthroughs_at_once(self):
        results = []
        for vm in ("beta", "gamma"):
            self.bus.call(spirittest.BUS_NAME, GPU_PATH, GPU_IFACE, "Passthrough", GLib.Variant("(sb)", (vm, False)),
                          None, Gio.DBusCallFlags.NONE, 30000, None,
                          lambda bus, res, vm=vm: results.append((vm, self._finish(bus, res))))
        wait_until(lambda: len(results) == 2, timeout=30, what="both replies")
        results.sort()
        self.assertEqual(results[0], ("beta", None))
        # gamma is paused anyway; either way it gets a registered refusal and beta keeps the GPU.
        self.assertEqual(results[1][0], "gamma")
        self.assertIn(results[1][1], ("org.crom.Spirit.Error.Busy", "org.crom.Spirit.Error.InvalidState"))
        self.assert_in_vm("beta")

    def _finish(self, bus, res):
        try:
            bus.call_finish(res)
            return None
        except GLib.Error as error:
            return spirittest.remote_error_name(error)

    def test_graphical_session(self):
        path = self.logind_mock.AddSession("c2", "seat0", dbus.UInt32(1000), "alice", True)
        session = self.system.get_object("org.freedesktop.login1", path)
        dbus.Interface(session, dbusmock.MOCK_IFACE).UpdateProperties(
            "org.freedesktop.login1.Session", {"Type": "wayland"})
        self.assert_dbus_error("org.crom.Spirit.Error.Busy", self.passthrough, "beta",
                               contains=["sessions", "session c2 of alice (wayland)"])
        self.assert_unchanged()
        self.passthrough("beta", force=True)
        self.assert_in_vm("beta")


class GpuNonViableTest(GpuTestCase):
    tree = "--non-viable"

    def test_non_viable_group(self):
        self.assertFalse(self.gpu_prop("Viable"))
        self.assertIn("0000:00:1f.2", self.gpu_prop("ViabilityProblem"))
        self.assert_dbus_error("org.crom.Spirit.Error.NotSupported", self.passthrough, "beta",
                               contains=["0000:00:1f.2", "SATA"])
        self.assertEqual(self.driver(GPU), "nouveau")
        self.assertEqual(self.driver("0000:00:1f.2"), "ahci")
        self.assertEqual(self.hud_state(), "active")
        self.assertEqual(self.hud_log(), [])
        self.assertEqual(self.journals(), [])


class GpuIommuOffTest(GpuTestCase):
    tree = "--iommu-off"

    def test_iommu_off(self):
        self.assertFalse(self.gpu_prop("Viable"))
        self.assertEqual(self.gpu_prop("IommuGroup"), -1)
        self.assert_dbus_error("org.crom.Spirit.Error.NotSupported", self.passthrough, "beta",
                               contains="IOMMU is off")
        self.assertEqual(self.driver(GPU), "nouveau")
        self.assertEqual(self.hud_state(), "active")
        self.assertEqual(self.hud_log(), [])
        self.assertEqual(self.journals(), [])


class GpuNotAuthorizedTest(GpuTestCase):
    polkit_allowed = ["org.crom.Spirit.vm.control"]

    def test_not_authorized(self):
        self.assert_dbus_error("org.crom.Spirit.Error.NotAuthorized", self.passthrough, "beta",
                               contains="org.crom.Spirit.gpu.passthrough")
        self.assert_dbus_error("org.crom.Spirit.Error.NotAuthorized", self.reclaim, True,
                               contains="org.crom.Spirit.gpu.passthrough")
        self.assert_on_host()
        self.assertEqual(self.hud_log(), [])


class GpuUmockdevTest(spirittest.SpiritTestCase):
    """Discovery and live updates through udev: spiritd under umockdev's preload library, on a
    testbed with the GPU, its audio, their IOMMU group and bridge, and a second GPU whose group
    also holds a SATA controller. A driver change in the testbed followed by its uevent reaches
    the GPU object's properties (SpiritGpuMonitor → rediscovery → PropertiesChanged)."""

    def setUp(self):
        gi_require = spirittest.gi.require_version
        gi_require("UMockdev", "1.0")
        from gi.repository import UMockdev
        self.testbed = UMockdev.Testbed.new()
        self.troot = self.testbed.get_root_dir()
        self.add_pci("0000:00:01.0", "0x060400", "0x8086", "0x1901", "pcieport", 1)
        self.gpu_syspath = self.add_pci(GPU, "0x030000", "0x10de", "0x2484", "nouveau", 1)
        self.add_pci(AUDIO, "0x040300", "0x10de", "0x228b", "snd_hda_intel", 1)
        self.add_pci("0000:02:00.0", "0x030000", "0x1002", "0x73bf", "amdgpu", 5)
        self.add_pci("0000:00:1f.2", "0x010601", "0x8086", "0xa352", "ahci", 5)
        for driver in ("nouveau", "snd_hda_intel", "amdgpu", "ahci", "pcieport", "vfio-pci"):
            os.makedirs(os.path.join(self.troot, "sys/bus/pci/drivers", driver), exist_ok=True)
        asan = os.environ.get("ASAN_OPTIONS", "")
        self.umockdev_env = {
            "UMOCKDEV_DIR": self.troot,
            "LD_PRELOAD": "libumockdev-preload.so.0",
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0",
        }
        super().setUp()

    def tearDown(self):
        super().tearDown()
        del self.testbed

    def add_pci(self, address, class_code, vendor, device, driver, group):
        syspath = self.testbed.add_device(
            "pci", address, None,
            ["class", class_code, "vendor", vendor, "device", device, "driver_override", "(null)"],
            ["PCI_SLOT_NAME", address, "ID_VENDOR_FROM_DATABASE", "Testbed Vendor",
             "ID_MODEL_FROM_DATABASE", "Model " + address])
        self.testbed.set_attribute_link(syspath, "driver", "../../bus/pci/drivers/" + driver)
        groups = os.path.join(self.troot, "sys/kernel/iommu_groups/%d/devices" % group)
        os.makedirs(groups, exist_ok=True)
        os.symlink("../../../.." + syspath[len("/sys"):], os.path.join(groups, address))
        self.testbed.set_attribute_link(syspath, "iommu_group", "../../kernel/iommu_groups/%d" % group)
        return syspath

    def start_daemon(self, extra_args=None, env=None, wait_connected=True):
        full = dict(self.umockdev_env)
        full.update(env or {})
        super().start_daemon(extra_args, env=full, wait_connected=wait_connected)

    def gpu(self, path):
        return Gio.DBusProxy.new_sync(self.bus, Gio.DBusProxyFlags.NONE, None, spirittest.BUS_NAME, path,
                                      GPU_IFACE, None)

    def test_discovery_and_udev_updates(self):
        gpu = self.gpu(GPU_PATH)
        prop = lambda name: gpu.get_cached_property(name).unpack()  # noqa: E731
        self.assertEqual(prop("Name"), "Testbed Vendor Model %s" % GPU)
        self.assertEqual(prop("Driver"), "nouveau")
        self.assertEqual(prop("Functions"), [GPU, AUDIO])
        self.assertEqual(sorted(prop("GroupMembers")), ["0000:00:01.0", GPU, AUDIO])
        self.assertTrue(prop("Viable"))

        other = self.gpu("/org/crom/Spirit/gpu/0000_02_00_0")
        self.assertFalse(other.get_cached_property("Viable").unpack())
        self.assertIn("0000:00:1f.2", other.get_cached_property("ViabilityProblem").unpack())

        # Another program binds vfio-pci: the uevent reaches the object.
        os.unlink(os.path.join(self.troot, self.gpu_syspath[1:], "driver"))
        self.testbed.set_attribute_link(self.gpu_syspath, "driver", "../../bus/pci/drivers/vfio-pci")
        self.testbed.uevent(self.gpu_syspath, "bind")
        wait_until(lambda: prop("Driver") == "vfio-pci", timeout=30, what="Driver to follow the uevent")
        self.assertEqual(prop("HostDriver"), "nouveau")


# sysfs faults (SPIRIT_SYSFS_FAIL, see docs/gpu-swap.md) of the way to vfio-pci: step → rule
SYSFS_FAULTS = {
    "vtconsoles": "write:/sys/class/vtconsole/vtcon1/bind=0",
    "driver_override": "write:/sys/bus/pci/devices/0000:01:00.1/driver_override=vfio-pci",
    "unbind": "write:/sys/bus/pci/drivers/snd_hda_intel/unbind",
    "probe": "write:/sys/bus/pci/drivers_probe=0000:01:00.1",
}


class GpuFaultTest(GpuTestCase):
    def assert_rolled_back(self, step, error_name="org.crom.Spirit.Error.Failed", **env):
        self.restart_daemon(**env)
        msg = self.assert_dbus_error(error_name, self.passthrough, "beta", contains=step)
        self.assert_on_host()
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")
        return msg

    def test_sysfs_write_errors(self):
        for step, rule in SYSFS_FAULTS.items():
            with self.subTest(step=step):
                msg = self.assert_rolled_back(step, SPIRIT_SYSFS_FAIL=rule)
                self.assertIn("rolled back", msg)

    def test_probe_ignored_times_out(self):
        msg = self.assert_rolled_back("probe", "org.crom.Spirit.Error.Timeout",
                                      SPIRIT_SYSFS_FAIL="write:/sys/bus/pci/drivers_probe=0000:01:00.0,drop")
        self.assertIn("Timed out", msg)

    def test_orchestration_steps_fail(self):
        for step in ["sessions", "inhibit", "stop-hud", "define", "start-vm"]:
            with self.subTest(step=step):
                msg = self.assert_rolled_back(step, SPIRIT_GPU_FAIL=step)
                self.assertIn("injected", msg)

    def test_hud_does_not_stop_in_time(self):
        self.systemd_test.SetHangs("stop", True)
        msg = self.assert_rolled_back("stop-hud", "org.crom.Spirit.Error.Timeout")
        self.assertIn("did not end within 1.5 s", msg)
        self.assertEqual([entry[0] for entry in self.hud_log()], ["stop", "start"])

    def test_restart_keeps_the_gpu_with_a_running_vm(self):
        """A spiritd that stops while a VM has the GPU finds it there at its next start: the journal
        says vfio, the VM runs, so the GPU stays, and the VM's shutdown still brings it back."""
        self.passthrough("beta")
        self.assert_in_vm("beta")
        self.assertEqual(self.stop_daemon(), 0, self.daemon.output())
        self.assertEqual(self.journals(), ["gpu-%s.journal" % GPU])
        # The test driver forgets its state with its connection: a node where beta runs stands for
        # libvirt's memory of the running VM.
        with open(spirittest.TEST_DRIVER_XML, encoding="utf-8") as f:
            node = f.read()
        beta = node.index("<name>beta</name>")
        end = node.index("</domain>", beta)
        node = node[:beta] + node[beta:end].replace(">5</test:runstate>", ">1</test:runstate>") + node[end:]
        path = os.path.join(self.state_dir, "node.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(node)
        self.uri = "test://" + path
        self.start_daemon()
        wait_until(lambda: self.gpu_prop("State") == "vm", timeout=20, what="the GPU adopted by beta", poll=0.05)
        self.assert_in_vm("beta")
        self.assertIn("beta still holds the GPU %s: keeping it there" % GPU, self.daemon.output())
        self.call_vm("beta", "ForceStop")
        wait_until(lambda: self.gpu_prop("State") == "host", timeout=20, what="the GPU back", poll=0.05)
        self.assert_on_host()

    def test_sigterm_during_a_swap(self):
        """spiritd told to exit mid-swap lets the swap finish (here: roll back) before it exits."""
        self.systemd_test.SetHangs("stop", True)
        replies = []
        self.bus.call(spirittest.BUS_NAME, GPU_PATH, GPU_IFACE, "Passthrough", GLib.Variant("(sb)", ("beta", False)),
                      None, Gio.DBusCallFlags.NONE, 30000, None, lambda bus, res: replies.append(res))
        wait_until(lambda: "stop-hud" in self.progress, timeout=30, what="the stop-hud step")
        self.daemon.process.terminate()
        self.assertEqual(self.daemon.process.wait(timeout=30), 0, self.daemon.output())
        self.assertIn("Waiting for the swap of the GPU %s to finish" % GPU, self.daemon.output())
        self.assertEqual(self.journals(), [])
        self.start_daemon()
        self.assert_on_host()
        self.assertEqual([entry[0] for entry in self.hud_log()], ["stop", "start"])

    def test_reclaim_faults_heal(self):
        faults = {
            "unbind-vfio": {"SPIRIT_SYSFS_FAIL": "write:/sys/bus/pci/drivers/vfio-pci/unbind"},
            "probe-host": {"SPIRIT_SYSFS_FAIL": "write:/sys/bus/pci/drivers_probe=0000:01:00.1,nth=2"},
            "start-hud": {"SPIRIT_GPU_FAIL": "start-hud"},
        }
        for step, env in faults.items():
            with self.subTest(step=step):
                self.restart_daemon(**env)
                self.passthrough("beta")
                self.assert_in_vm("beta")
                self.reclaim(force=True)
                self.assert_on_host()

    def test_crash_after_each_step_is_repaired(self):
        crashes = PASSTHROUGH_STEPS[1:] + ["stop-vm", "remove-hostdevs", "unbind-vfio", "probe-host", "start-hud"]
        for step in crashes:
            with self.subTest(step=step):
                self.restart_daemon(SPIRIT_GPU_CRASH=step)
                reclaiming = step not in PASSTHROUGH_STEPS
                if reclaiming:
                    self.passthrough("beta")
                    self.assert_in_vm("beta")
                with self.assertRaises(GLib.Error):
                    if reclaiming:
                        self.reclaim(force=True)
                    else:
                        self.passthrough("beta")
                self.assertEqual(self.daemon.process.wait(timeout=20), 70, self.daemon.output())
                self.assertEqual(self.journals(), ["gpu-%s.journal" % GPU])
                self.extra_env = {}
                self.start_daemon()
                wait_until(lambda: self.gpu_prop("State") == "host", timeout=20,
                           what="the GPU back on the host after a crash before %s" % step, poll=0.05)
                self.assert_on_host()


if __name__ == "__main__":
    unittest.main(verbosity=2)
