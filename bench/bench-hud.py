#!/usr/bin/python3
"""Benchmark: Nexus HUD start-up and idle cost, against its targets and against virt-manager.

A benchmark, not a test: nothing runs it but a person. See bench/bench-hud.md for how to read it
and the numbers measured so far.

Everything runs on a private Xvfb (it picks its own display, -displayfd) and a private
dbus-daemon with no service files; spiritd runs there with --session --no-polkit over libvirt's
test driver (data/demo-vms.xml, the README demo's three machines). virt-manager opens the same
test-driver file directly (it has no use for spiritd).

Per program it measures:
  - launch → top-level window mapped: an X MapNotify seen on the root window through
    python3-xlib, the same measure for both programs;
  - launch → first frame, and → first frame that shows the machines: the HUD's own debug log
    (G_MESSAGES_DEBUG=nexus-window prints g_get_monotonic_time() on those frames); virt-manager
    has no such hook;
  - idle CPU over the 10 s that follow the first 10 s after launch (utime + stime from /proc),
    and RSS and PSS 10 s after launch.
The HUD runs twice: with GTK's default renderer (GL; on Xvfb that is Mesa's llvmpipe, software)
and with GSK_RENDERER=cairo. So does the floor, bench-hud-floor.c (compiled here with cc): an
AdwApplicationWindow with a header bar and a label, what GTK 4 and libadwaita cost before the HUD
draws anything of its own.

Clocks: launch times and the HUD's timestamps are both CLOCK_MONOTONIC (time.monotonic_ns(),
g_get_monotonic_time()).
"""

import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from Xlib import X, display  # python3-xlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

TARGET_STARTUP_MS = 300
TARGET_IDLE_CPU = 1.0
TARGET_MEMORY_MB = 50


def log(msg):
    print(f"[bench-hud {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_line_from(fd, timeout):
    """The first line a child writes to fd (Xvfb -displayfd, dbus-daemon --print-address)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise RuntimeError("child did not say where it listens")
        chunk = os.read(fd, 256)
        if not chunk:
            raise RuntimeError("child exited before saying where it listens")
        data += chunk
    os.close(fd)
    return data.decode().strip()


def spawn_with_pipe(argv, **kwargs):
    """Runs argv with "{fd}" replaced by the write end of a pipe; returns its first line."""
    r, w = os.pipe()
    argv = [a.replace("{fd}", str(w)) for a in argv]
    proc = subprocess.Popen(argv, pass_fds=(w,), **kwargs)
    os.close(w)
    return proc, read_line_from(r, 20)


class Fixture:
    """Xvfb, a private bus, and spiritd on it."""

    def __init__(self, spiritd, xml, workdir):
        self.procs = []
        self.x = None
        try:
            self._start(spiritd, xml, workdir)
        except BaseException:
            self.stop()
            raise

    def _start(self, spiritd, xml, workdir):
        self.xvfb, number = spawn_with_pipe(
            ["Xvfb", "-displayfd", "{fd}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset"],
            stderr=subprocess.DEVNULL)
        self.procs.append(self.xvfb)
        self.display = ":" + number
        conf = os.path.join(workdir, "bus.conf")
        with open(conf, "w") as f:
            f.write(f"<busconfig><type>session</type><listen>unix:dir={workdir}</listen>"
                    "<auth>EXTERNAL</auth><policy context='default'><allow send_destination='*'/>"
                    "<allow receive_sender='*'/><allow own='*'/></policy></busconfig>")
        self.bus, self.address = spawn_with_pipe(
            ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address={fd}"],
            stderr=subprocess.DEVNULL)
        self.procs.append(self.bus)
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        self.spiritd = subprocess.Popen(
            [spiritd, "--session", "--no-polkit", "--uri", "test://" + xml],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.spiritd)
        self.x = display.Display(self.display)
        self.x.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
        self.x.sync()
        wait = subprocess.run(["gdbus", "wait", "--session", "--timeout", "20", "org.crom.Spirit"],
                              env=env)
        if wait.returncode != 0:
            raise RuntimeError("spiritd did not take its name")

    def env(self, extra=None):
        env = dict(os.environ)
        env.pop("WAYLAND_DISPLAY", None)
        env.update(DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.address,
                   SPIRIT_BUS_ADDRESS=self.address, GSETTINGS_BACKEND="memory",
                   GDK_BACKEND="x11", LC_ALL="C.UTF-8", NO_AT_BRIDGE="1")
        env.update(extra or {})
        return env

    def drain_x(self):
        while self.x.pending_events():
            self.x.next_event()

    def wait_map(self, t0_ns, timeout=60):
        """Seconds from t0 to the first top-level MapNotify (not override-redirect popups)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.x.pending_events():
                ev = self.x.next_event()
                if ev.type == X.MapNotify and not ev.override:
                    return (time.monotonic_ns() - t0_ns) / 1e9
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([self.x.fileno()], [], [], left)

    def stop(self):
        if self.x is not None:
            self.x.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def build_floor(workdir):
    exe = os.path.join(workdir, "bench-hud-floor")
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "libadwaita-1"], check=True,
                            capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", os.path.join(HERE, "bench-hud-floor.c"), "-o", exe] + cflags,
                   check=True)
    return exe


def hud_log_times(path, t0_ns):
    """(first frame, first frame with machines) in seconds after t0, from the HUD's debug log."""
    first = listed = None
    with open(path, errors="replace") as f:
        for line in f:
            if "first frame with machines at" in line:
                listed = (int(line.split(" at ")[1].split()[0]) * 1000 - t0_ns) / 1e9
            elif "first frame at" in line:
                first = (int(line.split(" at ")[1].split()[0]) * 1000 - t0_ns) / 1e9
    return first, listed


def launch(fixture, argv, extra_env, workdir, tag):
    out = open(os.path.join(workdir, tag + ".log"), "w")
    fixture.drain_x()
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(argv, env=fixture.env(extra_env), stdout=out, stderr=subprocess.STDOUT)
    return proc, t0, out.name


def startup_runs(fixture, argv, extra_env, runs, workdir, tag, kind):
    """kind: "hud" (waits for the machines), "floor" (for its first frame) or None (a fixed 1 s)."""
    maps, firsts, listeds = [], [], []
    for i in range(runs):
        proc, t0, logfile = launch(fixture, argv, extra_env, workdir, f"{tag}-{i}")
        mapped = fixture.wait_map(t0)
        if mapped is None:
            stop(proc)
            raise RuntimeError(f"{tag}: no window within 60 s; see {logfile}")
        maps.append(mapped)
        if kind:
            deadline = time.monotonic() + 20
            first = listed = None
            while listed is None and time.monotonic() < deadline:
                first, listed = hud_log_times(logfile, t0)
                if first is not None and kind == "floor":
                    listed = first  # the floor has no machines to show
                time.sleep(0.02)  # a benchmark polling its own log file; not a test
            if listed is None:
                stop(proc)
                raise RuntimeError(f"{tag}: no first frame logged; see {logfile}")
            firsts.append(first)
            listeds.append(listed)
        else:
            time.sleep(1.0)  # let it finish drawing before it is stopped
        stop(proc)
    return maps, firsts, listeds


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def proc_mem_kib(pid):
    rss = pss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def idle_run(fixture, argv, extra_env, workdir, tag, settle, window):
    proc, t0, _ = launch(fixture, argv, extra_env, workdir, tag + "-idle")
    if fixture.wait_map(t0) is None:
        stop(proc)
        raise RuntimeError(f"{tag}: no window")
    time.sleep(max(0.0, settle - (time.monotonic_ns() - t0) / 1e9))
    rss, pss = proc_mem_kib(proc.pid)
    ticks0, wall0 = proc_cpu_ticks(proc.pid), time.monotonic()
    time.sleep(window)
    ticks1, wall1 = proc_cpu_ticks(proc.pid), time.monotonic()
    stop(proc)
    cpu = (ticks1 - ticks0) / os.sysconf("SC_CLK_TCK") / (wall1 - wall0) * 100
    return cpu, rss / 1024, pss / 1024


def ms(values):
    if not values:
        return "—"
    return "%.0f (min %.0f, max %.0f)" % (statistics.median(values) * 1000, min(values) * 1000,
                                          max(values) * 1000)


def verdict(ok):
    return "meets" if ok else "MISSES"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--runs", type=int, default=10, help="start-ups per HUD variant")
    parser.add_argument("--virt-manager-runs", type=int, default=5, help="0: no comparison")
    parser.add_argument("--renderers", default="gl,cairo", help="HUD variants: gl, cairo or both")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before idle sampling")
    parser.add_argument("--window", type=float, default=10.0, help="idle sampling seconds")
    parser.add_argument("--xml", default=os.path.join(REPO, "data", "demo-vms.xml"))
    args = parser.parse_args()

    hud = os.path.join(args.build, "hud", "nexus-hud")
    spiritd = os.path.join(args.build, "service", "spiritd")
    for path in (hud, spiritd):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench-hud: {path} is not built (ninja -C {args.build})")
    virt_manager = "/usr/bin/virt-manager" if os.access("/usr/bin/virt-manager", os.X_OK) else None

    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="bench-hud-")
    log(f"scratch: {workdir}")
    fixture = Fixture(spiritd, os.path.abspath(args.xml), workdir)
    results = {}
    try:
        floor = build_floor(workdir)
        renderers = {"gl": ("GL: llvmpipe", {}), "cairo": ("cairo", {"GSK_RENDERER": "cairo"})}
        for key in args.renderers.split(","):
            label, env = renderers[key]
            env = dict(env, G_MESSAGES_DEBUG="nexus-window")
            for program, argv, kind in (("nexus-hud", [hud], "hud"),
                                        ("floor", [floor], "floor")):
                name = f"{program} ({label})"
                tag = f"{program}-{key}"
                log(f"{name}: {args.runs} start-ups")
                maps, firsts, listeds = startup_runs(fixture, argv, env, args.runs, workdir, tag,
                                                     kind)
                log(f"{name}: idle for {args.settle + args.window:.0f} s")
                cpu, rss, pss = idle_run(fixture, argv, env, workdir, tag, args.settle, args.window)
                results[name] = (maps, firsts, listeds if kind == "hud" else [], cpu, rss, pss)
        if virt_manager and args.virt_manager_runs > 0:
            argv = [virt_manager, "--no-fork", "--connect", "test://" + os.path.abspath(args.xml)]
            log(f"virt-manager: {args.virt_manager_runs} start-ups")
            maps, _, _ = startup_runs(fixture, argv, {}, args.virt_manager_runs, workdir,
                                      "virt-manager", None)
            log("virt-manager: idle")
            cpu, rss, pss = idle_run(fixture, argv, {}, workdir, "virt-manager", args.settle,
                                     args.window)
            results["virt-manager " + subprocess.run(
                [virt_manager, "--version"], capture_output=True, text=True,
                env=fixture.env()).stdout.strip()] = (maps, [], [], cpu, rss, pss)
        elif not virt_manager:
            log("virt-manager is not installed: no comparison")
    finally:
        fixture.stop()

    print()
    print(f"Nexus HUD start-up and idle cost; {os.cpu_count()} CPUs, Xvfb, spiritd over "
          f"{os.path.relpath(args.xml, REPO)}; medians in ms; 1-minute load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print()
    print("| program | launch → window mapped | → first frame | → machines shown | "
          f"idle CPU ({args.window:.0f} s after {args.settle:.0f} s) | RSS | PSS |")
    print("|---|---|---|---|---|---|---|")
    for name, (maps, firsts, listeds, cpu, rss, pss) in results.items():
        print(f"| {name} | {ms(maps)} | {ms(firsts)} | {ms(listeds)} | {cpu:.2f} % | "
              f"{rss:.1f} MB | {pss:.1f} MB |")
    print()
    for name, (maps, firsts, listeds, cpu, rss, pss) in results.items():
        if not name.startswith("nexus-hud"):
            continue
        base = results.get(name.replace("nexus-hud", "floor"))
        first = statistics.median(firsts) * 1000
        print(f"{name}: startup {first:.0f} ms {verdict(first < TARGET_STARTUP_MS)} < "
              f"{TARGET_STARTUP_MS} ms; idle CPU {cpu:.2f} % {verdict(cpu < TARGET_IDLE_CPU)} < "
              f"{TARGET_IDLE_CPU:g} %; RSS {rss:.1f} MB {verdict(rss < TARGET_MEMORY_MB)} < "
              f"{TARGET_MEMORY_MB} MB (PSS {pss:.1f} MB)")
        if base:
            print(f"  above the floor: first frame +{first - statistics.median(base[1]) * 1000:.0f} ms, "
                  f"RSS +{rss - base[4]:.1f} MB, PSS +{pss - base[5]:.1f} MB")
    vm = [v for k, v in results.items() if k.startswith("virt-manager")]
    if vm:
        vm_map = statistics.median(vm[0][0])
        for name, (maps, _, _, cpu, rss, pss) in results.items():
            if name.startswith("nexus-hud"):
                print(f"{name} vs virt-manager: window mapped {vm_map / statistics.median(maps):.1f}× "
                      f"sooner; RSS {vm[0][4] / rss:.1f}× smaller; PSS {vm[0][5] / pss:.1f}× smaller")
    log(f"logs kept in {workdir}")


if __name__ == "__main__":
    main()
