/* spirit-auth.h: the bouncer. Every privileged D-Bus method passes here before it acts.
 *
 * One table maps each method to its polkit action; a method missing from the table is denied.
 * Checks are asynchronous, so an open password prompt never blocks the daemon.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SPIRIT_TYPE_AUTH (spirit_auth_get_type ())
G_DECLARE_FINAL_TYPE (SpiritAuth, spirit_auth, SPIRIT, AUTH, GObject)

/* With use_polkit FALSE every call is allowed: only for --session --no-polkit development. */
SpiritAuth *spirit_auth_new (gboolean use_polkit);

const char *spirit_auth_action_for_method (const char *interface_name, const char *method_name);

void spirit_auth_check_async (SpiritAuth *self,
                              GDBusMethodInvocation *invocation,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean spirit_auth_check_finish (SpiritAuth *self, GAsyncResult *result, GError **error);

G_END_DECLS
