/* spirit-wait.h: waits until the kernel reaches a state, with a deadline, never with a sleep.
 *
 * The condition is checked, then again on every wake-up: a kernel uevent (netlink, also where no
 * udevd runs, as in the test guest), an inotify event on the given directories (devtmpfs nodes,
 * and every change of a test tree), cancellation, or a short safety re-check whose interval
 * grows from 1 ms to 50 ms (sysfs links change without inotify events; the uevent that follows
 * them is the wake-up that normally comes first).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* TRUE: reached. FALSE with *error set: give up (the error is returned). FALSE: not yet. */
typedef gboolean (*SpiritWaitCheck) (gpointer user_data, GError **error);

gboolean spirit_wait_until (const char *what,
                            const char *const *watch_dirs,
                            gint64 deadline,
                            SpiritWaitCheck check,
                            gpointer user_data,
                            GCancellable *cancellable,
                            GError **error);

gint64 spirit_wait_deadline_after_ms (guint timeout_ms);

G_END_DECLS
