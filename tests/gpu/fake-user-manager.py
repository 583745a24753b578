#!/usr/bin/python3
"""fake-user-manager.py: a systemd user manager on its private socket, as far as the GPU swap
uses it, for tests/integration/test_gpu.py.

    fake-user-manager.py RUNTIME_DIR UNIT LOG

Listens at RUNTIME_DIR/systemd/private as a direct (peer-to-peer) D-Bus server, as systemd
does, with org.freedesktop.systemd1.Manager's Subscribe, GetUnit, StopUnit and StartUnit, the
unit's ActiveState (UNIT starts active), and JobRemoved sent to subscribed connections after each
job. Appends one line per call to LOG ("StopUnit nexus-hud.service"). Prints "ready" once it
listens; runs until stdin is closed.
"""

import os
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
XML = """
<node>
  <interface name="org.freedesktop.systemd1.Manager">
    <method name="Subscribe"/>
    <method name="GetUnit"><arg type="s" direction="in"/><arg type="o" direction="out"/></method>
    <method name="StopUnit"><arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="o" direction="out"/></method>
    <method name="StartUnit"><arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="o" direction="out"/></method>
    <signal name="JobRemoved"><arg type="u"/><arg type="o"/><arg type="s"/><arg type="s"/></signal>
  </interface>
  <interface name="org.freedesktop.systemd1.Unit">
    <property name="ActiveState" type="s" access="read"/>
  </interface>
</node>
"""


def main():
    runtime_dir, unit, log_path = sys.argv[1:4]
    os.makedirs(os.path.join(runtime_dir, "systemd"), exist_ok=True)
    info = Gio.DBusNodeInfo.new_for_xml(XML)
    state = {"active": "active", "job": 0}
    subscribed = []
    unit_path = PATH + "/unit/" + unit.replace(".", "_2e").replace("-", "_2d")

    def log(line):
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def method_call(conn, sender, path, iface, method, params, invocation):
        args = params.unpack()
        log(" ".join([method] + [str(a) for a in args[:1]]))
        if method == "Subscribe":
            subscribed.append(conn)
            invocation.return_value(None)
        elif method == "GetUnit":
            invocation.return_value(GLib.Variant("(o)", (unit_path,)))
        else:
            state["job"] += 1
            job = "%s/job/%d" % (PATH, state["job"])
            state["active"] = "inactive" if method == "StopUnit" else "active"
            invocation.return_value(GLib.Variant("(o)", (job,)))
            for c in [c for c in subscribed if not c.is_closed()]:
                c.emit_signal(None, PATH, MANAGER, "JobRemoved",
                              GLib.Variant("(uoss)", (state["job"], job, args[0], "done")))

    def get_property(conn, sender, path, iface, name):
        return GLib.Variant("s", state["active"])

    connections = []  # GDBusServer hands each connection over: it lives as long as we hold it

    def on_connection(server, conn):
        connections.append(conn)
        conn.register_object(PATH, info.lookup_interface(MANAGER), method_call, None, None)
        conn.register_object(unit_path, info.lookup_interface("org.freedesktop.systemd1.Unit"), None,
                             get_property, None)
        return True

    server = Gio.DBusServer.new_sync("unix:path=%s/systemd/private" % runtime_dir, Gio.DBusServerFlags.NONE,
                                     Gio.dbus_generate_guid(), None, None)
    server.connect("new-connection", on_connection)
    server.start()
    loop = GLib.MainLoop()
    GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT, GLib.IOCondition.HUP | GLib.IOCondition.IN,
                      lambda *a: loop.quit() or False)
    print("ready", flush=True)
    loop.run()
    server.stop()


if __name__ == "__main__":
    main()
