#!/usr/bin/python3
"""spirit-agent on a pair of pipes (--stdio), on this machine: the protocol, the process
handling, back-pressure and hostile input, fast and under the suite's ASan/UBSan build.

Every test ends by closing the agent's stdin: it must then exit 0 with nothing from the
sanitizers on stderr (LeakSanitizer runs at that exit). The same behaviour through a real
virtio-serial port in a real guest is tests/agent/test_agent_guest.py.
"""

import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentclient import (STDIN, STDOUT, AgentClient, ProtocolError, data_frame,  # noqa: E402
                         json_frame, raw_json_frame)

AGENT = os.environ.get("SPIRIT_AGENT") or os.path.join(
    os.environ.get("SPIRIT_BUILD_DIR", "build"), "agent", "spirit-agent")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def proc_field(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_exists(pid):
    """True while the process exists and is not a zombie."""
    stat = proc_field(pid, "stat")
    return stat is not None and stat.rsplit(")", 1)[1].split()[0] != "Z"


class LocalAgentTest(unittest.TestCase):
    extra_args = []

    def setUp(self):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.agent = subprocess.Popen([AGENT, "--stdio", "-v"] + self.extra_args,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self.stderr)
        self.client = AgentClient(fds=(self.agent.stdout.fileno(), self.agent.stdin.fileno()))
        self.hello = self.client.hello(timeout=30)

    def tearDown(self):
        self.agent.stdin.close()
        try:
            code = self.agent.wait(timeout=30)
        finally:
            if self.agent.poll() is None:
                self.agent.kill()
                self.agent.wait()
            self.agent.stdout.close()
        self.stderr.seek(0)
        log = self.stderr.read()
        self.stderr.close()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log, log[-4000:])
        self.assertEqual(code, 0, "spirit-agent exited with %d:\n%s" % (code, log[-4000:]))

    def assert_exit_code(self, job, code):
        self.assertIsNone(job.error, job.error)
        self.assertEqual(job.exit.get("code"), code, job.exit)


class HandshakeTest(LocalAgentTest):
    def test_hello_reply(self):
        h = self.hello
        self.assertEqual(h["protocol"], 1)
        self.assertEqual(h["os"], "linux")
        self.assertEqual(h["kernel"], os.uname().release)
        self.assertTrue(h["agent"].startswith("spirit-agent "))
        for cap in ("exec", "shell", "stdin", "kill", "timeout", "ping", "credit"):
            self.assertIn(cap, h["capabilities"])
        self.assertEqual(h["limits"]["max_frame"], 1024 * 1024)
        self.assertGreaterEqual(h["limits"]["max_jobs"], 20)

    def test_ping(self):
        self.client.ping()

    def test_second_hello_starts_a_new_session_and_kills_old_jobs(self):
        job = self.client.exec(["sleep", "1000"])
        self.client.wait_for(lambda: job.pid, 10, "started")
        self.client.hello()
        self.client.wait_for(lambda: not proc_exists(job.pid), 10, "the old session's job to die")
        self.assertEqual(self.client.run(shell="exit 3").exit["code"], 3)


class ExecTest(LocalAgentTest):
    def test_argv_without_shell(self):
        job = self.client.run(["printf", "%s|", "a b", "$HOME", "*"])
        self.assert_exit_code(job, 0)
        self.assertEqual(bytes(job.stdout), b"a b|$HOME|*|")
        self.assertIsInstance(job.pid, int)

    def test_exit_codes(self):
        for code in (0, 1, 7, 255):
            self.assert_exit_code(self.client.run(shell="exit %d" % code), code)

    def test_signal_reported(self):
        job = self.client.run(shell="kill -TERM $$")
        self.assertEqual(job.exit["signal"], "TERM")
        self.assertEqual(job.exit["signal_number"], 15)
        self.assertNotIn("code", job.exit)

    def test_stderr_separate(self):
        job = self.client.run(shell="echo out; echo err >&2")
        self.assertEqual(bytes(job.stdout), b"out\n")
        self.assertEqual(bytes(job.stderr), b"err\n")

    def test_cwd_and_env(self):
        job = self.client.run(shell='pwd; echo "$FOO"; echo "${HOME:-unset}"', cwd="/tmp",
                              env={"FOO": "b a r"}, clear_env=True)
        self.assertEqual(bytes(job.stdout), b"/tmp\nb a r\nunset\n")
        job = self.client.run(shell='echo "$PATH"', env={"FOO": "x"})
        self.assertNotEqual(bytes(job.stdout).strip(), b"")

    def test_spawn_failure_is_an_error_with_the_id(self):
        job = self.client.run(["/nonexistent/program"])
        self.assertEqual(job.error["code"], "spawn-failed")
        self.assertEqual(job.error["id"], job.id)
        job = self.client.run(["true"], cwd="/nonexistent")
        self.assertEqual(job.error["code"], "spawn-failed")

    def test_output_streams_before_exit(self):
        # The command prints, then waits for a line on stdin: the first line must arrive while
        # it still runs, which qemu-guest-agent's guest-exec cannot do.
        job = self.client.exec(shell="echo first; read line; echo second $line", stdin=True)
        self.client.wait_for(lambda: b"first\n" in job.stdout, 10, "first line")
        self.assertIsNone(job.exit)
        self.assertTrue(proc_exists(job.pid))
        self.client.write_stdin(job, b"go\n")
        self.client.wait(job)
        self.assertEqual(bytes(job.stdout), b"first\nsecond go\n")

    def test_stdin_round_trip_binary(self):
        data = random.Random(7).randbytes(3 * 1024 * 1024 + 17)
        job = self.client.exec(["sha256sum"], stdin=True)
        self.client.write_stdin(job, data)
        self.client.wait(job)
        self.assertEqual(bytes(job.stdout).split()[0].decode(), hashlib.sha256(data).hexdigest())

    def test_stdin_closed_by_child_does_not_stall(self):
        job = self.client.exec(["head", "-c", "10"], stdin=True)
        self.client.write_stdin(job, b"x" * (2 * 1024 * 1024))
        self.client.wait(job)
        self.assertEqual(bytes(job.stdout), b"x" * 10)

    def test_kill(self):
        job = self.client.exec(["sleep", "1000"])
        self.client.wait_for(lambda: job.pid, 10, "started")
        self.client.send(json_frame({"type": "kill", "id": job.id, "signal": "INT"}))
        self.client.wait(job)
        self.assertEqual(job.exit["signal"], "INT")

    def test_kill_reaches_the_whole_process_group(self):
        job = self.client.exec(shell="sleep 1000 & echo $!; wait")
        self.client.wait_for(lambda: job.stdout.endswith(b"\n"), 10, "the background pid")
        grandchild = int(job.stdout)
        self.client.send(json_frame({"type": "kill", "id": job.id}))
        self.client.wait(job)
        self.assertEqual(job.exit["signal"], "KILL")
        self.client.wait_for(lambda: not proc_exists(grandchild), 10, "the grandchild to die")

    def test_timeout(self):
        start = time.monotonic()
        job = self.client.run(["sleep", "1000"], timeout_ms=300)
        self.assertEqual(job.exit["signal"], "KILL")
        self.assertTrue(job.exit["timed_out"])
        self.assertLess(time.monotonic() - start, 10)

    def test_exit_waits_for_output_of_descendants(self):
        job = self.client.run(shell="(echo late) & exit 4")
        self.assertEqual(bytes(job.stdout), b"late\n")
        self.assert_exit_code(job, 4)

    def test_twenty_concurrent_jobs_each_get_their_own_output(self):
        # Each job waits until all 20 have started, so they provably run at the same time.
        with tempfile.TemporaryDirectory() as d:
            script = ('touch %s/$0; while [ $(ls %s | wc -l) -lt 20 ]; do :; done; '
                      'i=0; while [ $i -lt 2000 ]; do echo "job $0 line $i"; i=$((i+1)); done; '
                      'echo "job $0 err" >&2; exit $(( $0 %% 50 ))') % (d, d)
            jobs = [self.client.exec(["sh", "-c", script, str(n)]) for n in range(20)]
            for job in jobs:
                self.client.wait(job, 120)
        for n, job in enumerate(jobs):
            want = "".join("job %d line %d\n" % (n, i) for i in range(2000)).encode()
            self.assertEqual(bytes(job.stdout), want)
            self.assertEqual(bytes(job.stderr), b"job %d err\n" % n)
            self.assert_exit_code(job, n % 50)


class BackPressureTest(LocalAgentTest):
    def wait_blocked_in_write(self, pid):
        self.client.wait_for(lambda: (proc_field(pid, "wchan") or "").endswith("pipe_write"), 30,
                             "pid %d to block writing its pipe" % pid)

    def test_window_stops_the_child(self):
        total = 8 * 1024 * 1024
        window = 100000
        job = self.client.exec(["head", "-c", str(total), "/dev/zero"], window=window)
        job.auto_credit = False
        self.client.wait_for(lambda: job.count[STDOUT] >= window, 30, "a window of output")
        self.wait_blocked_in_write(job.pid)
        self.client.ping()  # the agent has run since: it would have sent more by now
        self.assertEqual(job.count[STDOUT], window)
        job.auto_credit = True
        job.grant()
        self.client.wait(job, 60)
        self.assertEqual(job.count[STDOUT], total)
        self.assert_exit_code(job, 0)

    def test_host_not_reading_bounds_the_agent(self):
        # Nobody reads the agent's stdout: its queue fills, it stops reading the child's pipe,
        # and the child blocks after writing a bounded amount (queue + pipe buffers).
        total = 64 * 1024 * 1024
        job = self.client.exec(["head", "-c", str(total), "/dev/zero"], keep_output=False)
        os.set_blocking(self.client.rfd, True)
        deadline = time.monotonic() + 30
        pid = None
        while pid is None:
            # Find the child without reading the channel: it is the agent's only child.
            kids = proc_field(self.agent.pid, "task/%d/children" % self.agent.pid)
            pid = int(kids.split()[0]) if kids and kids.split() else None
            self.assertLess(time.monotonic(), deadline, "no child appeared")
            if pid is None:
                time.sleep(0.05)
        self.wait_blocked_in_write(pid)
        written = int([line for line in proc_field(pid, "io").splitlines()
                       if line.startswith("wchar")][0].split()[1])
        self.assertLess(written, 4 * 1024 * 1024, "the agent kept reading the child's output")
        os.set_blocking(self.client.rfd, False)
        self.client.wait(job, 120)
        self.assertEqual(job.count[STDOUT], total)

    def test_stdin_beyond_the_window_is_refused(self):
        job = self.client.exec(["sleep", "1000"], stdin=True)
        window = self.hello["limits"]["stdin_window"]
        self.client.send(data_frame(STDIN, job.id, b"x" * window))
        self.client.send(data_frame(STDIN, job.id, b"y"))
        self.client.wait(job)
        self.assertEqual(job.error["code"], "credit-exceeded")
        self.client.wait_for(lambda: not proc_exists(job.pid), 10, "the job to be killed")


class LimitsTest(LocalAgentTest):
    extra_args = ["--max-jobs", "2"]

    def test_too_many_jobs(self):
        a = self.client.exec(["sleep", "1000"])
        b = self.client.exec(["sleep", "1000"])
        c = self.client.run(["true"])
        self.assertEqual(c.error["code"], "too-many-jobs")
        self.assertIsNotNone(a.pid or self.client.wait_for(lambda: a.pid, 5, "a"))
        self.client.wait_for(lambda: b.pid, 5, "b")

    def test_duplicate_id(self):
        a = self.client.exec(["sleep", "1000"])
        self.client.send(json_frame({"type": "exec", "id": a.id, "argv": ["true"]}))
        err = self.client.wait_event(lambda e: e.get("type") == "error", 10, "an error")
        self.assertEqual(err["code"], "duplicate-id")


class HostileInputTest(LocalAgentTest):
    def expect_error(self, code, job_id=None):
        err = self.client.wait_event(lambda e: e.get("type") == "error", 10, "error " + code)
        self.client.events.clear()
        self.assertEqual(err["code"], code, err)
        if job_id is not None:
            self.assertEqual(err.get("id"), job_id)
        return err

    def test_bad_messages_get_errors_with_their_id(self):
        cases = [
            (b'{"type":"exec","id":5,"argv":"ls"}', "invalid", 5),
            (b'{"type":"frobnicate","id":6}', "unknown-type", 6),
            (b'{"type":"exec","id":7,"argv":["a\\u0000b"]}', "malformed", None),
            (b'{"type":"exec","id":8,"shell":"\xff"}', "malformed", None),
            (b"[" * 100000 + b"]" * 100000, "malformed", None),
            (b'{"type":"kill","id":99}', "unknown-id", 99),
            (b'{"type":"exec","id":9,"argv":["x"],"env":{"A=B":"c"}}', "invalid", 9),
            (b'{"type":"hello","protocol":2,"session":"x"}', "unsupported-version", None),
        ]
        for payload, code, job_id in cases:
            with self.subTest(payload=payload[:40]):
                self.client.send(raw_json_frame(payload))
                self.expect_error(code, job_id)
        self.client.ping()  # the session survived all of it

    def test_bad_frame_ends_the_session(self):
        job = self.client.exec(["sleep", "1000"])
        self.client.wait_for(lambda: job.pid, 10, "started")
        self.client.send(b"SP\x77\x00\x00\x00\x00\x00\x00\x00\x00\x01x")
        self.expect_error("bad-frame")
        self.client.wait_for(lambda: not proc_exists(job.pid), 10, "the session's job to die")
        self.client.send(json_frame({"type": "ping", "id": 1}))  # ignored: no session
        self.client.hello()
        self.client.ping()

    def test_oversized_frame(self):
        self.client.send(b"SP\x01\x00\x00\x00\x00\x00\xff\xff\xff\xff")
        self.expect_error("frame-too-large")
        self.client.send(b"\x00" * 100000)  # the would-be payload is skipped while hunting
        self.client.hello()
        self.client.ping()

    def test_random_garbage_then_hello(self):
        rnd = random.Random(1234)
        for _ in range(50):
            self.client.send(rnd.randbytes(rnd.randrange(1, 5000)))
        self.client.hello()
        self.assert_exit_code(self.client.run(["true"]), 0)

    def test_random_frames(self):
        # Well-framed headers with random types, flags, ids and payloads.
        rnd = random.Random(99)
        for _ in range(500):
            kind = rnd.choice([0x01, 0x10, 0x11, 0x00, 0xff])
            payload = rnd.randbytes(rnd.randrange(0, 300))
            if kind == 0x01 and rnd.random() < 0.5:
                payload = b'{"type":"' + rnd.choice([b"exec", b"kill", b"credit", b"ping"]) + \
                    b'","id":' + str(rnd.randrange(0, 4)).encode() + b"," + payload[:20] + b"}"
            self.client.send(b"SP" + bytes([kind, rnd.randrange(0, 3)]) +
                             rnd.randrange(0, 5).to_bytes(4, "big") +
                             len(payload).to_bytes(4, "big") + payload)
            try:
                self.client.pump(0)
            except ProtocolError:
                raise
        self.client.hello()
        self.assert_exit_code(self.client.run(shell="exit 5"), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
