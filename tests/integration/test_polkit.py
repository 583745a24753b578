#!/usr/bin/python3
"""Authorization with a real polkitd: a caller that is not root is refused every mutating method
(NotAuthorized, nothing changes) unless a polkit rule allows it.

The test runs its own system-like bus (the project's data/org.crom.Spirit.conf installed in it),
a real polkitd on that bus in a private mount namespace whose action and rule directories are
the test's own, and spiritd in system mode (polkit on). The caller is the user 'spirit-test'
(tools/test.sh creates it), through setpriv. Needs root.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

from spirittest import (BUS_NAME, MANAGER_IFACE, ROOT, SPIRITCTL, SPIRITD, SOURCE_ROOT, TEST_DRIVER_URI,
                        VM_IFACE, Gio, GLib, wait_for_name, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "spirit-test"
POLICY = os.environ.get("SPIRIT_POLKIT_POLICY", os.path.join(SOURCE_ROOT, "build", "data", "org.crom.Spirit.policy"))
POLKITD = "/usr/lib/polkit-1/polkitd"

# Every VM method once, in an order where each is valid in the state the previous ones left.
ALL_METHODS = [
    ["alpha", "Pause", None, None],
    ["alpha", "Resume", None, None],
    ["alpha", "SaveState", None, None],
    ["alpha", "Start", None, None],
    ["alpha", "Reboot", None, None],
    ["alpha", "Shutdown", "(u)", [30]],
    ["alpha", "Start", None, None],
    ["alpha", "ForceStop", None, None],
    ["gamma", "SaveState", None, None],
    ["gamma", "DiscardSavedState", None, None],
    ["beta", "SetAutostart", "(b)", [True]],
    ["beta", "SetMemory", "(t)", [1048576]],
    ["beta", "CreateSnapshot", "(s)", ["polkit"]],
    ["beta", "RevertSnapshot", "(s)", ["polkit"]],
    ["beta", "DeleteSnapshot", "(s)", ["polkit"]],
    ["beta", "Retune", "(a{sv})", [{"cpus": ["u", 1], "balloon-period": ["u", 3]}]],
    # Manager methods that change the host; the kernel path is made in setUpClass
    ["", "DefineVM", "(sa{sv}b)", ["polkit-vm", {"profile": ["s", "linux"], "kernel": ["s", "@KERNEL@"],
                                                 "network": ["s", ""], "cpus": ["u", 1]}, False]],
    # page size 4 KiB: once authorized this is refused, so the host's pool is never touched
    ["", "ReserveHugePages", "(tt)", [4, 1]],
]
METHOD_NAMES = {m for vm, m, _, _ in ALL_METHODS if vm}
MANAGER_METHOD_NAMES = {m for vm, m, _, _ in ALL_METHODS if not vm}
# what the allowing rule gets back: authorized, then refused for its arguments
ALLOWED_RESULT = {"ReserveHugePages": "org.crom.Spirit.Error.InvalidArgument"}

ALLOW_RULE = """
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.crom.Spirit.") == 0 && subject.user == "%s")
        return polkit.Result.YES;
});
""" % USER


def bus_config(tmp):
    system_d = os.path.join(tmp, "system.d")
    os.makedirs(system_d)
    shutil.copy(os.path.join(SOURCE_ROOT, "data", "org.crom.Spirit.conf"), system_d)
    shutil.copy("/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf", system_d)
    path = os.path.join(tmp, "bus.conf")
    with open(path, "w") as f:
        f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <!-- as Debian's system.conf: deny by default, replies and signals flow, services open up -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <includedir>%s</includedir>
</busconfig>
""" % (tmp, system_d))
    return path


class PolkitTestBase(unittest.TestCase):
    rules = None  # text of a rules file, or None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (polkitd, setpriv)")
        cls.user = pwd.getpwnam(USER)
        cls.tmp = tempfile.mkdtemp(prefix="spirit-polkit-")
        os.chmod(cls.tmp, 0o755)
        # The checkout may sit below a directory the test user cannot enter (/root): give it copies.
        cls.client = shutil.copy(os.path.join(HERE, "polkit_client.py"), cls.tmp)
        cls.spiritctl = shutil.copy(SPIRITCTL, cls.tmp)
        cls.procs = []
        cls.address = "unix:path=%s/system_bus_socket" % cls.tmp
        cls.procs.append(subprocess.Popen(["dbus-daemon", "--config-file", bus_config(cls.tmp), "--nofork",
                                           "--nopidfile"]))
        wait_until(lambda: os.path.exists(os.path.join(cls.tmp, "system_bus_socket")), what="the test bus",
                   poll=0.02)

        actions = os.path.join(cls.tmp, "actions")
        rules = os.path.join(cls.tmp, "rules")
        empty = os.path.join(cls.tmp, "empty")
        for d in (actions, rules, empty):
            os.makedirs(d)
        shutil.copy(POLICY, actions)
        if cls.rules:
            with open(os.path.join(rules, "50-spirit-test.rules"), "w") as f:
                f.write(cls.rules)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.address)
        script = ("mount --bind %s /usr/share/polkit-1/actions && mount --bind %s /etc/polkit-1/rules.d && "
                  "mount --bind %s /usr/share/polkit-1/rules.d && exec %s --no-debug") % (actions, rules, empty, POLKITD)
        cls.procs.append(subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                          env=env))
        cls.bus = Gio.DBusConnection.new_for_address_sync(
            cls.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        cls.wait_name("org.freedesktop.PolicyKit1")

        cls.kernel = os.path.join(cls.tmp, "vmlinuz")
        with open(cls.kernel, "wb") as f:
            f.write(b"\0" * 4096)
        cls.calls = json.loads(json.dumps(ALL_METHODS).replace("@KERNEL@", cls.kernel))
        env.setdefault("SPIRIT_PROFILES_DIR", os.path.join(SOURCE_ROOT, "data", "profiles"))
        cls.procs.append(subprocess.Popen([SPIRITD, "--uri", TEST_DRIVER_URI], env=env))
        cls.wait_name(BUS_NAME)
        manager = Gio.DBusProxy.new_sync(cls.bus, Gio.DBusProxyFlags.NONE, None, BUS_NAME, ROOT, MANAGER_IFACE, None)
        wait_until(lambda: manager.get_cached_property("Connected").unpack(), what="spiritd connected")

    @classmethod
    def wait_name(cls, name):
        wait_for_name(cls.bus, name)

    @classmethod
    def tearDownClass(cls):
        status = None
        for proc in reversed(getattr(cls, "procs", [])):
            proc.terminate()
            code = proc.wait(timeout=20)
            if proc.args[0] == SPIRITD:
                status = code
        if hasattr(cls, "tmp"):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if status not in (None, 0):
            raise AssertionError("spiritd exited with %s" % status)

    def as_user(self, argv):
        return subprocess.run(["setpriv", "--reuid=%d" % self.user.pw_uid, "--regid=%d" % self.user.pw_gid,
                               "--clear-groups", "--"] + argv, capture_output=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/"})

    def call_as_user(self, calls):
        result = self.as_user(["/usr/bin/python3", self.client, self.address,
                               json.dumps(calls)])
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        return json.loads(result.stdout)

    def vm_state(self):
        """Everything a caller could change, read as root (reading is free)."""
        state = {}
        for name in ("alpha", "beta", "gamma"):
            (path,) = self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, "GetVM", GLib.Variant("(s)", (name,)),
                                         None, 0, 10000, None).unpack()
            (props,) = self.bus.call_sync(BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                                          GLib.Variant("(s)", (VM_IFACE,)), None, 0, 10000, None).unpack()
            state[name] = {k: props[k] for k in ("State", "Autostart", "Snapshots", "HasSavedState", "MemoryKiB",
                                                 "Vcpus")}
        state["names"] = sorted(props["Name"] for props in self.all_vms())
        return state

    def all_vms(self):
        (objects,) = self.bus.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                        None, None, 0, 10000, None).unpack()
        return [ifaces[VM_IFACE] for ifaces in objects.values() if VM_IFACE in ifaces]


class PolkitDeniesTest(PolkitTestBase):
    def test_every_mutating_method_is_refused(self):
        before = self.vm_state()
        results = self.call_as_user(self.calls)
        self.assertEqual(results[:-1], ["org.crom.Spirit.Error.NotAuthorized"] * len(ALL_METHODS))
        self.assertEqual(self.vm_state(), before)
        self.assertNotIn("polkit-vm", before["names"])

    def test_every_method_of_the_interface_is_covered(self):
        xml = self.bus.call_sync(BUS_NAME, "/org/crom/Spirit/vm/local/11111111_1111_4111_8111_111111111111",
                                 "org.freedesktop.DBus.Introspectable", "Introspect", None, None, 0, 10000,
                                 None).unpack()[0]
        info = Gio.DBusNodeInfo.new_for_xml(xml).lookup_interface(VM_IFACE)
        self.assertEqual({m.name for m in info.methods}, METHOD_NAMES)
        xml = self.bus.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.Introspectable", "Introspect", None, None, 0,
                                 10000, None).unpack()[0]
        info = Gio.DBusNodeInfo.new_for_xml(xml).lookup_interface(MANAGER_IFACE)
        reading = {"GetVM", "ListProfiles", "GetHugePages"}
        self.assertEqual({m.name for m in info.methods} - reading, MANAGER_METHOD_NAMES)

    def test_reading_is_free(self):
        result = self.as_user([self.spiritctl, "--address", self.address, "--json", "vm", "list"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(sorted(vm["Name"] for vm in json.loads(result.stdout)), ["alpha", "beta", "gamma"])

    def test_spiritctl_reports_not_authorized(self):
        result = self.as_user([self.spiritctl, "--address", self.address, "vm", "pause", "alpha"])
        self.assertEqual(result.returncode, 1)
        self.assertIn("Not authorized to perform org.crom.Spirit.vm.control", result.stderr.decode())
        self.assertEqual(self.vm_state()["alpha"]["State"], "running")

    def test_exec_is_refused(self):
        result = self.as_user([self.spiritctl, "--address", self.address, "exec", "alpha", "--", "true"])
        self.assertEqual(result.returncode, 1)
        self.assertIn("Not authorized to perform org.crom.Spirit.vm.exec", result.stderr.decode())

    def test_only_root_may_own_the_name(self):
        results = self.call_as_user([])
        self.assertEqual(results, ["org.freedesktop.DBus.Error.AccessDenied"])


class PolkitRuleAllowsTest(PolkitTestBase):
    rules = ALLOW_RULE

    def test_every_mutating_method_succeeds(self):
        results = self.call_as_user(self.calls)
        self.assertEqual(results[:-1], [ALLOWED_RESULT.get(m, "ok") for _, m, _, _ in ALL_METHODS])
        state = self.vm_state()
        self.assertIn("polkit-vm", state["names"])
        self.assertEqual(state["beta"]["Vcpus"], 1)
        self.assertEqual(state["alpha"]["State"], "shutoff")
        self.assertEqual(state["gamma"]["State"], "shutoff")
        self.assertFalse(state["gamma"]["HasSavedState"])
        self.assertTrue(state["beta"]["Autostart"])
        self.assertEqual(state["beta"]["MemoryKiB"], 1048576)
        self.assertEqual(state["beta"]["Snapshots"], [])

    def test_exec_is_authorized(self):
        # Authorized, so the call gets as far as the VM: the test driver's VMs have no agent
        # (it is not a local QEMU host), or alpha is already shut off by the test above.
        result = self.as_user([self.spiritctl, "--address", self.address, "exec", "alpha", "--", "true"])
        err = result.stderr.decode()
        self.assertEqual(result.returncode, 1, err)
        self.assertNotIn("Not authorized", err)
        self.assertTrue("local host" in err or "it is shutoff" in err, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
