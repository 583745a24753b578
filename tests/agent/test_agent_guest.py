#!/usr/bin/python3
"""spirit-agent in a real guest (libvirtd + QEMU TCG), through the real virtio-serial port.

One guest per test class, booted with the agent from the build directory (the suite's ASan
build: its libraries are copied into the guest, and the console is checked for sanitizer
reports at the end). The host side is tests/agent/agentclient.py on the channel's unix socket.
Needs root.
"""

import hashlib
import os
import random
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentguest  # noqa: E402
from agentclient import STDOUT, AgentClient, json_frame  # noqa: E402
from agentguest import AgentGuest, GuestFiles  # noqa: E402

AGENT = os.environ.get("SPIRIT_AGENT") or os.path.join(
    os.environ.get("SPIRIT_BUILD_DIR", "build"), "agent", "spirit-agent")
PREFIX = "spirit-agenttest-%d-" % os.getpid()
MiB = 1024 * 1024


class AgentGuestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for qemu:///system")
        agentguest.realguest.ensure_libvirtd()
        cls.files = GuestFiles([AGENT])
        cls.socket = os.path.join(cls.files.dir, "spirit.0.sock")
        cls.guest = None
        cls.client = None
        try:
            cls.guest = AgentGuest(cls.files, PREFIX + "g", cls.socket)
            cls.kernel = cls.guest.start()
            cls.client = AgentClient(socket_path=cls.socket)
            cls.hello = cls.client.hello(timeout=90)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.client is not None:
            cls.client.close()
        reports = cls.guest.sanitizer_reports() if cls.guest is not None else []
        if cls.guest is not None:
            cls.guest.undefine()
        cls.files.cleanup()
        if reports:
            raise AssertionError("sanitizer reports on the guest console:\n" + "\n".join(reports))

    def reconnect(self):
        type(self).client.close()
        type(self).client = AgentClient(socket_path=self.socket)
        type(self).hello = self.client.hello(timeout=90)

    def test_hello_and_uname(self):
        self.assertEqual(self.hello["os"], "linux")
        self.assertEqual(self.hello["kernel"], self.kernel)
        job = self.client.run(["uname", "-r"])
        self.assertEqual(job.exit, {"type": "exit", "id": job.id, "code": 0})
        self.assertEqual(bytes(job.stdout).decode().strip(), self.kernel)
        self.assertIn(self.kernel, os.listdir("/lib/modules"))

    def test_exit_codes_and_signals(self):
        self.assertEqual(self.client.run(["sh", "-c", "exit 7"]).exit["code"], 7)
        self.assertEqual(self.client.run(shell="exit 0").exit["code"], 0)
        job = self.client.run(shell="kill -TERM $$")
        self.assertEqual((job.exit["signal"], job.exit["signal_number"]), ("TERM", 15))
        job = self.client.exec(["sleep", "1000"])
        self.client.wait_for(lambda: job.pid, 30, "started")
        self.client.send(json_frame({"type": "kill", "id": job.id, "signal": "KILL"}))
        self.client.wait(job)
        self.assertEqual((job.exit["signal"], job.exit["signal_number"]), ("KILL", 9))
        job = self.client.run(["sleep", "1000"], timeout_ms=500)
        self.assertTrue(job.exit["timed_out"])
        self.assertEqual(job.exit["signal"], "KILL")

    def test_first_byte_before_exit(self):
        job = self.client.exec(shell="echo first; read x; echo second", stdin=True)
        self.client.wait_for(lambda: job.stdout == b"first\n", 30, "the first line")
        self.assertIsNone(job.exit)
        self.client.write_stdin(job, b"\n")
        self.client.wait(job)
        self.assertEqual(bytes(job.stdout), b"first\nsecond\n")

    def test_output_64mib_byte_exact(self):
        size = 64 * MiB
        gen = self.client.run(shell="head -c %d /dev/urandom >/tmp/big && sha256sum /tmp/big" % size,
                              timeout=300)
        self.assertEqual(gen.exit["code"], 0, bytes(gen.stderr))
        guest_sha = bytes(gen.stdout).split()[0].decode()
        start = time.monotonic()
        job = self.client.exec(["cat", "/tmp/big"], keep_output=False, window=4 * MiB)
        self.client.wait(job, 300)
        elapsed = time.monotonic() - start
        self.client.run(["rm", "/tmp/big"])
        self.assertEqual(job.exit["code"], 0)
        self.assertEqual(job.count[STDOUT], size)
        self.assertEqual(job.sha[STDOUT].hexdigest(), guest_sha)
        print("64 MiB out of the guest in %.2f s (%.1f MiB/s)" % (elapsed, 64 / elapsed),
              file=sys.stderr)

    def test_stdin_8mib_byte_exact(self):
        data = random.Random(3).randbytes(8 * MiB)
        job = self.client.exec(shell="tee /tmp/in | sha256sum; wc -c </tmp/in; rm /tmp/in",
                               stdin=True)
        self.client.write_stdin(job, data, timeout=300)
        self.client.wait(job, 300)
        out = bytes(job.stdout).split()
        self.assertEqual(out[0].decode(), hashlib.sha256(data).hexdigest())
        self.assertEqual(int(out[-1]), len(data))

    def test_twenty_concurrent_execs(self):
        # Every job waits until all 20 have started: run one after another, they would hang.
        self.client.run(shell="rm -rf /tmp/c && mkdir /tmp/c")
        script = ('touch /tmp/c/$0; while [ $(ls /tmp/c | wc -l) -lt 20 ]; do sleep 0.05; done; '
                  'i=0; while [ $i -lt 300 ]; do echo "job $0 line $i"; i=$((i+1)); done; '
                  'echo "job $0 err" >&2; exit $0')
        jobs = [self.client.exec(["sh", "-c", script, str(n)]) for n in range(20)]
        for job in jobs:
            self.client.wait(job, 180)
        for n, job in enumerate(jobs):
            want = "".join("job %d line %d\n" % (n, i) for i in range(300)).encode()
            self.assertEqual(bytes(job.stdout), want)
            self.assertEqual(bytes(job.stderr), b"job %d err\n" % n)
            self.assertEqual(job.exit["code"], n)

    def test_hostile_frames_do_not_crash_the_agent(self):
        starts = self.guest.agent_starts()
        rnd = random.Random(5)
        self.client.send(b"SP\x01\x00\x00\x00\x00\x00\xff\xff\xff\xff")  # 4 GiB JSON frame
        self.client.send(rnd.randbytes(256 * 1024))
        self.client.send(json_frame({"type": "hello", "protocol": 1, "session": "x" * 500}))
        self.client.send(b"SP\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00" + b"[" * 65536)
        for _ in range(200):
            payload = rnd.randbytes(rnd.randrange(0, 200))
            self.client.send(b"SP" + bytes([rnd.choice([1, 0x10, 0x11, 7]), rnd.randrange(2)]) +
                             rnd.randrange(3).to_bytes(4, "big") +
                             len(payload).to_bytes(4, "big") + payload)
        self.client.hello(timeout=60)
        self.assertEqual(self.client.run(["true"]).exit["code"], 0)
        self.assertEqual(self.guest.agent_starts(), starts, "the agent restarted: it crashed")

    def test_host_reconnects(self):
        starts = self.guest.agent_starts()
        job = self.client.exec(["sleep", "1000"])
        self.client.wait_for(lambda: job.pid, 30, "started")
        # Hang up in the middle of a session with a job running, then come back. The agent sees
        # the hang-up, or (when the new host is quicker than its read) the new hello first.
        self.reconnect()
        # The job of the old session must be gone from the guest (killed and reaped), whichever
        # way the agent learnt that the session ended.
        agentguest.realguest.wait_until(
            lambda: self.client.run(shell="test -e /proc/%d" % job.pid).exit["code"] == 1,
            timeout=60, what="the old session's job %d to be killed in the guest" % job.pid)
        for _ in range(3):
            self.reconnect()
            self.assertEqual(self.client.run(shell="exit 9").exit["code"], 9)
        self.assertEqual(self.guest.agent_starts(), starts, "the agent restarted")

    def test_zz_agent_killed_and_restarted(self):
        # Named to run last in the class: it replaces the agent process.
        starts = self.guest.agent_starts()
        offset = len(self.guest.console_text())
        job = self.client.exec(shell="kill -KILL $PPID; sleep 1000")
        self.guest.wait_console(r"SPIRIT-AGENT-EXIT \S+ status 137", 30, after=offset)
        self.guest.wait_console(r"SPIRIT-AGENT-START", 30, after=offset)
        self.assertEqual(self.guest.agent_starts(), starts + 1)
        self.assertIsNone(job.exit)
        # Same host connection: a fresh hello finds the new agent.
        self.client.hello(timeout=60)
        job = self.client.run(["uname", "-r"])
        self.assertEqual(bytes(job.stdout).decode().strip(), self.kernel)


if __name__ == "__main__":
    unittest.main(verbosity=2)
