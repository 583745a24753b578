"""Shared harness of Spirit's integration tests.

Each test gets its own spiritd on a private D-Bus daemon (Gio.TestDBus), so libvirt's
test driver, whose state lives per connection, starts from the same XML every time.
Waiting is always on a real condition (a D-Bus signal, a property, a process exit) with a
deadline: the main loop blocks until something happens, there is no sleep().
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.crom.Spirit"
ROOT = "/org/crom/Spirit"
MANAGER_IFACE = "org.crom.Spirit.Manager"
VM_IFACE = "org.crom.Spirit.VM"
PROPS_IFACE = "org.freedesktop.DBus.Properties"

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SOURCE_ROOT = os.path.dirname(TESTS)


def _built(env_name, relative):
    path = os.environ.get(env_name)
    if path:
        return path
    return os.path.join(os.environ.get("SPIRIT_BUILD_DIR", os.path.join(SOURCE_ROOT, "build")), relative)


SPIRITD = _built("SPIRITD", "service/spiritd")
SPIRITCTL = _built("SPIRITCTL", "cli/spiritctl")
TEST_DRIVER_XML = os.path.join(TESTS, "data", "test-driver.xml")
TEST_DRIVER_URI = "test://" + TEST_DRIVER_XML


def remote_error_name(error):
    return Gio.DBusError.get_remote_error(error)


def drain_main_context():
    """Dispatches what is already pending, without waiting for anything new."""
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


class Deadline(Exception):
    pass


def wait_until(predicate, timeout=10.0, what="a condition", poll=None):
    """Iterates the default main context until predicate() is true or the timeout fires.

    The predicate is re-checked whenever the main loop dispatches something (a D-Bus signal, a
    child exit). For state that announces no event (a file appearing), give poll= seconds: the
    loop then also wakes at that interval to look again, still bounded by the timeout.
    """
    context = GLib.MainContext.default()
    fired = []
    source = GLib.timeout_add(int(timeout * 1000), lambda: fired.append(True) or False)
    ticker = GLib.timeout_add(max(1, int(poll * 1000)), lambda: True) if poll else None
    try:
        while not predicate():
            if fired:
                raise Deadline("timed out after %.1f s waiting for %s" % (timeout, what))
            context.iteration(True)
    finally:
        if not fired:
            GLib.source_remove(source)
        if ticker is not None:
            GLib.source_remove(ticker)


def wait_for_name(bus, name, timeout=30.0):
    """Waits, on NameOwnerChanged, until name has an owner on bus."""
    owned = []
    watch = Gio.bus_watch_name_on_connection(bus, name, Gio.BusNameWatcherFlags.NONE,
                                             lambda *args: owned.append(True), None)
    try:
        wait_until(lambda: owned, timeout=timeout, what="a owner of %s" % name)
    finally:
        Gio.bus_unwatch_name(watch)


class SpiritDaemon:
    """One spiritd process on a given bus address."""

    def __init__(self, address, uri, extra_args=(), env=None, log_dir=None):
        self.address = address
        self.uri = uri
        self.log = tempfile.NamedTemporaryFile(
            prefix="spiritd-", suffix=".log", dir=log_dir, delete=False, mode="w+")
        run_env = dict(os.environ)
        run_env["DBUS_SESSION_BUS_ADDRESS"] = address
        run_env.setdefault("G_DEBUG", "fatal-criticals")
        if env:
            run_env.update(env)
        args = [SPIRITD, "--session", "-v"] + (["--uri", uri] if uri else []) + list(extra_args)
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=run_env)

    def stop(self):
        """SIGTERM, then the exit status: spiritd must exit cleanly (0), also under ASan."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("spiritd did not exit within 20 s of SIGTERM")
        return self.process.returncode

    def output(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()


class SpiritTestCase(unittest.TestCase):
    """Starts a private bus once per class and a fresh spiritd per test."""

    uri = TEST_DRIVER_URI
    spiritd_args = ["--no-polkit"]

    @classmethod
    def setUpClass(cls):
        cls.test_dbus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
        cls.test_dbus.up()
        cls.address = cls.test_dbus.get_bus_address()

    @classmethod
    def tearDownClass(cls):
        cls.test_dbus.down()

    def setUp(self):
        self.bus = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        self.signals = []
        self._sub = self.bus.signal_subscribe(
            BUS_NAME, PROPS_IFACE, "PropertiesChanged", None, None,
            Gio.DBusSignalFlags.NONE, self._on_properties_changed)
        self.daemon = None
        self.start_daemon()

    def tearDown(self):
        self.bus.signal_unsubscribe(self._sub)
        failed = self._outcome_failed()
        status = self.stop_daemon()
        if failed and self.daemon is not None:
            sys.stderr.write("---- spiritd log ----\n%s\n---------------------\n" % self.daemon.output())
        self.bus.close_sync(None)
        if status not in (None, 0):
            sys.stderr.write(self.daemon.output())
            self.fail("spiritd exited with status %s" % status)

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in list(result.failures) + list(result.errors))

    # --- the daemon -------------------------------------------------------------------

    def start_daemon(self, extra_args=None, env=None, wait_connected=True):
        args = self.spiritd_args if extra_args is None else extra_args
        self.daemon = SpiritDaemon(self.address, self.uri, args, env=env)
        self.manager = Gio.DBusProxy.new_sync(
            self.bus, Gio.DBusProxyFlags.NONE, None, BUS_NAME, ROOT, MANAGER_IFACE, None)
        wait_until(lambda: self.manager.get_name_owner() is not None or self.daemon.process.poll() is not None,
                   timeout=30, what="spiritd to own %s" % BUS_NAME)
        self.assertIsNone(self.daemon.process.poll(), "spiritd exited early:\n" + self.daemon.output())
        if wait_connected:
            self.wait_connected()
        self.objects = Gio.DBusObjectManagerClient.new_sync(
            self.bus, Gio.DBusObjectManagerClientFlags.NONE, BUS_NAME, ROOT, None, None, None)

    def stop_daemon(self):
        if self.daemon is None:
            return None
        return self.daemon.stop()

    def wait_connected(self, connected=True, timeout=30):
        wait_until(lambda: self.manager_prop("Connected") == connected, timeout=timeout,
                   what="Manager.Connected == %s" % connected)

    def manager_prop(self, name):
        value = self.manager.get_cached_property(name)
        return value.unpack() if value is not None else None

    # --- VMs --------------------------------------------------------------------------

    def vm_path(self, name):
        return self.bus.call_sync(BUS_NAME, ROOT, MANAGER_IFACE, "GetVM", GLib.Variant("(s)", (name,)),
                                  GLib.VariantType("(o)"), Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]

    def vm_proxy(self, name):
        return self.objects.get_interface(self.vm_path(name), VM_IFACE)

    def vm_prop(self, name, prop):
        proxy = self.vm_proxy(name)
        value = proxy.get_cached_property(prop)
        return value.unpack() if value is not None else None

    def vm_names(self):
        names = []
        for obj in self.objects.get_objects():
            iface = obj.get_interface(VM_IFACE)
            if iface is not None:
                names.append(iface.get_cached_property("Name").unpack())
        return sorted(names)

    def call_vm(self, name, method, args=None, timeout_ms=60000):
        variant = GLib.Variant(*args) if args is not None else None
        reply = self.bus.call_sync(BUS_NAME, self.vm_path(name), VM_IFACE, method, variant,
                                   None, Gio.DBusCallFlags.NONE, timeout_ms, None)
        # spiritd sends PropertiesChanged before its reply: let the proxies take it in.
        drain_main_context()
        return reply.unpack() if reply is not None else None

    def assert_dbus_error(self, error_name, func, *args, contains=None, **kwargs):
        with self.assertRaises(GLib.Error) as ctx:
            func(*args, **kwargs)
        self.assertEqual(remote_error_name(ctx.exception), error_name, ctx.exception.message)
        if contains is not None:
            for fragment in [contains] if isinstance(contains, str) else contains:
                self.assertIn(fragment, ctx.exception.message)
        return ctx.exception.message

    def wait_vm_state(self, name, state, timeout=30):
        proxy = self.vm_proxy(name)
        wait_until(lambda: proxy.get_cached_property("State").unpack() == state, timeout=timeout,
                   what="%s to be %s (is %s)" % (name, state, proxy.get_cached_property("State").unpack()))

    # --- signals ----------------------------------------------------------------------

    def _on_properties_changed(self, conn, sender, path, iface, signal, params):
        interface_name, changed, _ = params.unpack()
        self.signals.append((time.monotonic(), path, interface_name, changed))

    def state_signals(self, name):
        path = self.vm_path(name)
        return [changed["State"] for _, p, i, changed in self.signals
                if p == path and i == VM_IFACE and "State" in changed]

    # --- spiritctl --------------------------------------------------------------------

    def spiritctl(self, *args, check=None):
        env = dict(os.environ)
        env["SPIRIT_BUS_ADDRESS"] = self.address
        env["LC_ALL"] = "C.UTF-8"
        result = subprocess.run([SPIRITCTL] + list(args), capture_output=True, env=env, timeout=120)
        if check is not None:
            self.assertEqual(result.returncode, check,
                             "spiritctl %s: stdout=%r stderr=%r" % (args, result.stdout, result.stderr))
        return result

    def spiritctl_json(self, *args):
        result = self.spiritctl("--json", *args, check=0)
        return json.loads(result.stdout)


def main():
    unittest.main(verbosity=2)
