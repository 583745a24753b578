/* spirit-gpu-session.h: what the GPU swap asks of logind and systemd, over D-Bus.
 *
 * Blocking calls with deadlines, for the swap's thread: a logind inhibitor, the sessions on a
 * seat, and stopping or starting a unit while waiting for its job to end (JobRemoved), never
 * for a fixed time. The unit's manager is any systemd manager connection: the system one, or a
 * user's (see spirit_gpu_user_manager_connect()).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *id;
  guint uid;
  char *user;
  char *type;  /* x11, wayland, mir, tty, … */
  char *klass; /* user, greeter, … */
  char *state; /* active, online, closing */
  gboolean active;
} SpiritSeatSession;

void spirit_seat_session_free (SpiritSeatSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritSeatSession, spirit_seat_session_free)

gboolean spirit_seat_session_is_graphical (const SpiritSeatSession *session);

int spirit_logind_inhibit (GDBusConnection *system_bus,
                           const char *what,
                           const char *why,
                           GError **error);
GPtrArray *
spirit_logind_list_seat_sessions (GDBusConnection *system_bus, const char *seat, GError **error);

/* A connection to the systemd user manager of uid: its private socket
 * (RUNTIME_DIR/systemd/private, a direct connection), else the user's bus (RUNTIME_DIR/bus);
 * RUNTIME_DIR is /run/user/UID unless given. Or the message bus at address, when given (tests). */
GDBusConnection *spirit_gpu_user_manager_connect (const char *address,
                                                  const char *runtime_dir,
                                                  guint uid,
                                                  GError **error);

gboolean spirit_systemd_unit_is_active (GDBusConnection *manager,
                                        const char *unit,
                                        gboolean *active,
                                        GError **error);
/* method is "StopUnit" or "StartUnit"; returns when the job has ended with "done". */
gboolean spirit_systemd_run_job (
  GDBusConnection *manager, const char *method, const char *unit, guint timeout_ms, GError **error);

G_END_DECLS
