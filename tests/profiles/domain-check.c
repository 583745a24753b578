/* domain-check.c: virt-xml-validate, libvirt define, and XPath over a generated domain. */
#define G_LOG_DOMAIN "domain-check"

#include "domain-check.h"
#include "spirit-profiles-private.h"

#include <glib/gstdio.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <unistd.h>

xmlDoc *
domain_check_parse (GVirConfigDomain *domain)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  xmlDoc *doc = xmlReadMemory (xml, (int)strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);

  g_assert_nonnull (doc);
  return doc;
}

int
domain_check_count (xmlDoc *doc, const char *xpath)
{
  g_autoptr (xmlXPathContext) context = xmlXPathNewContext (doc);
  g_autoptr (xmlXPathObject) result = xmlXPathEvalExpression (BAD_CAST xpath, context);

  g_assert_nonnull (result);
  g_assert_cmpint (result->type, ==, XPATH_NODESET);
  return result->nodesetval ? result->nodesetval->nodeNr : 0;
}

char *
domain_check_string (xmlDoc *doc, const char *xpath)
{
  g_autoptr (xmlXPathContext) context = xmlXPathNewContext (doc);
  g_autofree char *expression = g_strdup_printf ("string(%s)", xpath);
  g_autoptr (xmlXPathObject) result = xmlXPathEvalExpression (BAD_CAST expression, context);

  g_assert_nonnull (result);
  return g_strdup ((const char *)result->stringval);
}

void
domain_check_assert_string (xmlDoc *doc, const char *xpath, const char *expected)
{
  g_autofree char *value = domain_check_string (doc, xpath);

  if (g_strcmp0 (value, expected) != 0)
    g_error ("%s is \"%s\", expected \"%s\"", xpath, value, expected);
}

/* libvirt's own schema check, by its own tool. */
void
domain_check_validate (GVirConfigDomain *domain)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *path = NULL;
  int status = 0;
  int fd;

  fd = g_file_open_tmp ("spirit-domain-XXXXXX.xml", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (path, xml, -1, &error);
  g_assert_no_error (error);
  {
    const char *argv[] = { "virt-xml-validate", path, "domain", NULL };
    g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                  &error);
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("virt-xml-validate refused the domain:\n%s%s\n%s", out, err, xml);
  g_assert_true (strstr (out, "validates") != NULL || strstr (err, "validates") != NULL);
  g_unlink (path);
}

/* libvirt parses, validates (VIR_DOMAIN_DEFINE_VALIDATE: the schema again, then the driver's
 * own checks) and stores it; then it is undefined again. */
void
domain_check_define (const char *uri, GVirConfigDomain *domain)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  virConnectPtr conn = virConnectOpen (uri);
  virDomainPtr defined;

  if (conn == NULL)
    g_error ("cannot open %s: %s", uri, virGetLastErrorMessage ());
  defined = virDomainDefineXMLFlags (conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
  if (defined == NULL)
    g_error ("%s refused the domain: %s\n%s", uri, virGetLastErrorMessage (), xml);
  g_assert_cmpstr (virDomainGetName (defined), ==, gvir_config_domain_get_name (domain));
  /* the test driver has no NVRAM and refuses the flag */
  g_assert_cmpint (virDomainUndefineFlags (
                     defined, g_str_has_prefix (uri, "test:") ? 0 : VIR_DOMAIN_UNDEFINE_NVRAM),
                   ==, 0);
  virDomainFree (defined);
  virConnectClose (conn);
}
