"""Helpers for org.crom.Spirit.Proxy tests: Exec with real pipes, JobExited, spiritd's RSS."""

import hashlib
import os
import threading

from spirittest import BUS_NAME, ROOT, Gio, GLib, wait_until

PROXY_IFACE = "org.crom.Spirit.Proxy"
ERR = "org.crom.Spirit.Error."
MiB = 1024 * 1024


class PipeReader(threading.Thread):
    """Reads a pipe to EOF on a thread (optionally after a gate opens), hashing what comes."""

    def __init__(self, fd, keep=True, gate=None):
        super().__init__(daemon=True)
        self.fd = fd
        self.keep = keep
        self.gate = gate
        self.data = bytearray()
        self.count = 0
        self.sha = hashlib.sha256()
        self.start()

    def run(self):
        if self.gate is not None:
            self.gate.wait()
        while True:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                break
            self.count += len(chunk)
            self.sha.update(chunk)
            if self.keep:
                self.data += chunk
        os.close(self.fd)


class PipeWriter(threading.Thread):
    def __init__(self, fd, data):
        super().__init__(daemon=True)
        self.fd = fd
        self.payload = data
        self.start()

    def run(self):
        try:
            view = memoryview(self.payload)
            while view:
                n = os.write(self.fd, view[:1 << 20])
                view = view[n:]
        except BrokenPipeError:
            pass
        finally:
            os.close(self.fd)


class ExecRun:
    """One Exec call: its job path, its output readers, and (later) its JobExited status."""

    def __init__(self, job, stdout, stderr, stdin_writer):
        self.job = job
        self.stdout = stdout
        self.stderr = stderr
        self.stdin_writer = stdin_writer


class JobWatcher:
    """Collects JobExited signals on one connection, by job path."""

    def __init__(self, bus):
        self.bus = bus
        self.exited = {}
        self.sub = bus.signal_subscribe(BUS_NAME, PROXY_IFACE, "JobExited", ROOT, None,
                                        Gio.DBusSignalFlags.NONE, self._on_signal)

    def _on_signal(self, conn, sender, path, iface, signal, params):
        job, status = params.unpack()
        self.exited[job] = status

    def close(self):
        self.bus.signal_unsubscribe(self.sub)

    def wait(self, job, timeout=60):
        wait_until(lambda: job in self.exited, timeout=timeout, what="JobExited of %s" % job)
        return self.exited[job]


def start_exec(bus, vm_path, argv, options=None, stdin=b"", keep=True, stdout_gate=None,
               timeout_ms=60000):
    """Calls Exec with fresh pipes; returns an ExecRun (raises GLib.Error on failure)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    fds = Gio.UnixFDList.new_from_array([in_r, out_w, err_w])
    opts = {k: v if isinstance(v, GLib.Variant) else _variant(v) for k, v in (options or {}).items()}
    try:
        reply, _ = bus.call_with_unix_fd_list_sync(
            BUS_NAME, ROOT, PROXY_IFACE, "Exec",
            GLib.Variant("(oasa{sv}hhh)", (vm_path, argv, opts, 0, 1, 2)),
            GLib.VariantType("(o)"), Gio.DBusCallFlags.NONE, timeout_ms, fds, None)
    except GLib.Error:
        for fd in [in_w, out_r, err_r]:
            os.close(fd)
        raise
    finally:
        for fd in fds.steal_fds():
            os.close(fd)
    writer = PipeWriter(in_w, stdin)
    return ExecRun(reply.unpack()[0], PipeReader(out_r, keep, stdout_gate), PipeReader(err_r, keep),
                   writer)


def _variant(value):
    if isinstance(value, bool):
        return GLib.Variant("b", value)
    if isinstance(value, int):
        return GLib.Variant("u", value)
    if isinstance(value, str):
        return GLib.Variant("s", value)
    if isinstance(value, list):
        return GLib.Variant("as", value)
    raise TypeError(value)


def cancel(bus, job, signal_name):
    bus.call_sync(BUS_NAME, ROOT, PROXY_IFACE, "Cancel", GLib.Variant("(os)", (job, signal_name)),
                  None, Gio.DBusCallFlags.NONE, 30000, None)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)
