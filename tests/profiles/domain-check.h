/* domain-check.h: checks a generated domain the way libvirt does, and reads it with XPath:
 * virt-xml-validate (libvirt's schema), virDomainDefineXMLFlags on a connection, and XPath
 * queries for the tests' assertions (never a comparison of whole documents). */
#pragma once

#include <libvirt/libvirt.h>
#include <libxml/tree.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

xmlDoc *domain_check_parse (GVirConfigDomain *domain);
int domain_check_count (xmlDoc *doc, const char *xpath);
char *domain_check_string (xmlDoc *doc, const char *xpath);
void domain_check_assert_string (xmlDoc *doc, const char *xpath, const char *expected);
void domain_check_validate (GVirConfigDomain *domain);
void domain_check_define (const char *uri, GVirConfigDomain *domain);
