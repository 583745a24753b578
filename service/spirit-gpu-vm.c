/* spirit-gpu-vm.c: PCI host devices in a VM's definition (libvirt-gconfig), start and stop. */
#define G_LOG_DOMAIN "spirit-gpu-vm"

#include "spirit-gpu-vm.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomain, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainAddressPci, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainHostdevPci, g_object_unref)

static gboolean
parse_address (const char *address, guint *dom, guint *bus, guint *slot, guint *function)
{
  return address != NULL && sscanf (address, "%4x:%2x:%2x.%1x", dom, bus, slot, function) == 4;
}

static gboolean
hostdev_matches (GVirConfigDomainDevice *device, const char *const *addresses)
{
  g_autoptr (GVirConfigDomainAddressPci) pci = NULL;

  if (!GVIR_CONFIG_IS_DOMAIN_HOSTDEV_PCI (device))
    return FALSE;
  pci = gvir_config_domain_hostdev_pci_get_address (GVIR_CONFIG_DOMAIN_HOSTDEV_PCI (device));
  if (pci == NULL)
    return FALSE;
  for (guint i = 0; addresses[i]; i++)
    {
      guint d, b, s, f;
      if (parse_address (addresses[i], &d, &b, &s, &f)
          && gvir_config_domain_address_pci_get_domain (pci) == (int)d
          && gvir_config_domain_address_pci_get_bus (pci) == (int)b
          && gvir_config_domain_address_pci_get_slot (pci) == (int)s
          && gvir_config_domain_address_pci_get_function (pci) == (int)f)
        return TRUE;
    }
  return FALSE;
}

static GVirConfigDomain *
read_definition (virDomainPtr handle, GError **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (handle, VIR_DOMAIN_XML_INACTIVE);
  GError *parse_error = NULL;
  GVirConfigDomain *config;

  if (xml == NULL)
    {
      spirit_set_error_from_libvirt (error, "Could not read the VM's definition");
      return NULL;
    }
  config = gvir_config_domain_new_from_xml (xml, &parse_error);
  if (config == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "Could not parse the VM's definition: %s", parse_error->message);
      g_error_free (parse_error);
    }
  return config;
}

static gboolean
write_definition (virDomainPtr handle, GVirConfigDomain *config, GError **error)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (config));
  virDomainPtr defined = virDomainDefineXML (virDomainGetConnect (handle), xml);

  if (defined == NULL)
    {
      spirit_set_error_from_libvirt (error, "Could not change the VM's definition");
      return FALSE;
    }
  virDomainFree (defined);
  return TRUE;
}

gboolean
spirit_gpu_vm_add_hostdevs (GVirDomain *domain, const char *const *addresses, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);
  g_autoptr (GVirConfigDomain) config = read_definition (handle, error);
  GList *devices;
  g_autoptr (GPtrArray) present = g_ptr_array_new ();
  gboolean changed = FALSE;

  if (config == NULL)
    return FALSE;
  devices = gvir_config_domain_get_devices (config);
  for (guint i = 0; addresses[i]; i++)
    {
      const char *one[] = { addresses[i], NULL };
      gboolean found = FALSE;
      for (GList *l = devices; l && !found; l = l->next)
        found = hostdev_matches (l->data, one);
      if (!found)
        g_ptr_array_add (present, (gpointer)addresses[i]);
    }
  g_list_free_full (devices, g_object_unref);

  for (guint i = 0; i < present->len; i++)
    {
      g_autoptr (GVirConfigDomainHostdevPci) hostdev = gvir_config_domain_hostdev_pci_new ();
      g_autoptr (GVirConfigDomainAddressPci) pci = gvir_config_domain_address_pci_new ();
      guint d, b, s, f;

      if (!parse_address (g_ptr_array_index (present, i), &d, &b, &s, &f))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "Not a PCI address: %s",
                       (char *)g_ptr_array_index (present, i));
          return FALSE;
        }
      gvir_config_domain_address_pci_set_domain (pci, d);
      gvir_config_domain_address_pci_set_bus (pci, b);
      gvir_config_domain_address_pci_set_slot (pci, s);
      gvir_config_domain_address_pci_set_function (pci, f);
      gvir_config_domain_hostdev_pci_set_address (hostdev, pci);
      gvir_config_domain_hostdev_pci_set_managed (hostdev, FALSE);
      gvir_config_domain_add_device (config, GVIR_CONFIG_DOMAIN_DEVICE (hostdev));
      changed = TRUE;
    }
  return !changed || write_definition (handle, config, error);
}

gboolean
spirit_gpu_vm_remove_hostdevs (GVirDomain *domain, const char *const *addresses, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);
  g_autoptr (GVirConfigDomain) config = read_definition (handle, error);
  GList *devices, *kept = NULL;
  gboolean changed = FALSE;

  if (config == NULL)
    return FALSE;
  devices = gvir_config_domain_get_devices (config);
  for (GList *l = devices; l; l = l->next)
    {
      if (hostdev_matches (l->data, addresses))
        changed = TRUE;
      else
        kept = g_list_append (kept, l->data);
    }
  if (changed)
    gvir_config_domain_set_devices (config, kept);
  g_list_free (kept);
  g_list_free_full (devices, g_object_unref);
  return !changed || write_definition (handle, config, error);
}

gboolean
spirit_gpu_vm_start (GVirDomain *domain, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);

  if (virDomainCreate (handle) < 0)
    {
      spirit_set_error_from_libvirt (error, "Could not start the VM");
      return FALSE;
    }
  return TRUE;
}

gboolean
spirit_gpu_vm_destroy (GVirDomain *domain, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);

  if (virDomainIsActive (handle) == 1 && virDomainDestroy (handle) < 0)
    {
      spirit_set_error_from_libvirt (error, "Could not turn the VM off");
      return FALSE;
    }
  return TRUE;
}

gboolean
spirit_gpu_vm_is_active (GVirDomain *domain, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);
  int active = virDomainIsActive (handle);

  if (active < 0)
    spirit_set_error_from_libvirt (error, "Could not read the VM's state");
  return active == 1;
}
