#!/usr/bin/python3
"""spiritctl exec / org.crom.Spirit.Proxy through the real spirit-agent in a real guest.

One TCG guest per class (libvirtd, qemu:///system), built from the suite's spirit-agent (the
ASan build, libraries and all, packed by tests/guest/build-guest.sh). The domain is defined
WITHOUT a spirit.0 channel: spiritd's VM.Start must add it (in libvirt's own channel directory),
find the socket in the live XML, and connect. One spiritd (--session --no-polkit on a private bus)
serves the whole class, so it also shows that the link survives an agent killed in the guest.
Needs root.
"""

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import realguest
from exectest import MiB, JobWatcher, cancel, rss_kib, start_exec
from realguest import GUEST, GuestFiles, virsh
from spirittest import (BUS_NAME, MANAGER_IFACE, ROOT, SPIRITCTL, Gio, SpiritDaemon, SpiritTestCase,
                        drain_main_context, main, wait_until)

AGENT = os.environ.get("SPIRIT_AGENT") or os.path.join(
    os.environ.get("SPIRIT_BUILD_DIR", "build"), "agent", "spirit-agent")
PREFIX = "spirit-exectest-%d-" % os.getpid()
QEMU_GA = "/usr/sbin/qemu-ga"  # Debian's qemu-guest-agent, packed into the guest for the fallback
QGA_CHANNEL = ("    <channel type='unix'>\n      <source mode='bind'/>\n"
               "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class ExecGuestTest(SpiritTestCase):
    """One guest, one spiritd for the class; tests share them (each leaves the guest usable)."""

    uri = realguest.URI

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for qemu:///system")
        realguest.ensure_libvirtd()
        super().setUpClass()
        cls.daemon = None
        cls.name = PREFIX + "g"
        cls.files = GuestFiles([AGENT, QEMU_GA])
        cls.console = os.path.join(cls.files.dir, cls.name + ".console")
        try:
            xml = subprocess.run(
                [os.path.join(GUEST, "make-domain.sh"), cls.name, cls.files.dir, "--console", cls.console,
                 "--memory", "512", "--cmdline", "spirit.agent=/usr/bin/spirit-agent spirit.qga=1"],
                check=True, capture_output=True, text=True, timeout=60).stdout
            assert "spirit.0" not in xml
            # qemu-ga's channel, without a path: libvirt is its client and places the socket
            xml = xml.replace("  </devices>", QGA_CHANNEL + "  </devices>", 1)
            path = os.path.join(cls.files.dir, cls.name + ".xml")
            with open(path, "w") as f:
                f.write(xml)
            virsh("define", path)
            cls.bus = Gio.DBusConnection.new_for_address_sync(
                cls.address,
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
                None, None)
            cls.daemon = SpiritDaemon(cls.address, cls.uri, ["--no-polkit"])
            cls.manager = Gio.DBusProxy.new_sync(cls.bus, Gio.DBusProxyFlags.NONE, None, BUS_NAME, ROOT,
                                                 MANAGER_IFACE, None)
            wait_until(lambda: cls.manager.get_name_owner() is not None, timeout=30, what="spiritd")
            wait_until(lambda: cls.manager.get_cached_property("Connected").unpack(), timeout=60,
                       what="spiritd connected to libvirt")
            cls.objects = Gio.DBusObjectManagerClient.new_sync(
                cls.bus, Gio.DBusObjectManagerClientFlags.NONE, BUS_NAME, ROOT, None, None, None)
            cls.watcher = JobWatcher(cls.bus)
            cls.boot()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def boot(cls):
        self = cls("run")  # an instance, for the helpers that read properties
        wait_until(lambda: cls.name in self.vm_names(), timeout=30, what="the VM object")
        self.call_vm(cls.name, "Start", timeout_ms=180000)
        ready = re.compile(r"SPIRIT-GUEST-READY (\S+)")
        wait_until(lambda: ready.search(self.console_text()), timeout=120, what="the guest to boot", poll=0.2)
        cls.kernel = ready.search(self.console_text()).group(1)
        t0 = time.monotonic()
        wait_until(lambda: self.vm_prop(cls.name, "AgentConnected"), timeout=120,
                   what="AgentConnected", poll=0.5)
        sys.stderr.write("agent connected %.1f s after READY\n" % (time.monotonic() - t0))

    @classmethod
    def tearDownClass(cls):
        status = None
        reports = []
        if getattr(cls, "daemon", None) is not None:
            status = cls.daemon.stop()
            if status != 0:
                sys.stderr.write(cls.daemon.output())
        if hasattr(cls, "watcher"):
            cls.watcher.close()
        if hasattr(cls, "name"):
            reports = [line for line in cls.console_text().splitlines()
                       if any(m in line for m in SANITIZER_MARKS)]
            virsh("destroy", cls.name, check=False)
            virsh("undefine", cls.name, "--managed-save", "--snapshots-metadata", check=False)
        if hasattr(cls, "files"):
            cls.files.cleanup()
        if hasattr(cls, "bus"):
            cls.bus.close_sync(None)
        super().tearDownClass()
        if status not in (None, 0):
            raise AssertionError("spiritd exited with status %s" % status)
        if reports:
            raise AssertionError("sanitizer reports on the guest console:\n" + "\n".join(reports))

    @classmethod
    def console_text(cls):
        try:
            with open(cls.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def setUp(self):
        self.assertIsNone(self.daemon.process.poll(), "spiritd died")

    def tearDown(self):
        if self._outcome_failed():
            sys.stderr.write("---- spiritd log (tail) ----\n%s\n" % self.daemon.output()[-6000:])
            sys.stderr.write("---- console (tail) ----\n%s\n" % self.console_text()[-3000:])

    def exec(self, *argv, stdin=None, timeout=180, extra=()):
        env = dict(os.environ)
        env["SPIRIT_BUS_ADDRESS"] = self.address
        return subprocess.run([SPIRITCTL, "exec"] + list(extra) + [self.name, "--"] + list(argv),
                              input=stdin, capture_output=True, env=env, timeout=timeout)

    def vm_path_(self):
        return self.vm_path(self.name)

    # --- tests -----------------------------------------------------------------------------

    def test_channel_was_added_by_spiritd(self):
        inactive = virsh("dumpxml", "--inactive", self.name).stdout
        self.assertRegex(inactive, r"<target type='virtio' name='spirit\.0'/>")
        live = virsh("dumpxml", self.name).stdout
        m = re.search(r"<source mode='bind' path='([^']+)'/>\s*<target type='virtio' name='spirit\.0'", live)
        self.assertIsNotNone(m, live)
        self.assertTrue(m.group(1).startswith("/var/lib/libvirt/qemu/channel/"), m.group(1))
        self.assertEqual(self.vm_prop(self.name, "GuestOS"), "linux")
        self.assertEqual(self.vm_prop(self.name, "GuestKernel"), self.kernel)
        self.assertTrue(self.vm_prop(self.name, "AgentVersion").startswith("spirit-agent "))

    def test_uname_runs_in_the_guest(self):
        result = self.exec("uname", "-r")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode().strip(), self.kernel)
        self.assertIn(self.kernel, os.listdir("/lib/modules"))
        result = self.exec("uname", "-n")
        self.assertEqual(result.stdout.decode().strip(), "spirit-guest")
        self.assertNotEqual(os.uname().nodename, "spirit-guest")

    def test_exit_codes_and_signals(self):
        self.assertEqual(self.exec("sh", "-c", "exit 7").returncode, 7)
        self.assertEqual(self.exec("sh", "-c", "kill -TERM $$").returncode, 128 + 15)
        result = self.exec("sh", "-c", "echo out; echo err >&2; exit 3")
        self.assertEqual((result.returncode, result.stdout, result.stderr), (3, b"out\n", b"err\n"))
        result = self.exec("echo $((6*7)) in $PWD with $SPIRIT_X", extra=["--shell", "--cwd", "/tmp",
                                                                        "--env", "SPIRIT_X=y"])
        self.assertEqual(result.stdout, b"42 in /tmp with y\n")
        result = self.exec("sleep", "100", extra=["--timeout", "1"])
        self.assertEqual(result.returncode, 124, result.stderr)
        self.assertIn(b"timed out", result.stderr)
        result = self.exec("/no/such/binary")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"/no/such/binary", result.stderr)

    def test_64_mib_out_and_8_mib_in_byte_exact(self):
        result = self.exec("sh", "-c", "head -c 67108864 /dev/urandom >/tmp/r && sha256sum /tmp/r")
        self.assertEqual(result.returncode, 0, result.stderr)
        guest_sha = result.stdout.split()[0].decode()
        t0 = time.monotonic()
        result = self.exec("cat", "/tmp/r")
        took = time.monotonic() - t0
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(result.stdout), 64 * MiB)
        self.assertEqual(hashlib.sha256(result.stdout).hexdigest(), guest_sha)
        sys.stderr.write("64 MiB through spiritctl exec: %.1f s (%.1f MiB/s)\n" % (took, 64 / took))
        data = os.urandom(8 * MiB)
        result = self.exec("sha256sum", stdin=data)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split()[0].decode(), hashlib.sha256(data).hexdigest())

    def test_20_concurrent_execs(self):
        env = dict(os.environ)
        env["SPIRIT_BUS_ADDRESS"] = self.address
        procs = [subprocess.Popen([SPIRITCTL, "exec", self.name, "--", "sh", "-c",
                                   "for i in 1 2 3; do echo job-%d-$i; done; exit %d" % (n, n)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
                 for n in range(20)]
        for n, proc in enumerate(procs):
            out, err = proc.communicate(timeout=180)
            self.assertEqual(proc.returncode, n, err)
            self.assertEqual(out.decode(), "".join("job-%d-%d\n" % (n, i) for i in (1, 2, 3)))

    def test_cancel_kills_a_sleep(self):
        run = start_exec(self.bus, self.vm_path_(), ["sleep", "1000"])
        cancel(self.bus, run.job, "KILL")
        status = self.watcher.wait(run.job, timeout=60)
        self.assertEqual((status["signal"], status["signal-number"]), ("KILL", 9))
        # Ctrl-C on spiritctl: Cancel(job, "INT"), then the command's own status.
        env = dict(os.environ)
        env["SPIRIT_BUS_ADDRESS"] = self.address
        proc = subprocess.Popen([SPIRITCTL, "exec", self.name, "--", "sh", "-c", "echo started; exec sleep 1000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.assertEqual(proc.stdout.readline(), b"started\n")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        self.assertEqual(proc.returncode, 128 + 2, proc.stderr.read())
        proc.stdout.close()
        proc.stderr.close()

    def test_round_trip(self):
        times = []
        for _ in range(20):
            t0 = time.monotonic()
            run = start_exec(self.bus, self.vm_path_(), ["true"])
            status = self.watcher.wait(run.job)
            times.append(time.monotonic() - t0)
            self.assertEqual(status.get("exit-code"), 0, status)
        times.sort()
        sys.stderr.write("Exec round trip of true through spiritd: median %.1f ms (min %.1f, max %.1f)\n"
                         % (times[10] * 1000, times[0] * 1000, times[-1] * 1000))

    def test_slow_reader_keeps_spiritd_bounded(self):
        result = self.exec("sh", "-c", "test -f /tmp/s || head -c 67108864 /dev/urandom >/tmp/s; sha256sum /tmp/s")
        guest_sha = result.stdout.split()[0].decode()
        pid = self.daemon.process.pid
        before = rss_kib(pid)
        gate = threading.Event()
        run = start_exec(self.bus, self.vm_path_(), ["cat", "/tmp/s"], keep=False, stdout_gate=gate)
        # The reader is not reading: the pipe fills (64 KiB), then spiritd's window (1 MiB), then
        # the agent stops reading the command's pipe and cat blocks in the guest.
        peak = before
        import fcntl
        import struct
        import termios

        def pipe_full():
            nonlocal peak
            peak = max(peak, rss_kib(pid))
            buf = fcntl.ioctl(run.stdout.fd, termios.FIONREAD, struct.pack("i", 0))
            return struct.unpack("i", buf)[0] >= 64 * 1024
        wait_until(pipe_full, timeout=60, what="the caller's pipe to fill", poll=0.05)
        # Stalled now: for 3 s, spiritd must hold no more than its window.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak = max(peak, rss_kib(pid))
            time.sleep(0.1)  # the sampling interval of a measurement, not synchronization
        self.assertNotIn(run.job, self.watcher.exited)
        sys.stderr.write("spiritd VmRSS: %d KiB before, peak %d KiB while 64 MiB were pending\n"
                         % (before, peak))
        self.assertLess(peak - before, 16 * 1024)
        gate.set()
        status = self.watcher.wait(run.job, timeout=180)
        run.stdout.join(60)
        self.assertEqual(status.get("exit-code"), 0, status)
        self.assertEqual(run.stdout.count, 64 * MiB)
        self.assertEqual(run.stdout.sha.hexdigest(), guest_sha)

    def wait_qemu_ga(self, *argv):
        """Runs argv through qemu-ga once it answers: libvirt talks to it only after a guest-sync,
        so 'does not answer' is retried, with a deadline."""
        wait_until(lambda: "SPIRIT-QGA-START" in self.console_text(), timeout=60, what="qemu-ga", poll=0.2)
        result = []

        def attempt():
            r = self.exec(*argv, extra=["--backend", "qemu-ga"])
            result[:] = [r]
            return r.returncode == 0 or b"does not answer" not in r.stderr
        wait_until(attempt, timeout=60, what="qemu-ga to answer", poll=0.5)
        return result[0]

    def test_qemu_ga_backend(self):
        qga = ["--backend", "qemu-ga"]
        r = self.wait_qemu_ga("uname", "-r")
        self.assertEqual((r.returncode, r.stdout.decode().strip()), (0, self.kernel), r.stderr)
        self.assertEqual(self.exec("sh", "-c", "echo err >&2; exit 7", extra=qga).returncode, 7)
        r = self.exec("pwd", extra=qga + ["--cwd", "/tmp"])
        self.assertEqual(r.stdout, b"/tmp\n")
        r = self.exec("sha256sum", stdin=b"x" * 100000, extra=qga)
        self.assertEqual(r.stdout.split()[0].decode(), hashlib.sha256(b"x" * 100000).hexdigest())
        run = start_exec(self.bus, self.vm_path_(), ["sh", "-c", "kill -TERM $$"],
                         options={"backend": "qemu-ga"})
        status = self.watcher.wait(run.job)
        self.assertEqual((status["signal"], status["backend"]), ("TERM", "qemu-ga"))

    def test_zy_auto_falls_back_to_qemu_ga(self):
        wait_until(lambda: "SPIRIT-QGA-START" in self.console_text(), timeout=60, what="qemu-ga", poll=0.2)
        # Freeze spirit-agent (SIGSTOP from one of its own commands): it stops answering pings,
        # its session ends, and Exec falls back to qemu-ga by itself.
        run = start_exec(self.bus, self.vm_path_(), ["sh", "-c", "kill -STOP $PPID"])
        status = self.watcher.wait(run.job, timeout=60)
        self.assertEqual(status.get("error-name"), "org.crom.Spirit.Error.AgentUnavailable", status)
        drain_main_context()
        self.assertFalse(self.vm_prop(self.name, "AgentConnected"))
        try:
            result = []

            def try_uname():
                r = self.exec("uname", "-n")
                result[:] = [r]
                return r.returncode == 0 or b"does not answer" not in r.stderr
            wait_until(try_uname, timeout=60, what="qemu-ga to answer", poll=0.5)
            self.assertEqual((result[0].returncode, result[0].stdout), (0, b"spirit-guest\n"),
                             result[0].stderr)
            run = start_exec(self.bus, self.vm_path_(), ["true"])
            self.assertEqual(self.watcher.wait(run.job)["backend"], "qemu-ga")
        finally:
            r = self.exec("sh", "-c", "kill -CONT $(pidof spirit-agent)", extra=["--backend", "qemu-ga"])
            self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: self.vm_prop(self.name, "AgentConnected"), timeout=60,
                   what="spirit-agent back", poll=0.2)
        run = start_exec(self.bus, self.vm_path_(), ["true"])
        self.assertEqual(self.watcher.wait(run.job)["backend"], "spirit-agent")

    def test_zyz_qemu_ga_output_beyond_libvirts_limit(self):
        # Runs after every other use of qemu-ga: libvirt marks its agent connection broken after
        # a reply it could not take ("QEMU guest agent is not available due to an error").
        self.assertEqual(self.wait_qemu_ga("true").returncode, 0)
        # More than qemu-ga keeps (16 MiB): flagged, or refused by libvirt's reply size limit,
        # but never silently short.
        run = start_exec(self.bus, self.vm_path_(), ["head", "-c", "17000000", "/dev/zero"],
                         options={"backend": "qemu-ga"}, keep=False)
        status = self.watcher.wait(run.job, timeout=120)
        run.stdout.join(60)
        sys.stderr.write("17 MB through qemu-ga: %r, %d bytes written\n" % (status, run.stdout.count))
        if "error" in status:
            self.assertEqual(status["error-name"], "org.crom.Spirit.Error.Failed")
            self.assertIn("more than libvirt takes", status["error"])
        else:
            self.assertTrue(status.get("stdout-truncated"), status)

    def test_zz_agent_killed_in_the_guest(self):
        starts = len(re.findall("SPIRIT-AGENT-START", self.console_text()))
        result = self.exec("sh", "-c", "kill -KILL $PPID; sleep 100")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"went away", result.stderr)
        wait_until(lambda: len(re.findall("SPIRIT-AGENT-START", self.console_text())) > starts,
                   timeout=60, what="the agent to restart", poll=0.2)
        # AgentConnected went false before the job failed; wait for the new session.
        drain_main_context()
        wait_until(lambda: self.vm_prop(self.name, "AgentConnected"), timeout=60,
                   what="AgentConnected again", poll=0.2)
        result = self.exec("echo", "back")
        self.assertEqual((result.returncode, result.stdout), (0, b"back\n"), result.stderr)

    def test_zzz_restarted_vm_gets_a_new_link(self):
        # The second (and last) boot: a new QEMU, a new channel directory (the domain id is in
        # its path); the link must follow it, and the channel must not be added twice.
        old = re.search(r"path='([^']+/spirit\.0)'", virsh("dumpxml", self.name).stdout).group(1)
        self.call_vm(self.name, "ForceStop")
        drain_main_context()
        wait_until(lambda: not self.vm_prop(self.name, "AgentConnected"), timeout=30,
                   what="AgentConnected false after ForceStop")
        self.assertEqual(self.vm_prop(self.name, "GuestKernel"), "")
        offset = len(self.console_text())
        self.call_vm(self.name, "Start", timeout_ms=180000)
        wait_until(lambda: "SPIRIT-GUEST-READY" in self.console_text()[offset:], timeout=120,
                   what="the second boot", poll=0.2)
        wait_until(lambda: self.vm_prop(self.name, "AgentConnected"), timeout=120,
                   what="AgentConnected after the restart", poll=0.2)
        new = re.search(r"path='([^']+/spirit\.0)'", virsh("dumpxml", self.name).stdout).group(1)
        self.assertNotEqual(new, old)
        self.assertEqual(virsh("dumpxml", "--inactive", self.name).stdout.count("name='spirit.0'"), 1)
        result = self.exec("echo", "reborn")
        self.assertEqual((result.returncode, result.stdout), (0, b"reborn\n"), result.stderr)


if __name__ == "__main__":
    main()

