/* spirit-gpu-holders.c: /proc scanning and pidfd-based termination.
 *
 * Ending a process is SIGTERM, then a wait for its exit on its pidfd (poll() wakes when it
 * exits), then SIGKILL for those still alive at the deadline. pidfds cannot hit a recycled PID.
 */
#define G_LOG_DOMAIN "spirit-gpu-holders"

#include "spirit-gpu-holders.h"
#include "spirit-gpu-error.h"
#include "spirit-pci-device.h"
#include "spirit-sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void
spirit_holder_free (SpiritHolder *holder)
{
  if (holder == NULL)
    return;
  g_free (holder->comm);
  g_free (holder->node);
  g_free (holder);
}

/* The node NODES holds at this fd target, or NULL. */
static const char *
match_node (GPtrArray *nodes, const char *target, const struct stat *st)
{
  for (guint i = 0; i < nodes->len; i++)
    {
      SpiritDevNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *full = spirit_sysfs_path (node->path);

      if (st != NULL && S_ISCHR (st->st_mode) && major (st->st_rdev) == node->major
          && minor (st->st_rdev) == node->minor)
        return node->path;
      if (target != NULL && g_str_equal (target, full))
        return node->path;
    }
  return NULL;
}

static void
add_holder (GPtrArray *holders, int pid, const char *node)
{
  g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", pid);
  g_autofree char *comm = NULL;
  SpiritHolder *holder;

  for (guint i = 0; i < holders->len; i++)
    {
      SpiritHolder *other = g_ptr_array_index (holders, i);

      if (other->pid == pid && g_str_equal (other->node, node))
        return;
    }
  if (g_file_get_contents (comm_path, &comm, NULL, NULL))
    g_strchomp (comm);
  holder = g_new0 (SpiritHolder, 1);
  holder->pid = pid;
  holder->comm = comm ? g_steal_pointer (&comm) : g_strdup ("?");
  holder->node = g_strdup (node);
  g_ptr_array_add (holders, holder);
}

static void
scan_fds (int pid, GPtrArray *nodes, GPtrArray *holders)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", pid);
  DIR *dir = opendir (fd_dir);
  struct dirent *entry;

  if (dir == NULL)
    return; /* gone, or not ours to see */
  while ((entry = readdir (dir)) != NULL)
    {
      char target[4096];
      struct stat st;
      gboolean have_stat;
      ssize_t n;
      const char *node;

      if (entry->d_name[0] == '.')
        continue;
      n = readlinkat (dirfd (dir), entry->d_name, target, sizeof target - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      have_stat = fstatat (dirfd (dir), entry->d_name, &st, 0) == 0;
      node = match_node (nodes, target, have_stat ? &st : NULL);
      if (node != NULL)
        add_holder (holders, pid, node);
    }
  closedir (dir);
}

/* Mappings outlive a close(): an mmap()ed framebuffer keeps the device busy. */
static void
scan_maps (int pid, GPtrArray *nodes, GPtrArray *holders)
{
  g_autofree char *maps_path = g_strdup_printf ("/proc/%d/maps", pid);
  g_autofree char *maps = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (maps_path, &maps, NULL, NULL))
    return;
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *path = strchr (lines[i], '/');
      const char *node;

      if (path == NULL)
        continue;
      node = match_node (nodes, path, NULL);
      if (node == NULL)
        {
          /* the real /dev path, when the tree is the real one */
          for (guint j = 0; j < nodes->len && spirit_sysfs_is_real (); j++)
            if (g_str_equal (((SpiritDevNode *)g_ptr_array_index (nodes, j))->path, path))
              node = ((SpiritDevNode *)g_ptr_array_index (nodes, j))->path;
        }
      if (node != NULL)
        add_holder (holders, pid, node);
    }
}

GPtrArray *
spirit_gpu_find_holders (GPtrArray *nodes, gboolean with_mappings)
{
  g_autoptr (GPtrArray) holders
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_holder_free);
  DIR *proc;
  struct dirent *entry;
  int self = getpid ();

  if (nodes == NULL || nodes->len == 0)
    return g_steal_pointer (&holders);
  proc = opendir ("/proc");
  if (proc == NULL)
    {
      g_warning ("Could not list /proc: %s", g_strerror (errno));
      return g_steal_pointer (&holders);
    }
  while ((entry = readdir (proc)) != NULL)
    {
      guint64 pid;

      char path[32], target[8];

      if (!g_ascii_string_to_unsigned (entry->d_name, 10, 1, G_MAXINT, &pid, NULL)
          || (int)pid == self)
        continue;
      /* kernel threads (most of the PIDs) have no executable, no files and no mappings */
      g_snprintf (path, sizeof path, "%d/exe", (int)pid);
      if (readlinkat (dirfd (proc), path, target, sizeof target) < 0 && errno == ENOENT)
        continue;
      scan_fds ((int)pid, nodes, holders);
      if (with_mappings)
        scan_maps ((int)pid, nodes, holders);
    }
  closedir (proc);
  return g_steal_pointer (&holders);
}

char *
spirit_gpu_describe_holders (GPtrArray *holders)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < holders->len; i++)
    {
      SpiritHolder *holder = g_ptr_array_index (holders, i);

      g_string_append_printf (text, "%s%s (pid %d) on %s", i ? ", " : "", holder->comm, holder->pid,
                              holder->node);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Waits for every pidfd in FDS (-1 = already gone) to report an exit, until DEADLINE. */
static void
wait_exits (GArray *fds, gint64 deadline, GCancellable *cancellable)
{
  for (;;)
    {
      g_autofree struct pollfd *polls = g_new0 (struct pollfd, fds->len);
      nfds_t n = 0;
      gint64 remaining = deadline - g_get_monotonic_time ();

      for (guint i = 0; i < fds->len; i++)
        if (g_array_index (fds, int, i) >= 0)
          polls[n++] = (struct pollfd){ .fd = g_array_index (fds, int, i), .events = POLLIN };
      if (n == 0 || remaining <= 0 || g_cancellable_is_cancelled (cancellable))
        return;
      if (poll (polls, n, (int)((remaining + 999) / 1000)) <= 0)
        continue;
      for (nfds_t j = 0; j < n; j++)
        {
          if (!(polls[j].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          for (guint i = 0; i < fds->len; i++)
            if (g_array_index (fds, int, i) == polls[j].fd)
              {
                close (polls[j].fd);
                g_array_index (fds, int, i) = -1;
              }
        }
    }
}

gboolean
spirit_gpu_end_holders (GPtrArray *holders,
                        guint timeout_ms,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GString) survivors = g_string_new (NULL);

  for (guint i = 0; i < holders->len; i++)
    {
      SpiritHolder *holder = g_ptr_array_index (holders, i);
      gboolean seen = FALSE;
      int fd;

      for (guint j = 0; j < pids->len; j++)
        seen |= g_array_index (pids, int, j) == holder->pid;
      if (seen)
        continue;
      g_array_append_val (pids, holder->pid);
      fd = pidfd_open (holder->pid, 0);
      if (fd >= 0 && pidfd_send_signal (fd, SIGTERM, NULL, 0) < 0)
        g_debug ("SIGTERM to %d: %s", holder->pid, g_strerror (errno));
      if (fd >= 0)
        g_message ("Ending %s (pid %d), which holds %s", holder->comm, holder->pid, holder->node);
      g_array_append_val (fds, fd);
    }
  wait_exits (fds, g_get_monotonic_time () + (gint64)timeout_ms * 1000, cancellable);

  for (guint i = 0; i < fds->len; i++)
    {
      int fd = g_array_index (fds, int, i);

      if (fd < 0)
        continue;
      g_message ("Killing pid %d: it did not exit within %u ms of SIGTERM",
                 g_array_index (pids, int, i), timeout_ms);
      pidfd_send_signal (fd, SIGKILL, NULL, 0);
    }
  wait_exits (fds, g_get_monotonic_time () + (gint64)timeout_ms * 1000, cancellable);

  for (guint i = 0; i < fds->len; i++)
    {
      if (g_array_index (fds, int, i) < 0)
        continue;
      close (g_array_index (fds, int, i));
      g_string_append_printf (survivors, "%s%d", survivors->len ? ", " : "",
                              g_array_index (pids, int, i));
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (survivors->len > 0)
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY,
                   "Processes still alive after SIGKILL: %s", survivors->str);
      return FALSE;
    }
  return TRUE;
}
