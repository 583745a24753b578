#!/usr/bin/python3
"""Several hosts over libvirt's remote driver, with real daemons on loopback only:

  local  qemu:///system                         the real libvirtd
  tcp    qemu+tcp://127.0.0.1:PORT/system        the same libvirtd, reached over TCP (the test
                                                restarts it with its own loopback-only config)
  lab    test+tcp://127.0.0.1:PORT2/…/lab.xml    a second, independent libvirtd (unprivileged,
                                                user spirit-test) serving libvirt's test driver

Needs root. Restarts the system libvirtd twice (with TCP on loopback, then without).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import realguest
from realguest import Guest, GuestFiles, virsh
from spirittest import TESTS, SpiritTestCase, main, wait_until

ERR = "org.crom.Spirit.Error."
PREFIX = "spirit-rh-%d-" % os.getpid()
USER = "spirit-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libvirtd_conf(path, port, extra=""):
    with open(path, "w") as f:
        f.write('listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "127.0.0.1"\ntcp_port = "%d"\n'
                'auth_tcp = "none"\n%s' % (port, extra))
    os.chmod(path, 0o644)


def answers(uri):
    return subprocess.run(["virsh", "-c", uri, "uri"], capture_output=True, timeout=30).returncode == 0


class LabDaemon:
    """A second libvirtd, as an unprivileged user, serving the test driver on a loopback port."""

    def __init__(self, root):
        self.root = root
        self.port = free_port()
        for d in ("run", "xdg", "cfg", "cache"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
            shutil.chown(os.path.join(root, d), USER)
        self.conf = os.path.join(root, "libvirtd.conf")
        libvirtd_conf(self.conf, self.port, 'unix_sock_dir = "%s/run"\n' % root)
        self.xml = shutil.copy(os.path.join(TESTS, "data", "test-driver-lab.xml"), root)
        os.chmod(self.xml, 0o644)
        self.uri = "test+tcp://127.0.0.1:%d%s" % (self.port, self.xml)
        self.process = None

    def start(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": self.root, "XDG_RUNTIME_DIR": self.root + "/xdg",
               "XDG_CONFIG_HOME": self.root + "/cfg", "XDG_CACHE_HOME": self.root + "/cache"}
        self.log = open(os.path.join(self.root, "libvirtd.log"), "a")
        self.process = subprocess.Popen(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups", "--",
                                         "libvirtd", "--listen", "-f", self.conf],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: answers(self.uri) or self.process.poll() is not None, timeout=60,
                   what="the lab libvirtd on port %d" % self.port, poll=0.2)
        assert self.process.poll() is None, "the lab libvirtd exited: see %s" % self.log.name

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class RemoteHostsTest(SpiritTestCase):
    uri = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        cls.tmp = tempfile.mkdtemp(prefix="spirit-hosts-")
        os.chmod(cls.tmp, 0o755)
        # The system libvirtd, restarted with TCP on loopback (the test's own configuration).
        cls.tcp_port = free_port()
        conf = os.path.join(cls.tmp, "system-libvirtd.conf")
        libvirtd_conf(conf, cls.tcp_port)
        cls.restart_system_libvirtd("--listen -f %s" % conf)
        cls.tcp_uri = "qemu+tcp://127.0.0.1:%d/system" % cls.tcp_port
        cls.lab = LabDaemon(os.path.join(cls.tmp, "lab"))
        cls.lab.start()
        cls.files = GuestFiles()
        cls.fw = Guest(cls.files, PREFIX + "fw", kind="firmware")
        cls.config = os.path.join(cls.tmp, "spirit.conf")
        with open(cls.config, "w") as f:
            f.write("[host local]\nuri=qemu:///system\n\n[host tcp]\nuri=%s\n\n[host lab]\nuri=%s\n"
                    % (cls.tcp_uri, cls.lab.uri))
        super().setUpClass()

    @classmethod
    def restart_system_libvirtd(cls, args):
        env = dict(os.environ, SPIRIT_LIBVIRTD_ARGS=args)
        subprocess.run([os.path.join(realguest.LIBVIRT, "restart-libvirtd.sh")], check=True, timeout=180, env=env)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.fw.undefine()
        cls.lab.stop()
        cls.files.cleanup()
        cls.restart_system_libvirtd("")  # back to no TCP at all
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.spiritd_args = ["--no-polkit", "--config", self.config]
        super().setUp()

    def test_all_hosts_listed_and_calls_routed(self):
        hosts = {name: (uri, up) for name, uri, up in self.manager_prop("Hosts")}
        self.assertEqual(hosts, {"local": ("qemu:///system", True), "tcp": (self.tcp_uri, True),
                                 "lab": (self.lab.uri, True)})
        listed = {(vm["Host"], vm["Name"]) for vm in self.spiritctl_json("vm", "list")}
        self.assertLessEqual({("local", self.fw.name), ("tcp", self.fw.name), ("lab", "alpha"), ("lab", "delta")},
                             listed)

        # Through TCP: the domain starts in the real libvirtd, and the local connection sees it too.
        self.call_vm("tcp/" + self.fw.name, "Start")
        self.assertEqual(virsh("domstate", self.fw.name).stdout.strip(), "running")
        self.wait_vm_state("local/" + self.fw.name, "running")
        self.call_vm("local/" + self.fw.name, "ForceStop")
        self.wait_vm_state("tcp/" + self.fw.name, "shutoff")

        # On the lab daemon: only the lab's VM changes.
        self.call_vm("lab/alpha", "Pause")
        self.assertEqual(self.vm_prop("lab/alpha", "State"), "paused")
        self.assertEqual(virsh("domstate", self.fw.name).stdout.strip(), "shut off")

    def test_same_name_on_two_hosts_is_ambiguous(self):
        self.assert_dbus_error(ERR + "AmbiguousName", self.vm_path, self.fw.name,
                               contains=["local/" + self.fw.name, "tcp/" + self.fw.name])

    def test_remote_daemon_down_and_back(self):
        lab_path = self.vm_path("lab/delta")
        pid = self.daemon.process.pid
        self.lab.stop()
        # Its VMs turn unavailable within seconds; the other hosts keep working.
        self.wait_vm_state("lab/delta", "unavailable", timeout=15)
        self.assertFalse(self.manager_prop("Connected"))
        self.assert_dbus_error(ERR + "Unavailable", self.call_vm, "lab/delta", "Start")
        self.call_vm("local/" + self.fw.name, "Start")
        self.assertEqual(self.vm_prop("local/" + self.fw.name, "State"), "running")
        self.call_vm("tcp/" + self.fw.name, "ForceStop")
        self.wait_vm_state("local/" + self.fw.name, "shutoff")

        # The daemon comes back: its VMs return, same objects, same spiritd.
        self.lab.start()
        self.wait_vm_state("lab/delta", "shutoff", timeout=30)
        self.wait_connected(True, timeout=30)
        self.assertEqual(self.vm_path("lab/delta"), lab_path)
        self.assertEqual(self.daemon.process.pid, pid)
        self.call_vm("lab/delta", "Start")
        self.assertEqual(self.vm_prop("lab/delta", "State"), "running")

    def test_exec_on_a_remote_vm_says_why_not(self):
        """spirit-agent's socket is on the remote machine: exec there needs qemu-guest-agent
        (through libvirt), and without it the error says so at once instead of hanging."""
        self.call_vm("tcp/" + self.fw.name, "Start")
        self.wait_vm_state("tcp/" + self.fw.name, "running")
        try:
            started = time.monotonic()
            result = self.spiritctl("exec", "tcp/" + self.fw.name, "--", "true", check=1)
            self.assertLess(time.monotonic() - started, 20)
            err = result.stderr.decode()
            self.assertIn("local host", err)
            self.assertFalse(self.vm_prop("tcp/" + self.fw.name, "AgentConnected"))
            # and the @ language words it the same
            result = self.spiritctl("run", "@tcp/%s true" % self.fw.name, check=1)
            self.assertIn("@tcp/%s: " % self.fw.name, result.stderr.decode())
        finally:
            self.call_vm("tcp/" + self.fw.name, "ForceStop")
            self.wait_vm_state("tcp/" + self.fw.name, "shutoff")


if __name__ == "__main__":
    main()
