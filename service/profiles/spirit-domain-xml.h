/* spirit-domain-xml.h: libxml2 access to a libvirt-gconfig domain, for the elements
 * libvirt-gconfig 4.0 has no API for (cputune, memoryBacking, hyperv, tpm, iommu, ...).
 *
 * libvirt-gconfig keeps its xmlNode private, so the document goes through its serialized form:
 * spirit_domain_xml_parse() → edit the tree with the node helpers → spirit_domain_xml_finish()
 * makes a new GVirConfigDomain of it. Nothing is ever built by formatting XML text.
 */
#pragma once

#include <libxml/tree.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

G_BEGIN_DECLS

xmlDoc *spirit_domain_xml_parse (GVirConfigDomain *domain, GError **error);
GVirConfigDomain *spirit_domain_xml_finish (xmlDoc *doc, GError **error);
gboolean spirit_domain_xml_validate (GVirConfigDomain *domain, GError **error);

xmlNode *spirit_xml_child (xmlNode *parent, const char *name);
xmlNode *spirit_xml_ensure_child (xmlNode *parent, const char *name);
xmlNode *spirit_xml_add_child (xmlNode *parent, const char *name);
void spirit_xml_remove_children (xmlNode *parent, const char *name);
void spirit_xml_set (xmlNode *node, const char *attribute, const char *value);
void spirit_xml_set_uint (xmlNode *node, const char *attribute, guint64 value);

G_END_DECLS
