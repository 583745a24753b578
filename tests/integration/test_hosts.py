#!/usr/bin/python3
"""Several hosts (libvirt connections) in one spiritd, from a spirit.conf: listing with hosts,
routing of calls to the right connection, HOST/NAME addressing, ambiguous names, bad configs."""

import os
import subprocess
import tempfile

from spirittest import SPIRITD, TEST_DRIVER_URI, TESTS, SpiritTestCase, main

ERR = "org.crom.Spirit.Error."
LAB_URI = "test://" + os.path.join(TESTS, "data", "test-driver-lab.xml")


class HostsTest(SpiritTestCase):
    uri = None

    def setUp(self):
        self.config = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        self.config.write("[host local]\nuri=%s\n\n[host lab]\nuri=%s\n" % (TEST_DRIVER_URI, LAB_URI))
        self.config.close()
        self.spiritd_args = ["--no-polkit", "--config", self.config.name]
        super().setUp()

    def tearDown(self):
        super().tearDown()
        os.unlink(self.config.name)

    def test_every_vm_is_listed_with_its_host(self):
        by_host = {}
        for vm in self.spiritctl_json("vm", "list"):
            by_host.setdefault(vm["Host"], []).append(vm["Name"])
        self.assertEqual(by_host, {"lab": ["alpha", "delta"], "local": ["alpha", "beta", "gamma"]})
        hosts = self.manager_prop("Hosts")
        self.assertEqual(hosts, [("local", TEST_DRIVER_URI, True), ("lab", LAB_URI, True)])

    def test_host_is_in_the_object_path(self):
        self.assertEqual(self.vm_path("lab/delta"), "/org/crom/Spirit/vm/lab/55555555_5555_4555_8555_555555555555")
        self.assertEqual(self.vm_path("delta"), self.vm_path("lab/delta"))

    def test_ambiguous_name_lists_the_candidates(self):
        self.assert_dbus_error(ERR + "AmbiguousName", self.vm_path, "alpha",
                               contains=["'alpha' is ambiguous", "lab/alpha, local/alpha"])
        result = self.spiritctl("vm", "pause", "alpha", check=1)
        self.assertIn("lab/alpha, local/alpha", result.stderr.decode())

    def test_calls_go_to_the_right_connection(self):
        self.call_vm("lab/alpha", "Pause")
        self.assertEqual(self.vm_prop("lab/alpha", "State"), "paused")
        self.assertEqual(self.vm_prop("local/alpha", "State"), "running")
        self.spiritctl("vm", "start", "delta", check=0)
        self.assertEqual(self.spiritctl_json("vm", "info", "lab/delta")["State"], "running")

    def test_uuid_finds_across_hosts(self):
        self.assertEqual(self.vm_path("44444444-4444-4444-8444-444444444444"), self.vm_path("lab/alpha"))

    def test_unknown_host(self):
        self.assert_dbus_error(ERR + "NoSuchVM", self.vm_path, "moon/alpha",
                               contains=["No host named 'moon'", "local, lab"])
        self.assert_dbus_error(ERR + "NoSuchVM", self.vm_path, "lab/beta", contains="VMs: alpha, delta")

    def test_list_one_host(self):
        out = self.spiritctl("vm", "list", "--host", "lab", check=0).stdout.decode().splitlines()
        self.assertEqual([line.split()[:2] for line in out[1:]], [["lab", "alpha"], ["lab", "delta"]])
        result = self.spiritctl("vm", "list", "--host", "moon", check=1)
        self.assertIn("No host named 'moon' (hosts: local, lab)", result.stderr.decode())


class ConfigErrorsTest(SpiritTestCase):
    def setUp(self):
        pass  # no daemon: each test starts spiritd with a broken file

    def tearDown(self):
        pass

    def spiritd_with(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(text)
            f.flush()
            return subprocess.run([SPIRITD, "--session", "--config", f.name], capture_output=True, timeout=30)

    def test_bad_configs_are_refused_with_the_reason(self):
        cases = {
            "[host a]\n": "has no uri=",
            "[host a b]\nuri=test:///default\n": "'a b' is not valid",
            "[host a/b]\nuri=test:///default\n": "'a/b' is not valid",
            "[machines]\nx=1\n": "Unknown group [machines]",
            "not a keyfile": "",
        }
        for text, fragment in cases.items():
            with self.subTest(text=text):
                result = self.spiritd_with(text)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(b"spiritd: ", result.stderr)
                self.assertIn(fragment.encode(), result.stderr)


if __name__ == "__main__":
    main()
