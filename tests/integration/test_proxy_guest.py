#!/usr/bin/python3
"""The @target language end to end in a real guest: spiritctl → spiritd → spirit-agent.

One TCG guest (the test kernel, busybox and the build's spirit-agent) on the real libvirtd,
one spiritd per test on a private bus that any local user may connect to, so the calling user
of `spiritctl` can be an unprivileged one: a host file written by `> @spirit PATH` must belong
to that caller, not to root (the service never writes host files).
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "agent"))

import realguest  # noqa: E402
from agentguest import AgentGuest, GuestFiles  # noqa: E402
from spirittest import SPIRITCTL, SpiritTestCase, main, wait_until  # noqa: E402
from tmuxbash import TmuxBash  # noqa: E402

AGENT = os.environ.get("SPIRIT_AGENT") or os.path.join(
    os.environ.get("SPIRIT_BUILD_DIR", "build"), "agent", "spirit-agent")
PREFIX = "spirit-at-%d-" % os.getpid()

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class ProxyGuestTest(SpiritTestCase):
    uri = realguest.URI

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for qemu:///system")
        realguest.ensure_libvirtd()
        cls.tmp = tempfile.mkdtemp(prefix="spirit-at-guest-")
        os.chmod(cls.tmp, 0o755)
        # A bus every local user may use: the caller of spiritctl is spirit-test in one test.
        path = os.path.join(cls.tmp, "bus")
        config = os.path.join(cls.tmp, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG % path)
        cls.bus_daemon = subprocess.Popen(["dbus-daemon", "--config-file", config, "--nofork",
                                           "--print-address"], stdout=subprocess.PIPE)
        cls.address = cls.bus_daemon.stdout.readline().decode().strip()
        os.chmod(path, 0o777)
        cls.files = GuestFiles([AGENT])
        cls.guest = AgentGuest(cls.files, PREFIX + "g", os.path.join(cls.files.dir, "spirit.0.sock"))
        cls.kernel = cls.guest.start()
        # "@linux" as users write it: an alias of targets.conf for the guest
        conf = os.path.join(cls.tmp, "targets.conf")
        with open(conf, "w") as f:
            f.write("[linux]\nvm=%s\nos=posix\n" % cls.guest.name)
        cls.saved_conf = os.environ.get("SPIRIT_TARGETS_CONF")
        os.environ["SPIRIT_TARGETS_CONF"] = conf

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "saved_conf", None) is not None:
            os.environ["SPIRIT_TARGETS_CONF"] = cls.saved_conf
        else:
            os.environ.pop("SPIRIT_TARGETS_CONF", None)
        if getattr(cls, "guest", None) is not None:
            cls.guest.undefine()
        if getattr(cls, "files", None) is not None:
            cls.files.cleanup()
        if getattr(cls, "bus_daemon", None) is not None:
            cls.bus_daemon.terminate()
            cls.bus_daemon.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.vm = self.guest.name
        wait_until(lambda: self.vm_prop(self.vm, "AgentConnected"), timeout=120,
                   what="the agent of %s to be connected" % self.vm)

    def line(self, text, check=None):
        return self.spiritctl("run", text, check=check)

    def test_output_to_a_host_file_owned_by_the_caller(self):
        user = pwd.getpwnam("spirit-test")
        home = os.path.join(self.tmp, "home-%s" % self.id().rsplit(".", 1)[-1])
        os.mkdir(home)
        os.chown(home, user.pw_uid, user.pw_gid)
        path = os.path.join(home, "kernel.txt")
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address, HOME=home, XDG_CONFIG_HOME=home,
                   LC_ALL="C.UTF-8")
        subprocess.run(["setpriv", "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid),
                        "--clear-groups", SPIRITCTL, "run", "@linux uname -r > @spirit %s" % path],
                       check=True, env=env, timeout=120)
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (user.pw_uid, user.pw_gid))
        with open(path) as f:
            self.assertEqual(f.read().strip(), self.kernel)  # the guest's release, not the host's

    def test_pipe_from_the_guest_to_the_host(self):
        out = self.line("@linux cat /etc/hostname | @spirit tr a-z A-Z", check=0).stdout.decode()
        guest = self.spiritctl("@" + self.vm, "cat", "/etc/hostname", check=0).stdout.decode()
        self.assertTrue(guest.strip())
        self.assertEqual(out, guest.upper())

    def test_pause_and_resume(self):
        self.line("@linux --pause", check=0)
        self.wait_vm_state(self.vm, "paused")
        self.line("@linux --resume", check=0)
        self.wait_vm_state(self.vm, "running")
        # the agent still answers after the VM ran again
        self.assertEqual(self.line("@%s true" % self.vm).returncode, 0)

    def test_metacharacters_reach_the_guest_as_data(self):
        words = ["$(id)", "; echo pwned", "`uname`", "a  b", "*", "a|b", ">x", "2>&1x"]
        out = self.spiritctl("@" + self.vm, "printf", "%s\\n", *words, check=0).stdout.decode()
        self.assertEqual(out.splitlines(), words)
        # unless the line asks for the guest's shell
        out = self.line("@%s! echo $((6*7)) | tr 4 X" % self.vm, check=0).stdout.decode()
        self.assertEqual(out, "X2\n")

    def test_statuses(self):
        self.assertEqual(self.line("@%s sh -c 'exit 7'" % self.vm).returncode, 7)
        self.assertEqual(self.line("@%s sh -c 'kill -TERM $$'" % self.vm).returncode, 128 + 15)
        self.assertEqual(self.line("@%s true | @spirit false" % self.vm).returncode, 1)

    def test_host_file_into_the_guest_and_back(self):
        src = os.path.join(self.tmp, "to-guest.txt")
        with open(src, "w") as f:
            f.write("from the host\n")
        self.line("@spirit cat %s > @%s /tmp/from-host" % (src, self.vm), check=0)
        out = self.line("@%s cat /tmp/from-host" % self.vm, check=0).stdout.decode()
        self.assertEqual(out, "from the host\n")

    def test_service_gone_ends_the_line(self):
        """spiritd stops while a guest command runs: the line ends with a clear error, it does
        not wait forever for a JobExited that cannot come."""
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address)
        marker = "/tmp/started-%d" % os.getpid()
        proc = subprocess.Popen([SPIRITCTL, "run", "@linux! touch %s; exec sleep 1000" % marker],
                                env=env, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: self.line("@linux test -e %s" % marker).returncode == 0, timeout=60,
                       what="the command to run in the guest", poll=0.2)
            self.assertEqual(self.stop_daemon(), 0, self.daemon.output())
            self.assertEqual(proc.wait(timeout=30), 1)
            self.assertIn("@linux: the Spirit service went away while the command ran",
                          proc.stderr.read().decode())
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()

    def test_zz_start_then_run_at_once(self):
        """Named to run last: it reboots the guest. A command right after '--start' waits for the
        booting guest's agent instead of failing."""
        self.spiritctl("vm", "force-stop", self.vm, check=0)
        self.wait_vm_state(self.vm, "shutoff")
        self.line("@linux --start", check=0)
        started = time.monotonic()
        out = self.line("@linux uname -r", check=0).stdout.decode()
        self.assertEqual(out.strip(), self.kernel)
        sys.stderr.write("agent answered %.1f s after the start\n" % (time.monotonic() - started))

    def test_bash_prompt(self):
        bash = TmuxBash(self.tmp, self.address, "spirit-at-guest")
        try:
            bash.type("@linux echo hi")
            bash.wait_for("\nhi\n", timeout=60, what="'hi' from the guest")
        finally:
            bash.close()

if __name__ == "__main__":
    main()
