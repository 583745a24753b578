/* spirit-domain-xml.c: round-trips a GVirConfigDomain through libxml2, and small node helpers. */
#define G_LOG_DOMAIN "spirit-domain-xml"

#include "spirit-domain-xml.h"
#include "spirit-profiles-private.h"
#include "spirit-error.h"

#include <libxml/parser.h>

xmlDoc *
spirit_domain_xml_parse (GVirConfigDomain *domain, GError **error)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  xmlDoc *doc;

  doc = xmlReadMemory (xml, (int)strlen (xml), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOBLANKS);
  if (doc == NULL || xmlDocGetRootElement (doc) == NULL)
    {
      if (doc != NULL)
        xmlFreeDoc (doc);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "libvirt-gconfig produced a domain libxml2 cannot parse");
      return NULL;
    }
  return doc;
}

GVirConfigDomain *
spirit_domain_xml_finish (xmlDoc *doc, GError **error)
{
  xmlChar *text = NULL;
  int len = 0;
  GVirConfigDomain *domain;
  g_autoptr (GError) local_error = NULL;

  xmlDocDumpFormatMemory (doc, &text, &len, 1);
  if (text == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "Cannot serialize the domain XML");
      return NULL;
    }
  domain = gvir_config_domain_new_from_xml ((const char *)text, &local_error);
  xmlFree (text);
  if (domain == NULL)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                 "libvirt-gconfig refused the domain XML: %s", local_error->message);
  return domain;
}

/* libvirt's own RelaxNG schema (domain.rng), as virt-xml-validate uses it. A host without the
 * schema files skips this; libvirt's define checks the same again. */
gboolean
spirit_domain_xml_validate (GVirConfigDomain *domain, GError **error)
{
  const char *schema = gvir_config_object_get_schema (GVIR_CONFIG_OBJECT (domain));
  g_autoptr (GError) local_error = NULL;

  if (schema == NULL || !g_file_test (schema, G_FILE_TEST_EXISTS))
    {
      g_debug ("libvirt's domain schema %s is not installed: not validating",
               schema ? schema : "(none)");
      return TRUE;
    }
  gvir_config_object_validate (GVIR_CONFIG_OBJECT (domain), &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "The generated domain does not pass libvirt's schema (%s): %s. This is a bug "
                   "in Spirit or in a profile: report it with the profile and options used",
                   schema, local_error->message);
      return FALSE;
    }
  return TRUE;
}

xmlNode *
spirit_xml_child (xmlNode *parent, const char *name)
{
  for (xmlNode *child = parent->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE && xmlStrEqual (child->name, BAD_CAST name))
      return child;
  return NULL;
}

xmlNode *
spirit_xml_add_child (xmlNode *parent, const char *name)
{
  return xmlNewChild (parent, NULL, BAD_CAST name, NULL);
}

xmlNode *
spirit_xml_ensure_child (xmlNode *parent, const char *name)
{
  xmlNode *child = spirit_xml_child (parent, name);

  return child != NULL ? child : spirit_xml_add_child (parent, name);
}

void
spirit_xml_remove_children (xmlNode *parent, const char *name)
{
  xmlNode *child = parent->children;

  while (child != NULL)
    {
      xmlNode *next = child->next;
      if (child->type == XML_ELEMENT_NODE && xmlStrEqual (child->name, BAD_CAST name))
        {
          xmlUnlinkNode (child);
          xmlFreeNode (child);
        }
      child = next;
    }
}

void
spirit_xml_set (xmlNode *node, const char *attribute, const char *value)
{
  xmlSetProp (node, BAD_CAST attribute, BAD_CAST value);
}

void
spirit_xml_set_uint (xmlNode *node, const char *attribute, guint64 value)
{
  char text[32];

  g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, value);
  xmlSetProp (node, BAD_CAST attribute, BAD_CAST text);
}
