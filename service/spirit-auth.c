/* spirit-auth.c: maps D-Bus methods to polkit actions and asks polkitd, asynchronously.
 *
 * Deny by default: a method that is not in the table, an unreachable polkitd, or any polkit error
 * is a refusal (org.crom.Spirit.Error.NotAuthorized), never a silent allow.
 */
#define G_LOG_DOMAIN "spirit-auth"

#include "spirit-auth.h"
#include "spirit-error.h"

#include <polkit/polkit.h>

#define ACTION_VM_CONTROL "org.crom.Spirit.vm.control"
#define ACTION_VM_SNAPSHOT "org.crom.Spirit.vm.snapshot"
#define ACTION_VM_DEFINE "org.crom.Spirit.vm.define"
#define ACTION_HOST_HUGEPAGES "org.crom.Spirit.host.hugepages"
#define ACTION_GPU_PASSTHROUGH "org.crom.Spirit.gpu.passthrough"
#define ACTION_VM_EXEC "org.crom.Spirit.vm.exec"

typedef struct
{
  const char *interface_name;
  const char *method_name;
  const char *action_id;
} SpiritAuthRule;

static const SpiritAuthRule spirit_auth_rules[] = {
  { "org.crom.Spirit.VM", "Start", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "Shutdown", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "ForceStop", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "Reboot", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "Pause", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "Resume", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "SaveState", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "DiscardSavedState", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "SetAutostart", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "SetMemory", ACTION_VM_CONTROL },
  { "org.crom.Spirit.VM", "CreateSnapshot", ACTION_VM_SNAPSHOT },
  { "org.crom.Spirit.VM", "RevertSnapshot", ACTION_VM_SNAPSHOT },
  { "org.crom.Spirit.VM", "DeleteSnapshot", ACTION_VM_SNAPSHOT },
  { "org.crom.Spirit.VM", "Retune", ACTION_VM_DEFINE },
  { "org.crom.Spirit.Manager", "DefineVM", ACTION_VM_DEFINE },
  { "org.crom.Spirit.Manager", "ReserveHugePages", ACTION_HOST_HUGEPAGES },
  { "org.crom.Spirit.GPU", "Passthrough", ACTION_GPU_PASSTHROUGH },
  { "org.crom.Spirit.GPU", "Reclaim", ACTION_GPU_PASSTHROUGH },
  { "org.crom.Spirit.Proxy", "Exec", ACTION_VM_EXEC },
};

struct _SpiritAuth
{
  GObject parent_instance;
  gboolean use_polkit;
  PolkitAuthority *authority; /* NULL until first needed, or when polkitd could not be reached */
};

G_DEFINE_FINAL_TYPE (SpiritAuth, spirit_auth, G_TYPE_OBJECT)

static void
spirit_auth_finalize (GObject *object)
{
  SpiritAuth *self = SPIRIT_AUTH (object);

  g_clear_object (&self->authority);
  G_OBJECT_CLASS (spirit_auth_parent_class)->finalize (object);
}

static void
spirit_auth_class_init (SpiritAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_auth_finalize;
}

static void
spirit_auth_init (SpiritAuth *self)
{
}

SpiritAuth *
spirit_auth_new (gboolean use_polkit)
{
  SpiritAuth *self = g_object_new (SPIRIT_TYPE_AUTH, NULL);

  g_autoptr (GError) error = NULL;

  self->use_polkit = use_polkit;
  if (!use_polkit)
    {
      g_warning ("polkit is disabled (--no-polkit): every caller may control every VM");
      return self;
    }
  /* Connect once at start-up; a failure here is retried at the first check. */
  self->authority = polkit_authority_get_sync (NULL, &error);
  if (self->authority == NULL)
    g_warning ("polkit is not reachable yet, privileged calls are refused: %s", error->message);
  return self;
}

const char *
spirit_auth_action_for_method (const char *interface_name, const char *method_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_auth_rules); i++)
    if (g_str_equal (spirit_auth_rules[i].interface_name, interface_name) &&
        g_str_equal (spirit_auth_rules[i].method_name, method_name))
      return spirit_auth_rules[i].action_id;
  return NULL;
}

static void
on_check_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (PolkitAuthorizationResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const char *action_id = g_task_get_task_data (task);

  result = polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), res, &error);
  if (result == NULL)
    {
      g_task_return_new_error (task,
                               SPIRIT_ERROR,
                               SPIRIT_ERROR_NOT_AUTHORIZED,
                               "Could not check authorization for %s: %s",
                               action_id,
                               error->message);
      return;
    }
  if (!polkit_authorization_result_get_is_authorized (result))
    {
      g_task_return_new_error (task,
                               SPIRIT_ERROR,
                               SPIRIT_ERROR_NOT_AUTHORIZED,
                               polkit_authorization_result_get_is_challenge (result)
                                 ? "Not authorized to perform %s: authentication is required"
                                 : "Not authorized to perform %s",
                               action_id);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
spirit_auth_check_async (SpiritAuth *self,
                         GDBusMethodInvocation *invocation,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (PolkitSubject) subject = NULL;
  g_autoptr (GError) error = NULL;
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  const char *action_id =
    spirit_auth_action_for_method (g_dbus_method_invocation_get_interface_name (invocation), method);
  PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;

  g_task_set_source_tag (task, spirit_auth_check_async);
  if (action_id == NULL)
    {
      g_task_return_new_error (task,
                               SPIRIT_ERROR,
                               SPIRIT_ERROR_NOT_AUTHORIZED,
                               "Method %s has no authorization rule and is denied",
                               method);
      return;
    }
  g_task_set_task_data (task, g_strdup (action_id), g_free);

  if (!self->use_polkit)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (self->authority == NULL)
    self->authority = polkit_authority_get_sync (NULL, &error);
  if (self->authority == NULL)
    {
      g_task_return_new_error (task,
                               SPIRIT_ERROR,
                               SPIRIT_ERROR_NOT_AUTHORIZED,
                               "Could not check authorization for %s: polkit is unavailable: %s",
                               action_id,
                               error->message);
      return;
    }

  if (g_dbus_message_get_flags (g_dbus_method_invocation_get_message (invocation)) &
      G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
    flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;

  subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (invocation));
  polkit_authority_check_authorization (self->authority,
                                        subject,
                                        action_id,
                                        NULL,
                                        flags,
                                        cancellable,
                                        on_check_done,
                                        g_steal_pointer (&task));
}

gboolean
spirit_auth_check_finish (SpiritAuth *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
