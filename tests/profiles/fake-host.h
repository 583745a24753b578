/* fake-host.h: builds fake sysfs trees (CPU topologies, huge page pools, hugetlbfs mounts, PCI
 * devices) in a temporary directory, for the tests to pass as the sysfs root. */
#pragma once

#include <glib.h>

typedef struct
{
  char *root; /* the tree; removed by fake_host_free() */
} FakeHost;

FakeHost *fake_host_new (void);
void fake_host_free (FakeHost *host);
void fake_host_write (FakeHost *host, const char *path, const char *contents);
void fake_host_set_online (FakeHost *host, const char *list);
void
fake_host_add_cpu (FakeHost *host, guint cpu, guint package, guint core_id, const char *siblings);
void
fake_host_add_smt_cores (FakeHost *host, guint n_packages, guint cores_per_package, guint threads);
void fake_host_add_hugepages (FakeHost *host, guint64 page_kib, guint64 total, guint64 free_pages);
void fake_host_set_mounts (FakeHost *host, const char *mounts);
void fake_host_add_pci_device (FakeHost *host, const char *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeHost, fake_host_free)
