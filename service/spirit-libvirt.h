/* spirit-libvirt.h: small helpers over the raw libvirt API, for what libvirt-gobject does not wrap:
 * error mapping to SPIRIT_ERROR and g_autoptr cleanups for libvirt handles. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libvirt-gobject/libvirt-gobject.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

G_BEGIN_DECLS

/* libvirt-gobject 4.0 and libvirt-gconfig declare no autoptr cleanups of their own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConnection, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirDomain, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirDomainSnapshot, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainSnapshot, g_object_unref)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomainSnapshot, virDomainSnapshotFree)

void spirit_set_error_from_libvirt (GError **error, const char *what);

/* The raw handle behind a libvirt-gobject domain, with its own reference. */
virDomainPtr spirit_domain_get_handle (GVirDomain *domain);

G_END_DECLS
