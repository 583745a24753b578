/* spirit-line-runner.h: runs a parsed @target line (docs/proxy-syntax.md, "Running a line").
 *
 *   @linux uname -r > @spirit /tmp/kernel      the guest's output in a host file
 *   @linux cat /etc/hostname | @spirit tr a-z A-Z
 *   @windows --pause
 *
 * Every stage starts at once. Stages are joined by pipe(2)s whose ends go where the stage runs:
 * to spiritd with Proxy.Exec (a VM: spiritd moves the bytes to and from the guest's agent), to
 * a child process (@spirit: spawned here, as the calling user; the root service never runs host
 * commands), or to the Docker Engine API stream (@docker). The runner itself copies no data.
 *
 * The status is the last stage's, as in sh: its exit code, or 128 + the signal number. A stage
 * that cannot start is reported on the line's stderr ("spirit: @linux: …") and counts as 1.
 * spiritctl and the HUD's command bar share this code.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-command-line.h"

G_BEGIN_DECLS

#define SPIRIT_TYPE_LINE_RUNNER (spirit_line_runner_get_type ())
G_DECLARE_FINAL_TYPE (SpiritLineRunner, spirit_line_runner, SPIRIT, LINE_RUNNER, GObject)

/* bus: where spiritd is (NULL: VM targets fail with a clear error). docker_host: a DOCKER_HOST
 * value, or NULL for $DOCKER_HOST and the usual sockets. */
SpiritLineRunner *spirit_line_runner_new (GDBusConnection *bus, const char *docker_host);

/* Runs line with in_fd, out_fd and err_fd as the line's stdin, stdout and stderr (they are
 * duplicated, never closed). Fails only when nothing could be run at all (no pipes left);
 * a stage's failure is a status. */
void spirit_line_runner_run_async (SpiritLineRunner *self,
                                   const SpiritCommandLine *line,
                                   int in_fd,
                                   int out_fd,
                                   int err_fd,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean spirit_line_runner_run_finish (SpiritLineRunner *self,
                                        GAsyncResult *result,
                                        int *out_status,
                                        GError **error);

G_END_DECLS
