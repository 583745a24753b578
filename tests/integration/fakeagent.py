"""A fake spirit-agent on a unix socket, for spiritd's exec tests without a guest.

spiritd --session reads $SPIRIT_TEST_AGENT_SOCKET_DIR/VM.sock instead of the VM's libvirt
channel; this listens there, speaks the agent's side of docs/agent-protocol.md (written from the
spec, like agentclient.py), and can misbehave on purpose: garbage, oversized frames, unknown job
ids, output beyond the window. Its "commands" are emulated:

  ["echo", TEXT]       TEXT + "\\n" on stdout, exit 0
  ["exit", N]          exit N
  ["kill", SIG]        killed by signal SIG (a name)
  ["cat"]              stdin back to stdout within the output window, exit 0 at stdin's EOF
  ["flood", N]         N bytes of stdout, within the window the host gives
  ["sleep"]            runs until killed (a kill message), then reports that signal

Runs on a thread of its own with plain sockets; the tests' GLib main loop is not involved.
"""

import json
import os
import select
import socket
import struct
import threading

HEADER = struct.Struct(">2sBBII")
MAGIC = b"SP"
JSON, STDIN, STDOUT, STDERR = 0x01, 0x10, 0x11, 0x12
EOF = 0x01
SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "TERM": 15}
CHUNK = 64 * 1024


def json_frame(obj):
    payload = json.dumps(obj, separators=(",", ":")).encode()
    return HEADER.pack(MAGIC, JSON, 0, 0, len(payload)) + payload


def data_frame(kind, job_id, data=b"", eof=False):
    return HEADER.pack(MAGIC, kind, EOF if eof else 0, job_id, len(data)) + data


class FakeJob:
    def __init__(self, msg):
        self.id = msg["id"]
        self.argv = msg.get("argv") or ["sh", msg.get("shell", "")]
        self.window = msg.get("window", 0)
        self.credit = self.window if self.window else None
        self.left = 0  # flood bytes still to send
        self.pending = bytearray()  # cat: stdin waiting for output credit
        self.stdin_done = False


class FakeAgent(threading.Thread):
    """mode: what to do at the next exec ("normal", "garbage", "oversized", "unknown-ids",
    "overflow"); a hostile mode is used once, then the agent behaves again."""

    def __init__(self, path, mode="normal", os_name="linux", kernel="6.6.6-fake"):
        super().__init__(daemon=True)
        self.path = path
        self.mode = mode
        self.os_name = os_name
        self.kernel = kernel
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(4)
        self.conn = None
        self.buf = bytearray()
        self.jobs = {}
        self.stopping = False
        self.hellos = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.start()

    def stop(self):
        self.stopping = True
        self.join(timeout=10)
        self.listener.close()
        if self.conn is not None:
            self.conn.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def drop_connection(self):
        """Closes the current connection, as an agent (or VM) going away does."""
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    # --- loop ----------------------------------------------------------------------------

    def run(self):
        while not self.stopping:
            with self.lock:
                socks = [self.listener] + ([self.conn] if self.conn is not None else [])
            try:
                readable, _, _ = select.select(socks, [], [], 0.2)
            except (OSError, ValueError):
                continue
            for s in readable:
                if s is self.listener:
                    conn, _ = self.listener.accept()
                    with self.lock:
                        if self.conn is not None:
                            self.conn.close()
                        self.conn = conn
                        self.buf.clear()
                        self.jobs.clear()
                        self.connections += 1
                    continue
                try:
                    data = s.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    with self.lock:
                        if self.conn is s:
                            self.conn.close()
                            self.conn = None
                    continue
                self.buf += data
                try:
                    self.parse()
                except OSError:
                    self.drop_connection()

    def send(self, data):
        conn = self.conn
        if conn is not None:
            conn.sendall(data)

    def parse(self):
        while len(self.buf) >= HEADER.size:
            magic, kind, flags, job_id, length = HEADER.unpack_from(self.buf)
            if magic != MAGIC:
                raise OSError("bad frame from the host")
            if len(self.buf) < HEADER.size + length:
                return
            payload = bytes(self.buf[HEADER.size:HEADER.size + length])
            del self.buf[:HEADER.size + length]
            if kind == JSON:
                self.on_message(json.loads(payload))
            elif kind == STDIN:
                self.on_stdin(job_id, payload, bool(flags & EOF))

    # --- messages --------------------------------------------------------------------------

    def on_message(self, msg):
        kind = msg.get("type")
        if kind == "hello":
            self.hellos += 1
            self.jobs.clear()
            self.send(json_frame({
                "type": "hello", "protocol": 1, "session": msg["session"],
                "agent": "fake-agent 0.0.1", "os": self.os_name, "kernel": self.kernel,
                "hostname": "fake", "capabilities": ["exec", "stdin", "credit", "kill", "ping"],
                "limits": {"max_frame": 1048576, "max_jobs": 64, "max_argv_count": 4096,
                           "max_argv_bytes": 262144, "max_env_count": 1024,
                           "max_env_bytes": 262144, "max_string": 4096,
                           "stdin_window": 262144}}))
        elif kind == "ping":
            self.send(json_frame({"type": "pong", "id": msg["id"]}))
        elif kind == "exec":
            self.on_exec(FakeJob(msg))
        elif kind == "kill":
            job = self.jobs.pop(msg["id"], None)
            if job is not None:
                name = msg.get("signal", "KILL")
                self.finish(job, signal=name)
        elif kind == "credit":
            job = self.jobs.get(msg["id"])
            if job is not None and job.credit is not None:
                job.credit += msg["bytes"]
                self.pump(job)

    def on_exec(self, job):
        mode, self.mode = self.mode, "normal"
        if mode == "normal" and job.argv[0] not in ("echo", "exit", "kill", "flood", "cat", "sleep"):
            self.send(json_frame({"type": "error", "id": job.id, "code": "spawn-failed",
                                  "message": "%s: not found" % job.argv[0]}))
            return
        self.send(json_frame({"type": "started", "id": job.id, "pid": 4242}))
        if mode == "garbage":
            self.send(b"\xde\xad\xbe\xef" * 4096)
            return
        if mode == "oversized":
            self.send(HEADER.pack(MAGIC, STDOUT, 0, job.id, 0x7FFFFFFF) + b"x" * 1000)
            return
        if mode == "unknown-ids":
            for bogus in (job.id + 1000, 0xFFFFFFFF):
                self.send(data_frame(STDOUT, bogus, b"not yours"))
                self.send(json_frame({"type": "exit", "id": bogus, "code": 3}))
                self.send(json_frame({"type": "credit", "id": bogus, "bytes": 5}))
            self.send(json_frame({"type": "error", "code": "failed", "message": "noise"}))
        if mode == "overflow":
            # 8 MiB at once, whatever the window: the host must not buffer it.
            block = b"o" * CHUNK
            for _ in range(128):
                self.send(data_frame(STDOUT, job.id, block))
            return
        argv = job.argv
        self.jobs[job.id] = job
        if argv[0] == "echo":
            self.output(job, STDOUT, (" ".join(argv[1:]) + "\n").encode())
            self.finish(job, code=0)
        elif argv[0] == "exit":
            self.finish(job, code=int(argv[1]))
        elif argv[0] == "kill":
            self.finish(job, signal=argv[1])
        elif argv[0] == "flood":
            job.left = int(argv[1])
            self.pump(job)

    def on_stdin(self, job_id, payload, eof):
        job = self.jobs.get(job_id)
        if job is None:
            return
        if payload:
            self.send(json_frame({"type": "credit", "id": job_id, "bytes": len(payload)}))
            if job.argv[0] == "cat":
                job.pending += payload  # sent back within the output window, as a real agent
        if eof and job.argv[0] == "cat":
            job.stdin_done = True
        if job.argv[0] == "cat":
            self.pump(job)

    def output(self, job, kind, data):
        for i in range(0, len(data), CHUNK):
            self.send(data_frame(kind, job.id, data[i:i + CHUNK]))
        if job.credit is not None:
            job.credit -= len(data)

    def pump(self, job):
        while job.pending and (job.credit is None or job.credit > 0):
            n = min(len(job.pending), CHUNK, job.credit if job.credit is not None else CHUNK)
            self.send(data_frame(STDOUT, job.id, bytes(job.pending[:n])))
            del job.pending[:n]
            if job.credit is not None:
                job.credit -= n
        if job.argv[0] == "cat" and job.stdin_done and not job.pending and job.id in self.jobs:
            self.finish(job, code=0)
            return
        while job.left > 0 and (job.credit is None or job.credit > 0):
            n = min(job.left, CHUNK, job.credit if job.credit is not None else CHUNK)
            self.send(data_frame(STDOUT, job.id, b"f" * n))
            job.left -= n
            if job.credit is not None:
                job.credit -= n
        if job.left == 0 and job.argv[0] == "flood" and job.id in self.jobs:
            self.finish(job, code=0)

    def finish(self, job, code=None, signal=None):
        self.jobs.pop(job.id, None)
        self.send(data_frame(STDOUT, job.id, eof=True))
        self.send(data_frame(STDERR, job.id, eof=True))
        if signal is not None:
            self.send(json_frame({"type": "exit", "id": job.id, "signal": signal,
                                  "signal_number": SIGNALS.get(signal, 9)}))
        else:
            self.send(json_frame({"type": "exit", "id": job.id, "code": code}))


def main():
    """Serves PATH until SIGTERM, for tests in other languages (tests/hud/test-hud.c)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="a fake spirit-agent on a unix socket")
    parser.add_argument("path")
    parser.add_argument("--os", default="linux")
    parser.add_argument("--kernel", default="6.6.6-fake")
    parser.add_argument("--ready-fd", type=int, help="write a line here once the socket listens")
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    agent = FakeAgent(args.path, os_name=args.os, kernel=args.kernel)
    if args.ready_fd is not None:
        os.write(args.ready_fd, b"listening\n")
        os.close(args.ready_fd)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    agent.stop()


if __name__ == "__main__":
    main()
