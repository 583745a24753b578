"""A host-side client of the spirit.0 protocol, written from docs/agent-protocol.md.

It is deliberately independent of the C codec: the tests drive the real spirit-agent with it,
so a misreading of the spec shared by the agent and libspirit_protocol would show up here.
Blocking, with deadlines: every wait is select() on the channel with a timeout, never a sleep.
"""

import hashlib
import json
import os
import select
import socket
import struct
import time

HEADER = struct.Struct(">2sBBII")
MAGIC = b"SP"
JSON, STDIN, STDOUT, STDERR = 0x01, 0x10, 0x11, 0x12
EOF = 0x01
HELLO_PREFIX = b'{"type":"hello"'
MAX_FRAME = 1024 * 1024


class ProtocolError(Exception):
    pass


def json_frame(obj):
    payload = json.dumps(obj, separators=(",", ":")).encode()
    return HEADER.pack(MAGIC, JSON, 0, 0, len(payload)) + payload


def raw_json_frame(payload):
    return HEADER.pack(MAGIC, JSON, 0, 0, len(payload)) + payload


def data_frame(kind, job_id, data=b"", eof=False):
    return HEADER.pack(MAGIC, kind, EOF if eof else 0, job_id, len(data)) + data


class Decoder:
    """Agent → host frames. hunt(session) skips everything up to our hello's reply."""

    def __init__(self):
        self.buf = bytearray()
        self.session = None

    def hunt(self, session):
        self.session = session
        self.buf.clear()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            if self.session is not None:
                if not self._hunt():
                    return out
            if len(self.buf) < HEADER.size:
                return out
            magic, kind, flags, job_id, length = HEADER.unpack_from(self.buf)
            if magic != MAGIC or kind not in (JSON, STDOUT, STDERR) or length > MAX_FRAME:
                raise ProtocolError("bad frame header %r" % bytes(self.buf[:HEADER.size]))
            if len(self.buf) < HEADER.size + length:
                return out
            payload = bytes(self.buf[HEADER.size:HEADER.size + length])
            del self.buf[:HEADER.size + length]
            if kind == JSON:
                out.append(("json", json.loads(payload)))
            else:
                out.append(("data", (kind, job_id, bool(flags & EOF), payload)))

    def _hunt(self):
        while True:
            i = self.buf.find(MAGIC)
            if i < 0:
                del self.buf[:max(0, len(self.buf) - 1)]
                return False
            del self.buf[:i]
            if len(self.buf) < HEADER.size + len(HELLO_PREFIX):
                return False
            _, kind, flags, job_id, length = HEADER.unpack_from(self.buf)
            head_ok = kind == JSON and flags == 0 and job_id == 0 and length <= 4096
            if head_ok and self.buf[HEADER.size:HEADER.size + len(HELLO_PREFIX)] == HELLO_PREFIX:
                if len(self.buf) < HEADER.size + length:
                    return False
                try:
                    msg = json.loads(bytes(self.buf[HEADER.size:HEADER.size + length]))
                except ValueError:
                    msg = None
                if isinstance(msg, dict) and msg.get("session") == self.session:
                    self.session = None  # in sync: leave the frame for feed()
                    return True
            del self.buf[:1]


class Job:
    def __init__(self, client, job_id, window, keep_output):
        self.client = client
        self.id = job_id
        self.window = window
        self.keep = keep_output
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.sha = {STDOUT: hashlib.sha256(), STDERR: hashlib.sha256()}
        self.count = {STDOUT: 0, STDERR: 0}
        self.eof = {STDOUT: False, STDERR: False}
        self.pid = None
        self.exit = None
        self.error = None
        self.first_byte_at = None
        self.stdin_credit = client.limits["stdin_window"] if client.limits else 0
        self.auto_credit = True
        self.ungranted = 0

    @property
    def done(self):
        return self.exit is not None or self.error is not None

    def on_data(self, kind, eof, payload):
        if payload and self.first_byte_at is None:
            self.first_byte_at = time.monotonic()
        self.count[kind] += len(payload)
        self.sha[kind].update(payload)
        if self.keep:
            (self.stdout if kind == STDOUT else self.stderr).extend(payload)
        if eof:
            self.eof[kind] = True
        if self.window and payload:
            self.ungranted += len(payload)
            if self.auto_credit and self.ungranted >= self.window // 4:
                self.grant()

    def grant(self):
        if self.ungranted:
            self.client.send(json_frame({"type": "credit", "id": self.id, "bytes": self.ungranted}))
            self.ungranted = 0


class AgentClient:
    """One connection: a unix socket path (a real guest) or a (read_fd, write_fd) pair (--stdio)."""

    def __init__(self, socket_path=None, fds=None, connect_timeout=30):
        self.sock = None
        if socket_path:
            deadline = time.monotonic() + connect_timeout
            while True:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(socket_path)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    s.close()
                    if time.monotonic() > deadline:
                        raise
                    select.select([], [], [], 0.1)  # the socket file appears when QEMU starts
            self.sock = s
            self.rfd = self.wfd = s.fileno()
        else:
            self.rfd, self.wfd = fds
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.decoder = Decoder()
        self.jobs = {}
        self.events = []  # JSON messages that belong to no job (pong, session errors, hello)
        self.next_id = 1
        self.limits = None
        self.hello_reply = None
        self.outbuf = bytearray()
        self.closed = False

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # ---- I/O ---------------------------------------------------------------------------------

    def send(self, data):
        self.outbuf += data
        self._flush(block=False)

    def _flush(self, block):
        while self.outbuf:
            try:
                n = os.write(self.wfd, self.outbuf[:1 << 20])
                del self.outbuf[:n]
            except BlockingIOError:
                if not block:
                    return
                self.pump(5, want_write=True)

    def pump(self, timeout, want_write=False):
        """Waits up to timeout for input (and output room), then handles what came."""
        wlist = [self.wfd] if (self.outbuf or want_write) else []
        r, w, _ = select.select([self.rfd], wlist, [], timeout)
        if w and self.outbuf:
            try:
                n = os.write(self.wfd, self.outbuf[:1 << 20])
                del self.outbuf[:n]
            except BlockingIOError:
                pass
        if r:
            try:
                data = os.read(self.rfd, 1 << 20)
            except BlockingIOError:
                return
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                raise ProtocolError("the agent closed the channel")
            for kind, item in self.decoder.feed(data):
                self._dispatch(kind, item)

    def _dispatch(self, kind, item):
        if kind == "data":
            stream, job_id, eof, payload = item
            job = self.jobs.get(job_id)
            if job is None:
                raise ProtocolError("data for unknown job %d" % job_id)
            job.on_data(stream, eof, payload)
            return
        msg = item
        job = self.jobs.get(msg.get("id")) if msg.get("type") in (
            "started", "exit", "credit", "error") else None
        if job is None:
            self.events.append(msg)
        elif msg["type"] == "started":
            job.pid = msg["pid"]
        elif msg["type"] == "exit":
            if not (job.eof[STDOUT] and job.eof[STDERR]):
                raise ProtocolError("exit of job %d before the end of its output" % job.id)
            job.exit = msg
        elif msg["type"] == "credit":
            job.stdin_credit += msg["bytes"]
        elif msg["type"] == "error":
            job.error = msg
            job.client.events.append(msg)

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out after %.1f s waiting for %s" % (timeout, what))
            self.pump(min(left, 1.0))

    # ---- requests ----------------------------------------------------------------------------

    def hello(self, timeout=60, retry=2.0):
        """Says hello (again every `retry` s: a restarted agent misses earlier ones) until the
        agent answers our session."""
        deadline = time.monotonic() + timeout
        while True:
            session = os.urandom(8).hex()
            self.decoder.hunt(session)
            self.events.clear()
            self.send(json_frame({"type": "hello", "protocol": 1, "session": session,
                                  "client": "spirit tests"}))
            try:
                self.wait_for(lambda: any(e.get("type") == "hello" for e in self.events),
                              min(retry, max(0.1, deadline - time.monotonic())), "hello")
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
        reply = [e for e in self.events if e.get("type") == "hello"][0]
        self.events.clear()
        self.jobs.clear()
        self.limits = reply["limits"]
        self.hello_reply = reply
        return reply

    def exec(self, argv=None, shell=None, window=None, keep_output=True, **fields):
        job_id = self.next_id
        self.next_id += 1
        msg = {"type": "exec", "id": job_id}
        if argv is not None:
            msg["argv"] = argv
        if shell is not None:
            msg["shell"] = shell
        if window:
            msg["window"] = window
        msg.update(fields)
        job = Job(self, job_id, window, keep_output)
        self.jobs[job_id] = job
        self.send(json_frame(msg))
        return job

    def write_stdin(self, job, data, eof=True, timeout=120):
        """Sends data as STDIN frames, never past the window the agent granted."""
        view = memoryview(data)
        chunk = 64 * 1024
        while view:
            self.wait_for(lambda: job.stdin_credit > 0 or job.done, timeout, "stdin credit")
            if job.done:
                return
            n = min(len(view), chunk, job.stdin_credit)
            self.send(data_frame(STDIN, job.id, bytes(view[:n])))
            job.stdin_credit -= n
            view = view[n:]
            self._flush(block=True)
        if eof:
            self.send(data_frame(STDIN, job.id, eof=True))
            self._flush(block=True)

    def wait(self, job, timeout=60):
        self.wait_for(lambda: job.done, timeout, "job %d (%s)" % (job.id, job.exit or job.error))
        return job

    def run(self, argv=None, shell=None, timeout=60, **fields):
        return self.wait(self.exec(argv=argv, shell=shell, **fields), timeout)

    def ping(self, timeout=30):
        n = self.next_id
        self.next_id += 1
        self.send(json_frame({"type": "ping", "id": n}))
        self.wait_for(lambda: any(e.get("type") == "pong" and e.get("id") == n for e in self.events),
                      timeout, "pong %d" % n)

    def wait_event(self, predicate, timeout, what):
        found = []

        def check():
            found.extend(e for e in self.events if predicate(e))
            return bool(found)
        self.wait_for(check, timeout, what)
        return found[0]
