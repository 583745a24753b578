#!/usr/bin/python3
"""org.crom.Spirit.Proxy (Exec, Cancel, JobExited) and the agent link, against a fake agent.

spiritd runs on libvirt's test driver with --session and $SPIRIT_TEST_AGENT_SOCKET_DIR, so each
running VM's agent link connects to DIR/VM.sock, where tests/integration/fakeagent.py listens.
The fake agent is well-behaved, or hostile on purpose: spiritd must stay up, bounded, and give
the caller a clear error. The real agent in a real guest is tests/integration/test_exec_guest.py.
"""

import os
import shutil
import subprocess
import tempfile

from exectest import ERR, MiB, JobWatcher, cancel, rss_kib, start_exec
from fakeagent import FakeAgent
from spirittest import (BUS_NAME, ROOT, SPIRITCTL, Gio, GLib, SpiritTestCase, main, remote_error_name,
                        wait_until)


class ExecFakeAgentTest(SpiritTestCase):
    def setUp(self):
        self.sockets = tempfile.mkdtemp(prefix="spirit-agents-")
        self.agents = {"alpha": FakeAgent(os.path.join(self.sockets, "alpha.sock"))}
        super().setUp()
        self.watcher = JobWatcher(self.bus)
        self.wait_agent("alpha")

    def tearDown(self):
        self.watcher.close()
        super().tearDown()
        for agent in self.agents.values():
            agent.stop()
        shutil.rmtree(self.sockets, ignore_errors=True)

    def start_daemon(self, extra_args=None, env=None, wait_connected=True):
        env = dict(env or {})
        env["SPIRIT_TEST_AGENT_SOCKET_DIR"] = self.sockets
        super().start_daemon(extra_args, env, wait_connected)

    def wait_agent(self, name, connected=True, timeout=30):
        wait_until(lambda: self.vm_prop(name, "AgentConnected") == connected, timeout=timeout,
                   what="%s AgentConnected == %s" % (name, connected))

    def run_exec(self, vm, argv, **kwargs):
        run = start_exec(self.bus, self.vm_path(vm), argv, **kwargs)
        status = self.watcher.wait(run.job)
        run.stdout.join(30)
        run.stderr.join(30)
        return run, status

    def assert_alive(self):
        self.assertIsNone(self.daemon.process.poll(), "spiritd died:\n" + self.daemon.output())
        reply = self.bus.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.Properties", "Get",
                                   GLib.Variant("(ss)", ("org.crom.Spirit.Manager", "Version")),
                                   None, Gio.DBusCallFlags.NONE, 10000, None)
        self.assertTrue(reply.unpack()[0])

    # --- a well-behaved agent ------------------------------------------------------------

    def test_agent_properties_follow_the_agent(self):
        self.assertEqual(self.vm_prop("alpha", "AgentVersion"), "fake-agent 0.0.1")
        self.assertEqual(self.vm_prop("alpha", "GuestOS"), "linux")
        self.assertEqual(self.vm_prop("alpha", "GuestKernel"), "6.6.6-fake")
        out = self.spiritctl("vm", "info", "alpha", check=0).stdout.decode()
        self.assertRegex(out, r"Agent:\s+fake-agent 0\.0\.1 \(linux 6\.6\.6-fake\)\n")
        self.assertFalse(self.vm_prop("gamma", "AgentConnected"))
        self.assertEqual(self.vm_prop("gamma", "GuestOS"), "")
        connections = self.agents["alpha"].connections
        self.agents["alpha"].drop_connection()
        self.wait_agent("alpha", False)
        self.assertEqual(self.vm_prop("alpha", "AgentVersion"), "")
        # spiritd reconnects by itself and says hello again
        self.wait_agent("alpha", True)
        self.assertGreater(self.agents["alpha"].connections, connections)

    def test_exec_output_exit_codes_and_signals(self):
        run, status = self.run_exec("alpha", ["echo", "hello", "guest"])
        self.assertEqual(bytes(run.stdout.data), b"hello guest\n")
        self.assertEqual(status.get("exit-code"), 0, status)
        self.assertEqual(status["backend"], "spirit-agent")
        self.assertTrue(run.job.startswith("/org/crom/Spirit/job/"))
        _, status = self.run_exec("alpha", ["exit", "7"])
        self.assertEqual(status.get("exit-code"), 7, status)
        _, status = self.run_exec("alpha", ["kill", "TERM"])
        self.assertEqual((status["signal"], status["signal-number"]), ("TERM", 15))
        self.assertNotIn("exit-code", status)

    def test_stdin_and_windowed_output_are_byte_exact(self):
        data = os.urandom(3 * MiB + 17)
        run, status = self.run_exec("alpha", ["cat"], stdin=data)
        self.assertEqual(status.get("exit-code"), 0, status)
        self.assertEqual(bytes(run.stdout.data), data)
        run, status = self.run_exec("alpha", ["flood", str(20 * MiB)], keep=False)
        self.assertEqual(run.stdout.count, 20 * MiB)

    def test_spiritctl_exec(self):
        result = self.spiritctl("exec", "alpha", "--", "echo", "via", "spiritctl", check=0)
        self.assertEqual(result.stdout, b"via spiritctl\n")
        self.assertEqual(self.spiritctl("exec", "alpha", "--", "exit", "7").returncode, 7)
        self.assertEqual(self.spiritctl("exec", "alpha", "--", "kill", "KILL").returncode, 128 + 9)
        result = self.spiritctl("exec", "alpha", "--", "no-such-command", check=1)
        self.assertIn(b"not found", result.stderr)
        result = self.spiritctl("exec", "gamma", "--", "echo", check=1)
        self.assertIn(b"gamma", result.stderr)
        self.spiritctl("exec", "alpha", check=2)
        self.spiritctl("exec", "--bogus", "alpha", "--", "echo", check=2)

    def test_spiritctl_exec_ends_when_spiritd_goes(self):
        # JobExited can never come: spiritctl says so and exits 1 instead of waiting forever
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address, LC_ALL="C.UTF-8")
        proc = subprocess.Popen([SPIRITCTL, "exec", "alpha", "--", "sleep"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: self.agents["alpha"].jobs, timeout=30, what="the job in the agent",
                       poll=0.05)
            self.assertEqual(self.stop_daemon(), 0)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(b"went away while the command ran", err)

    def test_cancel_only_by_the_caller(self):
        run = start_exec(self.bus, self.vm_path("alpha"), ["sleep"])
        other = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        self.assert_dbus_error(ERR + "NoSuchJob", cancel, other, run.job, "KILL")
        other.close_sync(None)
        self.assert_dbus_error(ERR + "InvalidArgument", cancel, self.bus, run.job, "NOPE")
        self.assert_dbus_error(ERR + "NoSuchJob", cancel, self.bus, "/org/crom/Spirit/job/999999", "KILL")
        cancel(self.bus, run.job, "TERM")
        status = self.watcher.wait(run.job)
        self.assertEqual(status["signal"], "TERM")
        self.assert_dbus_error(ERR + "NoSuchJob", cancel, self.bus, run.job, "KILL")

    def test_a_caller_that_leaves_the_bus_has_its_jobs_killed(self):
        other = Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        start_exec(other, self.vm_path("alpha"), ["sleep"])
        agent = self.agents["alpha"]
        wait_until(lambda: len(agent.jobs) == 1, timeout=30, what="the job in the agent", poll=0.05)
        other.close_sync(None)
        wait_until(lambda: not agent.jobs, timeout=30, what="the job to be killed", poll=0.05)
        self.assert_alive()

    def test_bad_requests(self):
        path = self.vm_path("alpha")
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, ["echo"],
                               options={"colour": "blue"}, contains="colour")
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, ["echo"],
                               options={"shell": "echo"})
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, [])
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, ["echo"],
                               options={"env": ["NOEQUALS"]})
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, ["echo"],
                               options={"timeout-ms": "soon"})
        self.assert_dbus_error(ERR + "InvalidState", start_exec, self.bus, self.vm_path("gamma"),
                               ["echo"], contains="gamma")
        self.assert_dbus_error(ERR + "NoSuchVM", start_exec, self.bus, "/org/crom/Spirit/vm/x/y",
                               ["echo"])
        self.assert_dbus_error(ERR + "Failed", start_exec, self.bus, path, ["no-such-command"],
                               contains="not found")
        self.assert_dbus_error(ERR + "InvalidArgument", start_exec, self.bus, path, ["echo"],
                               options={"backend": "telepathy"})
        # the test driver's VMs have no qemu-guest-agent channel
        self.assert_dbus_error(ERR + "AgentUnavailable", start_exec, self.bus, path, ["echo"],
                               options={"backend": "qemu-ga"}, contains="org.qemu.guest_agent.0")

    # --- a hostile agent -----------------------------------------------------------------

    def second_vm(self):
        """beta, started, with a well-behaved agent of its own."""
        self.agents["beta"] = FakeAgent(os.path.join(self.sockets, "beta.sock"))
        state = self.vm_prop("beta", "State")
        if state not in ("running",):
            if state == "paused":
                self.call_vm("beta", "Resume")
            else:
                self.call_vm("beta", "Start")
        self.wait_agent("beta")

    def assert_recovers(self, mode):
        agent = self.agents["alpha"]
        hellos = agent.hellos
        agent.mode = mode
        try:
            run, status = self.run_exec("alpha", ["echo", "x"])
            self.assertEqual(status.get("error-name"), ERR + "AgentUnavailable", status)
            self.assertIn("went away", status["error"])
        except GLib.Error as e:
            self.assertEqual(remote_error_name(e), ERR + "AgentUnavailable", e.message)
        self.assert_alive()
        wait_until(lambda: agent.hellos > hellos, timeout=30, what="a new hello", poll=0.1)
        self.wait_agent("alpha")
        run, status = self.run_exec("alpha", ["echo", "again"])
        self.assertEqual(bytes(run.stdout.data), b"again\n")

    def test_garbage_resets_the_link(self):
        self.assert_recovers("garbage")

    def test_oversized_frame_resets_the_link(self):
        self.assert_recovers("oversized")

    def test_unknown_job_ids_are_ignored(self):
        self.agents["alpha"].mode = "unknown-ids"
        run, status = self.run_exec("alpha", ["echo", "mine"])
        self.assertEqual(bytes(run.stdout.data), b"mine\n")
        self.assertEqual(status.get("exit-code"), 0, status)
        self.assert_alive()

    def test_output_beyond_the_window_kills_the_job_not_spiritd(self):
        self.second_vm()
        pid = self.daemon.process.pid
        before = rss_kib(pid)
        self.agents["alpha"].mode = "overflow"
        gate = __import__("threading").Event()
        run = start_exec(self.bus, self.vm_path("alpha"), ["ignored"], stdout_gate=gate)
        status = self.watcher.wait(run.job)
        gate.set()
        self.assertEqual(status.get("error-name"), ERR + "Failed", status)
        self.assertIn("window", status["error"])
        self.assert_alive()
        self.assertLess(rss_kib(pid) - before, 32 * 1024, "spiritd grew by more than 32 MiB")
        run, status = self.run_exec("beta", ["echo", "beta", "works"])
        self.assertEqual(bytes(run.stdout.data), b"beta works\n")

    def test_a_slow_reader_keeps_spiritd_bounded(self):
        pid = self.daemon.process.pid
        gate = __import__("threading").Event()
        run = start_exec(self.bus, self.vm_path("alpha"), ["flood", str(64 * MiB)], keep=False,
                         stdout_gate=gate)
        agent = self.agents["alpha"]
        job = None
        wait_until(lambda: agent.jobs, timeout=30, what="the job in the agent", poll=0.05)
        job = next(iter(agent.jobs.values()))
        # The agent stops when the window is used up: 1 MiB queued in spiritd, and what the
        # pipe took before the reader stopped (64 KiB on Linux).
        wait_until(lambda: job.credit == 0, timeout=30, what="the window to fill", poll=0.05)
        sent = 64 * MiB - job.left
        self.assertGreaterEqual(sent, 1 * MiB)
        self.assertLessEqual(sent, 2 * MiB)
        peak = rss_kib(pid)
        gate.set()
        status = self.watcher.wait(run.job, timeout=120)
        run.stdout.join(60)
        self.assertEqual(status.get("exit-code"), 0, status)
        self.assertEqual(run.stdout.count, 64 * MiB)
        self.assertLess(peak, 200 * 1024)


if __name__ == "__main__":
    main()
