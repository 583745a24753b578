#!/usr/bin/python3
"""spiritctl against spiritd on the test driver: output, exit codes, errors, the "spirit" name."""

import os
import subprocess
import tempfile

from spirittest import SPIRITCTL, SpiritTestCase, main, wait_until


class SpiritctlTest(SpiritTestCase):
    def test_list_table(self):
        out = self.spiritctl("vm", "list", check=0).stdout.decode()
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["HOST", "NAME", "STATE", "CPUS", "MEMORY", "AUTOSTART", "SNAPSHOTS"])
        rows = {line.split()[1]: line.split() for line in lines[1:]}
        self.assertEqual(sorted(rows), ["alpha", "beta", "gamma"])
        self.assertEqual({row[0] for row in rows.values()}, {"local"})
        self.assertEqual(rows["alpha"][2], "running")
        self.assertEqual(rows["gamma"][2], "paused")
        self.assertEqual(rows["beta"][3], "4")
        self.assertEqual(" ".join(rows["beta"][4:6]), "2.0 GiB")

    def test_list_json(self):
        vms = self.spiritctl_json("vm", "list")
        self.assertEqual([vm["Name"] for vm in vms], ["alpha", "beta", "gamma"])
        alpha = vms[0]
        self.assertEqual(alpha["State"], "running")
        self.assertEqual(alpha["Vcpus"], 2)
        self.assertEqual(alpha["MemoryKiB"], 524288)
        self.assertEqual(alpha["ObjectPath"], self.vm_path("alpha"))

    def test_actions_change_state(self):
        out = self.spiritctl("vm", "pause", "alpha", check=0).stdout.decode()
        self.assertIn("now paused", out)
        self.wait_vm_state("alpha", "paused")
        self.spiritctl("vm", "resume", "alpha", check=0)
        self.spiritctl("vm", "save", "alpha", check=0)
        self.wait_vm_state("alpha", "saved")
        self.spiritctl("vm", "start", "alpha", check=0)
        self.spiritctl("vm", "stop", "alpha", "--timeout", "30", check=0)
        self.spiritctl("vm", "start", "alpha", check=0)
        self.spiritctl("vm", "reboot", "alpha", check=0)
        self.spiritctl("vm", "force-stop", "alpha", check=0)
        self.spiritctl("vm", "autostart", "alpha", "on", check=0)
        vm = self.spiritctl_json("vm", "info", "alpha")
        self.assertEqual(vm["State"], "shutoff")
        self.assertTrue(vm["Autostart"])

    def test_snapshots(self):
        out = self.spiritctl("vm", "snapshot", "create", "beta", "clean", check=0).stdout.decode()
        self.assertIn("'clean'", out)
        self.spiritctl("vm", "snapshot", "create", "beta", check=0)
        listing = self.spiritctl("vm", "snapshot", "list", "beta", check=0).stdout.decode().splitlines()
        self.assertEqual(len(listing), 2)
        self.assertEqual(listing[0], "clean")
        self.assertTrue(listing[1].endswith("(current)"))
        self.spiritctl("vm", "snapshot", "revert", "beta", "clean", check=0)
        self.spiritctl("vm", "snapshot", "delete", "beta", "clean", check=0)
        wait_until(lambda: len(self.vm_prop("beta", "Snapshots")) == 1, what="one snapshot left")

    def test_memory(self):
        out = self.spiritctl("vm", "memory", "alpha", "256M", check=0).stdout.decode()
        self.assertIn("memory set", out)
        self.assertEqual(self.spiritctl_json("vm", "info", "alpha")["MemoryKiB"], 262144)
        self.spiritctl("vm", "memory", "alpha", "1G", check=0)
        self.assertEqual(self.spiritctl_json("vm", "info", "alpha")["MemoryKiB"], 1048576)
        self.spiritctl("vm", "memory", "alpha", "300", check=0)  # a bare number is MiB
        self.assertEqual(self.spiritctl_json("vm", "info", "alpha")["MemoryKiB"], 300 * 1024)
        for bad in ("", "12Q", "-5M", "G", "99999999999999999999T"):
            self.spiritctl("vm", "memory", "alpha", bad, check=2)
        result = self.spiritctl("vm", "memory", "alpha", "9G", check=1)
        self.assertIn("out of range", result.stderr.decode())

    def test_info(self):
        out = self.spiritctl("vm", "info", "alpha", check=0).stdout.decode()
        self.assertIn("Alpha, the running one", out)
        self.assertIn("11111111-1111-4111-8111-111111111111", out)
        self.assertRegex(out, r"State:\s+running")
        # the test driver's VMs have no agent; an inactive VM has no agent line at all
        self.assertRegex(out, r"Agent:\s+none answering\n")
        out = self.spiritctl("vm", "info", "beta", check=0).stdout.decode()
        self.assertNotIn("Agent:", out)

    def test_service_errors_exit_1_with_message(self):
        result = self.spiritctl("vm", "resume", "beta", check=1)
        self.assertEqual(result.stderr.decode().strip(),
                         "spiritctl: Cannot resume 'beta': it is shutoff (it must be paused)")
        result = self.spiritctl("vm", "info", "nope", check=1)
        self.assertIn("No VM named 'nope'", result.stderr.decode())
        result = self.spiritctl("vm", "snapshot", "revert", "beta", "ghost", check=1)
        self.assertIn("no snapshot named 'ghost'", result.stderr.decode())
        self.assertEqual(result.stdout, b"")

    def test_usage_errors_exit_2(self):
        self.spiritctl(check=2)
        self.spiritctl("frobnicate", check=2)
        self.spiritctl("vm", check=2)
        self.spiritctl("vm", "pause", check=2)
        self.spiritctl("vm", "autostart", "alpha", "maybe", check=2)
        self.spiritctl("vm", "snapshot", "revert", "alpha", check=2)
        result = self.spiritctl("vm", "info", b"\xff\xfe".decode("latin1").encode("latin1"), check=2)
        self.assertIn("not valid UTF-8", result.stderr.decode())
        self.assertEqual(self.vm_prop("alpha", "State"), "running")

    def test_huge_and_empty_names(self):
        result = self.spiritctl("vm", "info", "a" * 10240, check=1)
        self.assertIn("longer than", result.stderr.decode())
        result = self.spiritctl("vm", "info", "", check=1)
        self.assertIn("empty", result.stderr.decode())

    def test_status(self):
        status = self.spiritctl_json("status")
        self.assertEqual(status["VMs"], 3)
        self.assertTrue(status["Connected"])
        self.assertEqual(status["Uri"], self.uri)

    def test_spirit_name_works_too(self):
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, "spirit")
            os.symlink(SPIRITCTL, link)
            env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address)
            result = subprocess.run([link, "vm", "list"], capture_output=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"alpha", result.stdout)

    def test_watch_prints_live_changes(self):
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address)
        watch = subprocess.Popen([SPIRITCTL, "--json", "vm", "watch"], stdout=subprocess.PIPE, env=env)
        try:
            lines = [watch.stdout.readline() for _ in range(3)]  # the three present VMs
            self.assertTrue(all(b'"present"' in line for line in lines), lines)
            self.call_vm("alpha", "Pause")
            # blocks until spiritctl prints a change; alpha's CpuUsage (read every 2 s while it
            # runs) may come first, so look at a few lines for the pause
            changes = []
            while len(changes) < 5 and not any(b'"paused"' in c for c in changes):
                changes.append(watch.stdout.readline())
            line = next((c for c in changes if b'"paused"' in c), b"")
            self.assertIn(b'"changed"', line, changes)
            self.assertIn(b'"alpha"', line, changes)
        finally:
            watch.terminate()
            self.assertEqual(watch.wait(timeout=10), 0)

    def test_service_not_running(self):
        self.stop_daemon()
        result = self.spiritctl("vm", "list", check=1)
        self.assertIn("not running", result.stderr.decode())


if __name__ == "__main__":
    main()
