#!/usr/bin/python3
"""org.crom.Spirit.VM against libvirt's test driver: every method, every error, signals.

Run one class with: tests/integration/test_vm_testdriver.py ListingTest
"""

import re

from spirittest import (GLib, SpiritTestCase, VM_IFACE, main, wait_until)

ERR = "org.crom.Spirit.Error."


class ListingTest(SpiritTestCase):
    def test_objects_match_the_driver(self):
        self.assertEqual(self.vm_names(), ["alpha", "beta", "gamma"])
        self.assertEqual(self.vm_prop("alpha", "State"), "running")
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")
        self.assertEqual(self.vm_prop("gamma", "State"), "paused")

    def test_properties_describe_the_vm(self):
        alpha = self.vm_proxy("alpha")
        props = {name: alpha.get_cached_property(name).unpack() for name in alpha.get_cached_property_names()}
        self.assertEqual(props["UUID"], "11111111-1111-4111-8111-111111111111")
        self.assertEqual(props["Host"], "local")
        self.assertEqual(props["Title"], "Alpha, the running one")
        self.assertEqual(props["Vcpus"], 2)
        self.assertEqual(props["MemoryKiB"], 524288)
        self.assertEqual(props["MaxMemoryKiB"], 1048576)
        self.assertTrue(props["Persistent"])
        self.assertFalse(props["HasSavedState"])
        self.assertEqual(props["Snapshots"], [])
        self.assertGreater(props["Id"], 0)
        self.assertEqual(self.vm_prop("beta", "Id"), -1)

    def test_object_path_carries_host_and_uuid(self):
        self.assertEqual(self.vm_path("beta"), "/org/crom/Spirit/vm/local/22222222_2222_4222_8222_222222222222")

    def test_get_vm_by_uuid(self):
        self.assertEqual(self.vm_path("22222222-2222-4222-8222-222222222222"), self.vm_path("beta"))

    def managed_objects(self):
        return self.bus.call_sync("org.crom.Spirit", "/org/crom/Spirit", "org.freedesktop.DBus.ObjectManager",
                                  "GetManagedObjects", None, None, 0, 10000, None).unpack()[0]

    def test_get_managed_objects_is_current_after_changes(self):
        # spiritd caches the reply; every change must invalidate exactly what it touched.
        first = self.managed_objects()
        self.assertEqual(first, self.managed_objects())
        alpha, gamma = self.vm_path("alpha"), self.vm_path("gamma")
        self.call_vm("alpha", "Pause")
        self.call_vm("gamma", "CreateSnapshot", ("(s)", ("s1",)))
        after = self.managed_objects()
        self.assertEqual(after[alpha]["org.crom.Spirit.VM"]["State"], "paused")
        self.assertEqual(after[gamma]["org.crom.Spirit.VM"]["Snapshots"], ["s1"])
        self.assertEqual(after[self.vm_path("beta")], first[self.vm_path("beta")])
        self.assertEqual(set(after), set(first))
        for path, interfaces in after.items():
            proxy = self.objects.get_interface(path, "org.crom.Spirit.VM")
            for name, value in interfaces["org.crom.Spirit.VM"].items():
                self.assertEqual(proxy.get_cached_property(name).unpack(), value, name)

    def test_cpu_usage_follows_the_running_vms(self):
        # The test driver's CPU time is its wall clock: a running VM's vCPUs are all busy, so
        # its usage is 100 % of one vCPU out of Vcpus. spiritd reads it every 2 s.
        wait_until(lambda: self.vm_prop("alpha", "CpuUsage") > 0, timeout=30,
                   what="alpha's CpuUsage after two readings")
        self.assertAlmostEqual(self.vm_prop("alpha", "CpuUsage"),
                               100.0 / self.vm_prop("alpha", "Vcpus"), delta=2)
        self.assertEqual(self.vm_prop("gamma", "CpuUsage"), 0.0)  # paused: not read
        self.assertEqual(self.vm_prop("beta", "CpuUsage"), 0.0)  # shut off
        self.call_vm("alpha", "Pause")  # the state change resets it, before the reply
        self.assertEqual(self.vm_prop("alpha", "CpuUsage"), 0.0)
        # alpha was the only running VM, so the readings stopped; Resume starts them again
        self.call_vm("alpha", "Resume")
        wait_until(lambda: self.vm_prop("alpha", "CpuUsage") > 0, timeout=30,
                   what="alpha's CpuUsage after Resume")

    def test_manager_properties(self):
        self.assertEqual(self.manager_prop("Uri"), self.uri)
        self.assertTrue(self.manager_prop("Connected"))
        self.assertRegex(self.manager_prop("Version"), r"^\d+\.\d+\.\d+$")


class LifecycleTest(SpiritTestCase):
    def test_pause_and_resume_emit_properties_changed(self):
        self.call_vm("alpha", "Pause")
        self.assertEqual(self.vm_prop("alpha", "State"), "paused")
        self.assertEqual(self.vm_prop("alpha", "StateReason"), "user")
        wait_until(lambda: "paused" in self.state_signals("alpha"), what="PropertiesChanged(paused)")
        self.call_vm("alpha", "Resume")
        wait_until(lambda: self.state_signals("alpha")[-1:] == ["running"], what="PropertiesChanged(running)")
        self.assertEqual(self.vm_prop("alpha", "StateReason"), "unpaused")

    def test_reply_comes_after_the_new_state(self):
        # spiritd flushes PropertiesChanged before it replies: once Pause returns, the signal
        # is already in this connection's queue.
        self.call_vm("alpha", "Pause")
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass
        self.assertIn("paused", self.state_signals("alpha"))

    def test_start_and_graceful_shutdown(self):
        self.call_vm("beta", "Start")
        self.assertEqual(self.vm_prop("beta", "State"), "running")
        self.assertGreater(self.vm_prop("beta", "Id"), 0)
        self.call_vm("beta", "Shutdown", ("(u)", (10,)))
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")
        self.assertEqual(self.vm_prop("beta", "StateReason"), "shutdown")

    def test_force_stop(self):
        self.call_vm("alpha", "ForceStop")
        self.assertEqual(self.vm_prop("alpha", "State"), "shutoff")
        self.assertEqual(self.vm_prop("alpha", "StateReason"), "destroyed")

    def test_force_stop_a_paused_vm(self):
        self.call_vm("gamma", "ForceStop")
        self.assertEqual(self.vm_prop("gamma", "State"), "shutoff")

    def test_reboot(self):
        self.call_vm("alpha", "Reboot")
        self.assertEqual(self.vm_prop("alpha", "State"), "running")

    def test_save_state_then_start_restores(self):
        self.call_vm("alpha", "SaveState")
        self.assertEqual(self.vm_prop("alpha", "State"), "saved")
        self.assertTrue(self.vm_prop("alpha", "HasSavedState"))
        self.call_vm("alpha", "Start")
        self.assertEqual(self.vm_prop("alpha", "State"), "running")
        # (the test driver reports reason "booted" here; the real QEMU test checks "restored")
        self.assertFalse(self.vm_prop("alpha", "HasSavedState"))

    def test_save_a_paused_vm(self):
        self.call_vm("gamma", "SaveState")
        self.assertEqual(self.vm_prop("gamma", "State"), "saved")

    def test_discard_saved_state(self):
        self.call_vm("alpha", "SaveState")
        self.call_vm("alpha", "DiscardSavedState")
        self.assertEqual(self.vm_prop("alpha", "State"), "shutoff")
        self.assertFalse(self.vm_prop("alpha", "HasSavedState"))

    def test_set_memory_live_and_persistent(self):
        self.call_vm("alpha", "SetMemory", ("(t)", (262144,)))
        self.assertEqual(self.vm_prop("alpha", "MemoryKiB"), 262144)
        self.call_vm("beta", "SetMemory", ("(t)", (1048576,)))
        self.assertEqual(self.vm_prop("beta", "MemoryKiB"), 1048576)

    def test_set_memory_out_of_range(self):
        for kib in (0, 1024, 1048577, 2 ** 63):
            self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "alpha", "SetMemory", ("(t)", (kib,)),
                                   contains=["out of range", "1048576 KiB"])
        self.assertEqual(self.vm_prop("alpha", "MemoryKiB"), 524288)

    def test_autostart(self):
        self.call_vm("beta", "SetAutostart", ("(b)", (True,)))
        self.assertTrue(self.vm_prop("beta", "Autostart"))
        self.call_vm("beta", "SetAutostart", ("(b)", (False,)))
        self.assertFalse(self.vm_prop("beta", "Autostart"))


class SnapshotTest(SpiritTestCase):
    def test_create_revert_delete(self):
        created = self.call_vm("alpha", "CreateSnapshot", ("(s)", ("before-update",)))
        self.assertEqual(created, ("before-update",))
        self.assertEqual(self.vm_prop("alpha", "Snapshots"), ["before-update"])
        self.assertEqual(self.vm_prop("alpha", "CurrentSnapshot"), "before-update")

        self.call_vm("alpha", "ForceStop")
        self.call_vm("alpha", "RevertSnapshot", ("(s)", ("before-update",)))
        self.assertEqual(self.vm_prop("alpha", "State"), "running")

        self.call_vm("alpha", "DeleteSnapshot", ("(s)", ("before-update",)))
        self.assertEqual(self.vm_prop("alpha", "Snapshots"), [])
        self.assertEqual(self.vm_prop("alpha", "CurrentSnapshot"), "")

    def test_empty_name_makes_one_up(self):
        (created,) = self.call_vm("beta", "CreateSnapshot", ("(s)", ("",)))
        self.assertRegex(created, r"^snapshot-\d{8}-\d{6}$")
        self.assertEqual(self.vm_prop("beta", "Snapshots"), [created])

    def test_snapshots_are_listed_parent_first(self):
        for name in ("one", "two", "three"):
            self.call_vm("beta", "CreateSnapshot", ("(s)", (name,)))
        self.assertEqual(self.vm_prop("beta", "Snapshots"), ["one", "two", "three"])
        self.assertEqual(self.vm_prop("beta", "CurrentSnapshot"), "three")

    def test_duplicate_name_is_refused(self):
        self.call_vm("beta", "CreateSnapshot", ("(s)", ("same",)))
        self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "beta", "CreateSnapshot",
                               ("(s)", ("same",)), contains="already has a snapshot named 'same'")
        self.assertEqual(self.vm_prop("beta", "Snapshots"), ["same"])

    def test_unknown_snapshot_lists_the_known_ones(self):
        self.call_vm("beta", "CreateSnapshot", ("(s)", ("known",)))
        for method in ("RevertSnapshot", "DeleteSnapshot"):
            self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "beta", method,
                                   ("(s)", ("missing",)), contains=["'missing'", "snapshots: known"])
        self.assertEqual(self.vm_prop("beta", "Snapshots"), ["known"])

    def test_bad_snapshot_names(self):
        bad = {
            "x" * 10240: "10240 bytes long",
            "../../etc/passwd": "position 3",
            "a/b": "position 2",
            "semi;colon": "position 5",
            "ção": "position 1",
            " leading": "may not start",
            ".hidden": "may not start",
            "tab\tname": "position 4",
        }
        for name, fragment in bad.items():
            self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "beta", "CreateSnapshot",
                                   ("(s)", (name,)), contains=fragment)
        self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "beta", "RevertSnapshot",
                               ("(s)", ("",)), contains="empty")
        self.assertEqual(self.vm_prop("beta", "Snapshots"), [])


class ErrorTest(SpiritTestCase):
    def test_resume_a_shutoff_vm_names_the_state(self):
        message = self.assert_dbus_error(ERR + "InvalidState", self.call_vm, "beta", "Resume")
        self.assertIn("it is shutoff", message)
        self.assertIn("it must be paused", message)
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")

    def test_invalid_states_for_every_method(self):
        cases = [
            ("alpha", "Start", None), ("beta", "Shutdown", ("(u)", (0,))), ("beta", "ForceStop", None),
            ("beta", "Reboot", None), ("beta", "Pause", None), ("gamma", "Pause", None),
            ("alpha", "Resume", None), ("beta", "SaveState", None), ("alpha", "DiscardSavedState", None),
            ("beta", "DiscardSavedState", None),
        ]
        before = {name: self.vm_prop(name, "State") for name in ("alpha", "beta", "gamma")}
        for vm, method, args in cases:
            with self.subTest(vm=vm, method=method):
                self.assert_dbus_error(ERR + "InvalidState", self.call_vm, vm, method, args,
                                       contains="it is %s" % before[vm])
        self.assertEqual({name: self.vm_prop(name, "State") for name in before}, before)

    def test_get_vm_errors(self):
        call = self.vm_path
        self.assert_dbus_error(ERR + "NoSuchVM", call, "delta", contains=["'delta'", "alpha, beta, gamma"])
        self.assert_dbus_error(ERR + "InvalidArgument", call, "", contains="empty")
        self.assert_dbus_error(ERR + "InvalidArgument", call, "v" * 10240, contains="longer than")
        self.assert_dbus_error(ERR + "NoSuchVM", call, "ümlaut-☃")

    def test_shutdown_timeout_too_long(self):
        self.assert_dbus_error(ERR + "InvalidArgument", self.call_vm, "alpha", "Shutdown", ("(u)", (999999,)),
                               contains="too long")
        self.assertEqual(self.vm_prop("alpha", "State"), "running")

    def test_daemon_survives_bad_input(self):
        for _ in range(3):
            self.test_get_vm_errors()
        self.assertIsNone(self.daemon.process.poll())
        self.assertEqual(self.vm_names(), ["alpha", "beta", "gamma"])

    def test_error_names_are_registered(self):
        # Introspection of the object carries the interface; unknown methods are D-Bus's own errors.
        with self.assertRaises(GLib.Error) as ctx:
            self.bus.call_sync("org.crom.Spirit", self.vm_path("alpha"), VM_IFACE, "Explode", None, None,
                               0, 5000, None)
        self.assertRegex(ctx.exception.message, re.compile("UnknownMethod|No such method", re.I))


class ReplaceTest(SpiritTestCase):
    def test_second_instance_is_refused_without_replace(self):
        import subprocess
        from spirittest import SPIRITD
        env = dict(__import__("os").environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        result = subprocess.run([SPIRITD, "--session", "--no-polkit", "--uri", self.uri], capture_output=True,
                                env=env, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"already owned by another instance (use --replace", result.stderr)
        self.assertIsNone(self.daemon.process.poll())

    def test_replace_takes_over(self):
        from spirittest import SpiritDaemon
        first = self.daemon
        second = SpiritDaemon(self.address, self.uri, ["--no-polkit", "--replace"])
        try:
            self.assertEqual(first.process.wait(timeout=30), 0, first.output())
            self.assertIn("Replaced by another instance", first.output())

            def owner_pid():
                owner = self.manager.get_name_owner()  # may still be the old, gone, owner
                try:
                    return self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                              "GetConnectionUnixProcessID", GLib.Variant("(s)", (owner,)), None, 0,
                                              5000, None).unpack()[0]
                except (GLib.Error, TypeError):
                    return None
            wait_until(lambda: owner_pid() == second.process.pid, what="the new instance to own the name")
            wait_until(lambda: self.vm_names() == ["alpha", "beta", "gamma"], what="the new instance's VMs")
        finally:
            self.daemon = second


class NoPolkitSafetyTest(SpiritTestCase):
    spiritd_args = []

    def test_session_without_polkit_denies(self):
        # --session without --no-polkit keeps polkit on. No polkitd runs on this private bus, so every
        # mutating call must be refused, never silently allowed.
        self.assert_dbus_error(ERR + "NotAuthorized", self.call_vm, "alpha", "Pause",
                               contains="org.crom.Spirit.vm.control")
        self.assertEqual(self.vm_prop("alpha", "State"), "running")

    def test_no_polkit_requires_session(self):
        import subprocess
        from spirittest import SPIRITD
        result = subprocess.run([SPIRITD, "--no-polkit"], capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"only allowed with --session", result.stderr)


if __name__ == "__main__":
    main()
