#!/usr/bin/python3
"""org.crom.Spirit.VM against a real libvirtd with real QEMU (TCG) guests.

The guest is the project's tiny Linux (tests/guest/): it prints SPIRIT-TICK <n> <uptime> on
its serial console every 0.5 s, so RAM surviving a save, and a revert going back in time, are
read from the guest itself. Needs root; starts libvirtd if it is not running.
"""

import os
import re
import subprocess
import unittest

import realguest
from realguest import Guest, GuestFiles, virsh
from spirittest import GLib, SpiritTestCase, main, wait_until

ERR = "org.crom.Spirit.Error."
PREFIX = "spirit-it-%d-" % os.getpid()


class RealQemuTestCase(SpiritTestCase):
    uri = realguest.URI
    guests = {}  # attribute name → dict(kind=…, disk=…)

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for qemu:///system")
        realguest.ensure_libvirtd()
        cls.files = GuestFiles()
        cls.defined = []
        try:
            for attr, spec in cls.guests.items():
                guest = Guest(cls.files, PREFIX + attr, **spec)
                cls.defined.append(guest)
                setattr(cls, attr, guest)
        except Exception:
            cls.tearDownClass()
            raise
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        for guest in getattr(cls, "defined", []):
            guest.undefine()
        if hasattr(cls, "files"):
            cls.files.cleanup()
        if hasattr(cls, "test_dbus"):
            super().tearDownClass()

    def start_and_wait_ready(self, guest):
        """Boots the guest; returns the match of this boot's READY line (the console file is appended to)."""
        offset = guest.mark()
        self.call_vm(guest.name, "Start")
        self.assertEqual(self.vm_prop(guest.name, "State"), "running")
        return guest.wait_console(r"SPIRIT-GUEST-READY (\S+)", timeout=90, after=offset)


class RealGuestLifecycleTest(RealQemuTestCase):
    guests = {"linux": dict(kind="linux", disk=True)}

    def test_start_pause_resume_save_restore_snapshot_shutdown(self):
        g = self.linux.name
        ready = self.start_and_wait_ready(self.linux)
        self.linux.wait_ticks_past(2)

        # Pause freezes the guest's CPUs: no tick is printed while paused.
        self.call_vm(g, "Pause")
        self.assertEqual(self.vm_prop(g, "State"), "paused")
        self.assertEqual(self.vm_prop(g, "StateReason"), "user")
        frozen = self.linux.ticks()[-1][0]
        self.call_vm(g, "Resume")
        self.assertEqual(self.vm_prop(g, "State"), "running")
        self.linux.wait_ticks_past(frozen)

        # SaveState: RAM to disk; Start resumes it, the counter and the uptime carry on.
        self.call_vm(g, "SaveState", timeout_ms=180000)
        self.assertEqual(self.vm_prop(g, "State"), "saved")
        self.assertTrue(self.vm_prop(g, "HasSavedState"))
        before_n, before_up = self.linux.ticks()[-1]
        self.call_vm(g, "Start", timeout_ms=180000)
        self.assertEqual(self.vm_prop(g, "State"), "running")
        self.assertEqual(self.vm_prop(g, "StateReason"), "restored")
        self.assertFalse(self.vm_prop(g, "HasSavedState"))
        self.linux.wait_ticks_past(before_n)
        after = [t for t in self.linux.ticks() if t[0] > before_n]
        self.assertEqual(after[0][0], before_n + 1, "the counter restarted: RAM was not restored")
        self.assertGreater(after[0][1], before_up)
        self.assertNotIn("SPIRIT-GUEST-READY", self.linux.console_text()[ready.end():],
                         "the guest booted again instead of resuming")

        # Snapshot, let it run on, revert: the guest goes back to the snapshot's count.
        snap_n = self.linux.ticks()[-1][0]
        self.call_vm(g, "CreateSnapshot", ("(s)", ("spirit-test",)), timeout_ms=180000)
        self.assertEqual(self.vm_prop(g, "Snapshots"), ["spirit-test"])
        self.linux.wait_ticks_past(snap_n + 6)
        offset = len(self.linux.console_text())
        self.call_vm(g, "RevertSnapshot", ("(s)", ("spirit-test",)), timeout_ms=180000)
        self.assertEqual(self.vm_prop(g, "State"), "running")
        m = self.linux.wait_console(r"SPIRIT-TICK (\d+) ", after=offset)
        self.assertLessEqual(int(m.group(1)), snap_n + 3, "revert did not go back in time")
        self.call_vm(g, "DeleteSnapshot", ("(s)", ("spirit-test",)))
        self.assertEqual(self.vm_prop(g, "Snapshots"), [])

        # Graceful shutdown: the guest handles the ACPI power button; the call returns once off.
        self.call_vm(g, "Shutdown", ("(u)", (90,)), timeout_ms=120000)
        self.assertEqual(self.vm_prop(g, "State"), "shutoff")
        self.assertEqual(self.vm_prop(g, "StateReason"), "shutdown")
        self.assertIn("SPIRIT-POWEROFF", self.linux.console_text())

    def test_guest_kernel_is_the_test_kernel(self):
        ready = self.start_and_wait_ready(self.linux)
        kernels = os.listdir("/lib/modules")
        self.assertIn(ready.group(1), kernels)
        self.call_vm(self.linux.name, "ForceStop")
        self.assertEqual(self.vm_prop(self.linux.name, "StateReason"), "destroyed")


class OutsideChangesTest(RealQemuTestCase):
    """Changes made with virsh, behind Spirit's back, reach clients as signals (no polling)."""
    guests = {"fw": dict(kind="firmware")}

    def test_virsh_suspend_and_resume_are_seen(self):
        g = self.fw.name
        virsh("start", g)
        self.wait_vm_state(g, "running")
        count = len(self.state_signals(g))
        virsh("suspend", g)
        wait_until(lambda: self.state_signals(g)[count:] [-1:] == ["paused"], timeout=30,
                   what="PropertiesChanged(paused) after virsh suspend")
        virsh("resume", g)
        wait_until(lambda: self.state_signals(g)[-1:] == ["running"], timeout=30,
                   what="PropertiesChanged(running) after virsh resume")
        virsh("destroy", g)
        self.wait_vm_state(g, "shutoff")

    def test_virsh_define_and_undefine_add_and_remove_objects(self):
        name = PREFIX + "defined-outside"
        added, removed = [], []
        self.objects.connect("object-added", lambda m, o: added.append(o.get_object_path()))
        self.objects.connect("object-removed", lambda m, o: removed.append(o.get_object_path()))
        xml_path = os.path.join(self.files.dir, name + ".xml")
        with open(xml_path, "w") as f:
            f.write(realguest.FIRMWARE_ONLY_XML % {"name": name})
        virsh("define", xml_path)
        try:
            wait_until(lambda: name in self.vm_names(), timeout=30, what="the object of a domain defined with virsh")
            path = self.vm_path(name)
            self.assertIn(path, added)
            self.assertEqual(self.vm_prop(name, "State"), "shutoff")
        finally:
            virsh("undefine", name)
        wait_until(lambda: name not in self.vm_names(), timeout=30, what="the object to go with virsh undefine")
        self.assertIn(path, removed)

    def test_shutdown_that_the_guest_ignores_times_out_and_leaves_it_running(self):
        g = self.fw.name
        self.call_vm(g, "Start")
        message = self.assert_dbus_error(ERR + "Timeout", self.call_vm, g, "Shutdown", ("(u)", (2,)),
                                         contains="did not shut down within 2 s")
        self.assertIn("ForceStop", message)
        self.assertEqual(self.vm_prop(g, "State"), "running")
        self.assertEqual(virsh("domstate", g).stdout.strip(), "running")
        self.call_vm(g, "ForceStop")
        self.assertEqual(self.vm_prop(g, "State"), "shutoff")

    def test_libvirt_failure_keeps_libvirts_message(self):
        g = self.fw.name
        self.call_vm(g, "Start")
        try:
            # A running VM without a qcow2 disk cannot take an internal snapshot: QEMU refuses.
            message = self.assert_dbus_error(ERR + "Failed", self.call_vm, g, "CreateSnapshot", ("(s)", ("nope",)),
                                             timeout_ms=120000)
            self.assertIn("Could not take a snapshot of '%s'" % g, message)
            self.assertEqual(self.vm_prop(g, "Snapshots"), [])
            self.assertEqual(self.vm_prop(g, "State"), "running")
        finally:
            self.call_vm(g, "ForceStop")


class ReconnectTest(RealQemuTestCase):
    """libvirtd killed and restarted under a running spiritd and a running guest."""
    guests = {"fw": dict(kind="firmware")}

    def test_objects_come_back_after_libvirtd_restart(self):
        g = self.fw.name
        self.call_vm(g, "Start")
        pid = self.daemon.process.pid
        path = self.vm_path(g)
        seen = []
        self.manager.connect("g-properties-changed",
                             lambda p, changed, inv: seen.append(changed.unpack().get("Connected")))

        realguest.restart_libvirtd()
        # The drop is seen (Connected false, the VM unavailable), then the reconnect.
        wait_until(lambda: False in seen, timeout=30, what="Manager.Connected to drop")
        self.wait_connected(True, timeout=60)
        self.assertIn("unavailable", self.state_signals(g))
        self.assertEqual(self.vm_path(g), path)
        self.wait_vm_state(g, "running")
        self.assertIsNone(self.daemon.process.poll())
        self.assertEqual(self.daemon.process.pid, pid)

        # And it works through the new connection.
        self.call_vm(g, "Pause")
        self.assertEqual(virsh("domstate", g).stdout.strip(), "paused")
        self.call_vm(g, "ForceStop")

    def test_calls_while_libvirtd_is_down_fail_with_unavailable(self):
        g = self.fw.name
        subprocess.run(["pkill", "-x", "libvirtd"], check=True)
        try:
            self.wait_connected(False, timeout=30)
            self.assertEqual(self.vm_prop(g, "State"), "unavailable")
            self.assert_dbus_error(ERR + "Unavailable", self.call_vm, g, "Start", contains="connection is down")
        finally:
            realguest.ensure_libvirtd()
        self.wait_connected(True, timeout=60)
        self.wait_vm_state(g, "shutoff")


if __name__ == "__main__":
    main()
