/* spirit-vm-retune.c: VM.Retune on a worker thread: read, retune, define, read back. */
#define G_LOG_DOMAIN "spirit-vm-retune"

#include "spirit-vm-retune.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"
#include "spirit-vm-plan.h"

/* The persistent definition, as libvirt-gconfig sees it. */
static GVirConfigDomain *
read_inactive (virDomainPtr handle, const char *vm_name, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *xml = NULL;
  char *raw = virDomainGetXMLDesc (handle, VIR_DOMAIN_XML_INACTIVE);
  GVirConfigDomain *config;

  if (raw == NULL)
    {
      g_autofree char *what = g_strdup_printf ("Could not read the definition of '%s'", vm_name);
      spirit_set_error_from_libvirt (error, what);
      return NULL;
    }
  xml = g_strdup (raw);
  free (raw);
  config = gvir_config_domain_new_from_xml (xml, &local);
  if (config == NULL)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                 "Could not parse the definition of '%s': %s", vm_name, local->message);
  return config;
}

gboolean
spirit_vm_check_retune (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  if (!current->persistent)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                   "'%s' is transient (it has no persistent definition), so it cannot be "
                   "retuned: define it first",
                   call->vm_name);
      return FALSE;
    }
  return TRUE;
}

gboolean
spirit_vm_run_retune (SpiritVmCall *call, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);
  g_autoptr (GVariant) options
    = g_variant_get_child_value (g_dbus_method_invocation_get_parameters (call->invocation), 0);
  GVirConfigDomain *current;
  GVirConfigDomain *retuned;
  g_autoptr (virDomain) defined = NULL;
  g_autofree char *xml = NULL;
  char *stored;

  current = read_inactive (handle, call->vm_name, error);
  if (current == NULL)
    return FALSE;
  retuned = spirit_vm_plan_retune (current, options, NULL, error);
  g_object_unref (current);
  if (retuned == NULL)
    return FALSE;
  xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (retuned));
  g_object_unref (retuned);
  defined = virDomainDefineXMLFlags (virDomainGetConnect (handle), xml, VIR_DOMAIN_DEFINE_VALIDATE);
  if (defined == NULL)
    {
      g_autofree char *what
        = g_strdup_printf ("libvirt refused the new tuning of '%s'", call->vm_name);
      spirit_set_error_from_libvirt (error, what);
      if ((*error)->code != SPIRIT_ERROR_UNAVAILABLE)
        (*error)->code = SPIRIT_ERROR_FAILED;
      return FALSE;
    }
  g_message ("Retuned %s", call->vm_name);
  stored = virDomainGetXMLDesc (defined, VIR_DOMAIN_XML_INACTIVE);
  call->result = g_strdup (stored ? stored : xml);
  free (stored);
  return TRUE;
}
