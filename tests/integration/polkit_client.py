#!/usr/bin/python3
"""Runs as an unprivileged user in the polkit test: calls spiritd and reports each outcome.

Usage: polkit_client.py ADDRESS JSON-LIST-OF-[vm, method, signature-or-null, args-or-null]
Prints one JSON list: "ok" or the D-Bus error name for each call, in order.
"""

import json
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402


def main():
    address, calls = sys.argv[1], json.loads(sys.argv[2])
    bus = Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)
    results = []
    for vm, method, signature, args in calls:
        try:
            # vm "" is a Manager method; a dict argument is an a{sv} of {key: [signature, value]}
            if vm:
                (path,) = bus.call_sync("org.crom.Spirit", "/org/crom/Spirit", "org.crom.Spirit.Manager", "GetVM",
                                        GLib.Variant("(s)", (vm,)), None, Gio.DBusCallFlags.NONE, 10000,
                                        None).unpack()
                interface = "org.crom.Spirit.VM"
            else:
                path, interface = "/org/crom/Spirit", "org.crom.Spirit.Manager"
            args = [{k: GLib.Variant(*v) for k, v in a.items()} if isinstance(a, dict) else a for a in args or []]
            params = GLib.Variant(signature, tuple(args)) if signature else None
            bus.call_sync("org.crom.Spirit", path, interface, method, params, None,
                          Gio.DBusCallFlags.NONE, 60000, None)
            results.append("ok")
        except GLib.Error as error:
            results.append(Gio.DBusError.get_remote_error(error) or error.message)
    # The bus policy lets only root own the service's name.
    try:
        bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
                      GLib.Variant("(su)", ("org.crom.Spirit", 4)), None, Gio.DBusCallFlags.NONE, 10000, None)
        results.append("owned")
    except GLib.Error as error:
        results.append(Gio.DBusError.get_remote_error(error) or error.message)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
