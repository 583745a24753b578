/* spirit-agent-channel.c: finds and adds the agents' channels in domain XML (libvirt-gconfig). */
#define G_LOG_DOMAIN "spirit-agent-channel"

#include "spirit-agent-channel.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"

#include <libvirt-gconfig/libvirt-gconfig.h>

void
spirit_agent_channels_clear (SpiritAgentChannels *channels)
{
  g_clear_pointer (&channels->spirit_socket, g_free);
  channels->has_qemu_ga = FALSE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomain, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainChannel, g_object_unref)

/* Reading: a GMarkup walk over <devices><channel>, because libvirt-gconfig has no getter for a
 * unix source's path. Only a channel's own <source> and <target> children count. */
typedef struct
{
  SpiritAgentChannels *out;
  int depth;
  int channel_depth; /* depth of the open <channel>, or 0 */
  char *path;
  char *target_name;
  gboolean virtio;
} ChannelParse;

static void
on_start_element (GMarkupParseContext *context,
                  const char *element,
                  const char **names,
                  const char **values,
                  gpointer user_data,
                  GError **error)
{
  ChannelParse *parse = user_data;

  parse->depth++;
  if (g_str_equal (element, "channel") && parse->depth == 3 && parse->channel_depth == 0)
    {
      parse->channel_depth = parse->depth;
      return;
    }
  if (parse->channel_depth == 0 || parse->depth != parse->channel_depth + 1)
    return;
  for (int i = 0; names[i]; i++)
    {
      if (g_str_equal (element, "source") && g_str_equal (names[i], "path"))
        {
          g_free (parse->path);
          parse->path = g_strdup (values[i]);
        }
      else if (g_str_equal (element, "target") && g_str_equal (names[i], "name"))
        {
          g_free (parse->target_name);
          parse->target_name = g_strdup (values[i]);
        }
      else if (g_str_equal (element, "target") && g_str_equal (names[i], "type"))
        parse->virtio = g_str_equal (values[i], "virtio");
    }
}

static void
on_end_element (GMarkupParseContext *context,
                const char *element,
                gpointer user_data,
                GError **error)
{
  ChannelParse *parse = user_data;

  if (parse->depth == parse->channel_depth)
    {
      if (parse->virtio && g_strcmp0 (parse->target_name, SPIRIT_AGENT_CHANNEL_NAME) == 0
          && parse->out->spirit_socket == NULL && parse->path != NULL)
        parse->out->spirit_socket = g_steal_pointer (&parse->path);
      else if (parse->virtio && g_strcmp0 (parse->target_name, SPIRIT_QEMU_GA_CHANNEL_NAME) == 0)
        parse->out->has_qemu_ga = TRUE;
      g_clear_pointer (&parse->path, g_free);
      g_clear_pointer (&parse->target_name, g_free);
      parse->virtio = FALSE;
      parse->channel_depth = 0;
    }
  parse->depth--;
}

gboolean
spirit_agent_channels_parse (const char *xml, SpiritAgentChannels *out, GError **error)
{
  static const GMarkupParser parser = { on_start_element, on_end_element, NULL, NULL, NULL };
  ChannelParse parse = { out, 0, 0, NULL, NULL, FALSE };
  g_autoptr (GMarkupParseContext) context
    = g_markup_parse_context_new (&parser, G_MARKUP_IGNORE_QUALIFIED, &parse, NULL);
  g_autoptr (GError) local = NULL;
  gboolean ok = g_markup_parse_context_parse (context, xml, -1, &local)
                && g_markup_parse_context_end_parse (context, &local);

  g_free (parse.path);
  g_free (parse.target_name);
  if (!ok)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "Could not parse the domain XML: %s",
                 local->message);
  return ok;
}

gboolean
spirit_agent_channels_read_live (virDomainPtr domain, SpiritAgentChannels *out, GError **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (domain, 0);

  if (xml == NULL)
    {
      spirit_set_error_from_libvirt (error, "Could not read the domain XML");
      return FALSE;
    }
  return spirit_agent_channels_parse (xml, out, error);
}

static gboolean
config_has_spirit_channel (GVirConfigDomain *config)
{
  GList *devices = gvir_config_domain_get_devices (config);
  gboolean found = FALSE;

  for (GList *l = devices; l && !found; l = l->next)
    found = GVIR_CONFIG_IS_DOMAIN_CHANNEL (l->data)
            && g_strcmp0 (gvir_config_domain_channel_get_target_name (l->data),
                          SPIRIT_AGENT_CHANNEL_NAME)
                 == 0;
  g_list_free_full (devices, g_object_unref);
  return found;
}

gboolean
spirit_agent_channel_ensure (virDomainPtr domain, gboolean *added, GError **error)
{
  g_autofree char *xml = NULL;
  g_autofree char *new_xml = NULL;
  g_autoptr (GVirConfigDomain) config = NULL;
  g_autoptr (GVirConfigDomainChannel) channel = NULL;
  g_autoptr (GError) local = NULL;
  virDomainPtr defined;

  *added = FALSE;
  if (virDomainIsPersistent (domain) != 1)
    return TRUE;
  xml = virDomainGetXMLDesc (domain, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (xml == NULL)
    {
      spirit_set_error_from_libvirt (error, "Could not read the domain definition");
      return FALSE;
    }
  config = gvir_config_domain_new_from_xml (xml, &local);
  if (config == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "Could not parse the domain definition: %s", local->message);
      return FALSE;
    }
  if (config_has_spirit_channel (config))
    return TRUE;

  /* No path: libvirt assigns one in its per-domain channel directory at every start. */
  channel = gvir_config_domain_channel_new_from_xml (
    "<channel type='unix'><source mode='bind'/>"
    "<target type='virtio' name='" SPIRIT_AGENT_CHANNEL_NAME "'/></channel>",
    &local);
  if (channel == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "Could not build the spirit.0 channel: %s", local->message);
      return FALSE;
    }
  gvir_config_domain_add_device (config, GVIR_CONFIG_DOMAIN_DEVICE (channel));
  new_xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (config));
  defined = virDomainDefineXML (virDomainGetConnect (domain), new_xml);
  if (defined == NULL)
    {
      spirit_set_error_from_libvirt (error, "Could not add the spirit.0 agent channel");
      return FALSE;
    }
  virDomainFree (defined);
  *added = TRUE;
  return TRUE;
}

gboolean
spirit_agent_channel_uri_is_local (const char *uri)
{
  return g_strcmp0 (uri, "qemu:///system") == 0 || g_strcmp0 (uri, "qemu:///session") == 0;
}
