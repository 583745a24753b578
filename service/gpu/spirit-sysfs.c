/* spirit-sysfs.c: reads and writes sysfs attributes below the test root, with fault injection.
 *
 * The root and the fault rules are process-wide and guarded by one lock: the binding code runs
 * on worker threads. Attribute writes are one write(2), as the kernel's store functions expect
 * (a split write would be two stores).
 */
#define G_LOG_DOMAIN "spirit-sysfs"

#include "spirit-sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct
{
  char *op;
  GPatternSpec *path;
  char *path_text;
  char *value; /* NULL: any value */
  int err;     /* errno to report, 0 with drop */
  gboolean drop;
  guint nth;
  guint count; /* 0: forever */
  guint matched;
} FaultRule;

static GMutex lock;
static gboolean initialized;
static char *root;             /* "" for the real system */
static GPtrArray *fault_rules; /* FaultRule */
static guint faults_hit;

static void
fault_rule_free (FaultRule *rule)
{
  g_free (rule->op);
  g_pattern_spec_free (rule->path);
  g_free (rule->path_text);
  g_free (rule->value);
  g_free (rule);
}

static const struct
{
  const char *name;
  int value;
} errno_names[] = {
  { "EIO", EIO },       { "ENODEV", ENODEV }, { "EBUSY", EBUSY },   { "EACCES", EACCES },
  { "EPERM", EPERM },   { "ENOENT", ENOENT }, { "EINVAL", EINVAL }, { "EAGAIN", EAGAIN },
  { "ENOMEM", ENOMEM }, { "EEXIST", EEXIST },
};

static gboolean
parse_errno (const char *text, int *out)
{
  guint64 n;

  for (gsize i = 0; i < G_N_ELEMENTS (errno_names); i++)
    if (g_str_equal (text, errno_names[i].name))
      {
        *out = errno_names[i].value;
        return TRUE;
      }
  if (!g_ascii_string_to_unsigned (text, 10, 1, 4095, &n, NULL))
    return FALSE;
  *out = (int)n;
  return TRUE;
}

static FaultRule *
parse_rule (const char *text, GError **error)
{
  g_autofree char *op = NULL;
  g_auto (GStrv) fields = NULL;
  const char *colon = strchr (text, ':');
  const char *eq;
  FaultRule *rule;

  if (colon == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Fault rule “%s”: expected OP:PATH[=VALUE][,OPTION...]", text);
      return NULL;
    }
  op = g_strndup (text, colon - text);
  if (!g_strv_contains ((const char *const[]){ "read", "write", "readlink", "list", NULL }, op))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Fault rule “%s”: unknown operation “%s” (read, write, readlink, list)", text,
                   op);
      return NULL;
    }
  fields = g_strsplit (colon + 1, ",", -1);
  if (fields[0] == NULL || fields[0][0] != '/')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Fault rule “%s”: the path must be absolute", text);
      return NULL;
    }

  rule = g_new0 (FaultRule, 1);
  rule->op = g_steal_pointer (&op);
  rule->err = EIO;
  rule->nth = 1;
  rule->count = 1;
  eq = strchr (fields[0], '=');
  rule->path_text = eq ? g_strndup (fields[0], eq - fields[0]) : g_strdup (fields[0]);
  rule->value = eq ? g_strdup (eq + 1) : NULL;
  rule->path = g_pattern_spec_new (rule->path_text);

  for (guint i = 1; fields[i] != NULL; i++)
    {
      const char *opt = fields[i];
      guint64 n;

      if (g_str_equal (opt, "drop"))
        rule->drop = TRUE;
      else if (g_str_has_prefix (opt, "errno=") && parse_errno (opt + 6, &rule->err))
        ;
      else if (g_str_has_prefix (opt, "nth=")
               && g_ascii_string_to_unsigned (opt + 4, 10, 1, G_MAXUINT, &n, NULL))
        rule->nth = (guint)n;
      else if (g_str_has_prefix (opt, "count=")
               && g_ascii_string_to_unsigned (opt + 6, 10, 0, G_MAXUINT, &n, NULL))
        rule->count = (guint)n;
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "Fault rule “%s”: bad option “%s” (errno=NAME, drop, nth=N, count=N)", text,
                       opt);
          fault_rule_free (rule);
          return NULL;
        }
    }
  if (rule->drop && !g_str_equal (rule->op, "write"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Fault rule “%s”: drop applies to writes only", text);
      fault_rule_free (rule);
      return NULL;
    }
  return rule;
}

static GPtrArray *
parse_faults (const char *spec, GError **error)
{
  g_autoptr (GPtrArray) rules = g_ptr_array_new_with_free_func ((GDestroyNotify)fault_rule_free);
  g_auto (GStrv) parts = g_strsplit (spec ? spec : "", ";", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      FaultRule *rule;

      g_strstrip (parts[i]);
      if (parts[i][0] == '\0')
        continue;
      rule = parse_rule (parts[i], error);
      if (rule == NULL)
        return NULL;
      g_ptr_array_add (rules, rule);
    }
  return g_steal_pointer (&rules);
}

/* Called with the lock held. */
static void
ensure_initialized (void)
{
  const char *env_root, *env_faults;
  g_autoptr (GError) error = NULL;

  if (initialized)
    return;
  initialized = TRUE;

  env_root = g_getenv ("SPIRIT_SYSFS_ROOT");
  if (env_root == NULL || env_root[0] == '\0')
    env_root = g_getenv ("UMOCKDEV_DIR");
  root = g_strdup (env_root ? env_root : "");
  /* "/" and "DIR/" mean the same as "" and "DIR" */
  while (root[0] != '\0' && root[strlen (root) - 1] == '/')
    root[strlen (root) - 1] = '\0';

  env_faults = g_getenv ("SPIRIT_SYSFS_FAIL");
  if (env_faults != NULL && env_faults[0] != '\0')
    {
      fault_rules = parse_faults (env_faults, &error);
      if (fault_rules == NULL)
        g_warning ("SPIRIT_SYSFS_FAIL ignored: %s", error->message);
    }
}

const char *
spirit_sysfs_get_root (void)
{
  const char *result;

  g_mutex_lock (&lock);
  ensure_initialized ();
  result = root;
  g_mutex_unlock (&lock);
  return result;
}

/* Tests only, before any other thread uses the helper: the old string is kept alive (leaked
 * into a list) so that a pointer returned by spirit_sysfs_get_root() never dangles. */
void
spirit_sysfs_set_root (const char *new_root)
{
  static GPtrArray *old_roots;

  g_mutex_lock (&lock);
  ensure_initialized ();
  if (old_roots == NULL)
    old_roots = g_ptr_array_new ();
  g_ptr_array_add (old_roots, root);
  root = g_strdup (new_root ? new_root : "");
  while (root[0] != '\0' && root[strlen (root) - 1] == '/')
    root[strlen (root) - 1] = '\0';
  g_mutex_unlock (&lock);
}

gboolean
spirit_sysfs_is_real (void)
{
  return spirit_sysfs_get_root ()[0] == '\0';
}

char *
spirit_sysfs_path (const char *path)
{
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);
  return g_strconcat (spirit_sysfs_get_root (), path, NULL);
}

gboolean
spirit_sysfs_set_faults (const char *spec, GError **error)
{
  g_autoptr (GPtrArray) rules = parse_faults (spec, error);

  if (rules == NULL)
    return FALSE;
  g_mutex_lock (&lock);
  ensure_initialized ();
  g_clear_pointer (&fault_rules, g_ptr_array_unref);
  if (rules->len > 0)
    fault_rules = g_steal_pointer (&rules);
  faults_hit = 0;
  g_mutex_unlock (&lock);
  return TRUE;
}

guint
spirit_sysfs_get_faults_hit (void)
{
  guint n;

  g_mutex_lock (&lock);
  n = faults_hit;
  g_mutex_unlock (&lock);
  return n;
}

/* Returns 0 when the operation should go ahead, an errno when it should fail, or -1 for a
 * dropped write. */
static int
check_fault (const char *op, const char *path, const char *value)
{
  g_autofree char *bare_value = NULL;
  int result = 0;

  if (value != NULL)
    {
      bare_value = g_strdup (value);
      g_strchomp (bare_value);
    }

  g_mutex_lock (&lock);
  ensure_initialized ();
  for (guint i = 0; fault_rules != NULL && i < fault_rules->len; i++)
    {
      FaultRule *rule = g_ptr_array_index (fault_rules, i);

      if (!g_str_equal (rule->op, op) || !g_pattern_spec_match_string (rule->path, path))
        continue;
      if (rule->value != NULL && g_strcmp0 (rule->value, bare_value) != 0)
        continue;
      rule->matched++;
      if (rule->matched < rule->nth
          || (rule->count > 0 && rule->matched >= rule->nth + rule->count))
        continue;
      faults_hit++;
      result = rule->drop ? -1 : rule->err;
      g_debug ("Injected fault: %s %s%s%s → %s", op, path, value ? " = " : "",
               bare_value ? bare_value : "", rule->drop ? "dropped" : g_strerror (rule->err));
      break;
    }
  g_mutex_unlock (&lock);
  return result;
}

static gboolean
set_errno_error (GError **error, int err, gboolean injected, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
set_errno_error (GError **error, int err, gboolean injected, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), "%s: %s (errno %d%s)", what,
               g_strerror (err), err, injected ? ", injected" : "");
  return FALSE;
}

gboolean
spirit_sysfs_read (const char *path, char **contents, GError **error)
{
  g_autofree char *full = spirit_sysfs_path (path);
  g_autoptr (GString) buffer = g_string_new (NULL);
  int fault = check_fault ("read", path, NULL);
  int fd;

  if (fault > 0)
    return set_errno_error (error, fault, TRUE, "Could not read %s", path);

  fd = open (full, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return set_errno_error (error, errno, FALSE, "Could not read %s", path);
  for (;;)
    {
      char chunk[4096];
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          return set_errno_error (error, saved, FALSE, "Could not read %s", path);
        }
      if (n == 0)
        break;
      g_string_append_len (buffer, chunk, n);
    }
  close (fd);
  g_strchomp (buffer->str);
  *contents = g_string_free (g_steal_pointer (&buffer), FALSE);
  return TRUE;
}

char *
spirit_sysfs_read_or_null (const char *path)
{
  char *contents = NULL;

  if (!spirit_sysfs_read (path, &contents, NULL))
    return NULL;
  return contents;
}

gboolean
spirit_sysfs_read_hex (const char *path, guint64 *value, GError **error)
{
  g_autofree char *text = NULL;
  const char *digits;

  if (!spirit_sysfs_read (path, &text, error))
    return FALSE;
  digits = g_str_has_prefix (text, "0x") ? text + 2 : text;
  if (!g_ascii_string_to_unsigned (digits, 16, 0, G_MAXUINT64, value, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s holds “%s”, not a hexadecimal number", path, text);
      return FALSE;
    }
  return TRUE;
}

gboolean
spirit_sysfs_write (const char *path, const char *value, GError **error)
{
  g_autofree char *full = spirit_sysfs_path (path);
  g_autofree char *shown = g_strdup (value);
  size_t len = strlen (value);
  int fault = check_fault ("write", path, value);
  ssize_t n;
  int fd;

  g_strchomp (shown);
  if (shown[0] == '\0')
    {
      /* what clears driver_override: shown as the kernel's users write it */
      g_free (shown);
      shown = g_strescape (value, NULL);
    }
  if (fault > 0)
    return set_errno_error (error, fault, TRUE, "Could not write “%s” to %s", shown, path);
  if (fault < 0)
    return TRUE; /* dropped: the caller's wait finds out */

  /* O_TRUNC so that a test tree reads back what was written; sysfs ignores it */
  fd = open (full, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0)
    return set_errno_error (error, errno, FALSE, "Could not write “%s” to %s", shown, path);
  do
    n = write (fd, value, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int saved = errno;

      close (fd);
      return set_errno_error (error, saved, FALSE, "Could not write “%s” to %s", shown, path);
    }
  if (close (fd) < 0 && errno != EINTR)
    return set_errno_error (error, errno, FALSE, "Could not write “%s” to %s", shown, path);
  if ((size_t)n != len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Could not write “%s” to %s: only %zd of %zu bytes taken", shown, path, n, len);
      return FALSE;
    }
  g_debug ("%s ← %s", path, shown);
  return TRUE;
}

char *
spirit_sysfs_read_link (const char *path, GError **error)
{
  g_autofree char *full = spirit_sysfs_path (path);
  int fault = check_fault ("readlink", path, NULL);
  char *target;

  if (fault > 0)
    {
      set_errno_error (error, fault, TRUE, "Could not read the link %s", path);
      return NULL;
    }
  for (size_t size = 256;; size *= 2)
    {
      ssize_t n;

      target = g_malloc (size);
      n = readlink (full, target, size);
      if (n < 0)
        {
          int saved = errno;

          g_free (target);
          set_errno_error (error, saved, FALSE, "Could not read the link %s", path);
          return NULL;
        }
      if ((size_t)n < size)
        {
          target[n] = '\0';
          return target;
        }
      g_free (target);
    }
}

char *
spirit_sysfs_link_basename (const char *path)
{
  g_autofree char *target = spirit_sysfs_read_link (path, NULL);

  return target ? g_path_get_basename (target) : NULL;
}

gboolean
spirit_sysfs_exists (const char *path)
{
  g_autofree char *full = spirit_sysfs_path (path);
  struct stat st;

  return lstat (full, &st) == 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

static gboolean
entry_is_dir (DIR *d, struct dirent *entry)
{
  struct stat st;

  if (entry->d_type != DT_UNKNOWN)
    return entry->d_type == DT_DIR;
  return fstatat (dirfd (d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

static GPtrArray *
list_entries (const char *dir, gboolean only_dirs, GError **error)
{
  g_autofree char *full = spirit_sysfs_path (dir);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int fault = check_fault ("list", dir, NULL);
  struct dirent *entry;
  DIR *d;

  if (fault > 0)
    {
      set_errno_error (error, fault, TRUE, "Could not list %s", dir);
      return NULL;
    }
  d = opendir (full);
  if (d == NULL)
    {
      set_errno_error (error, errno, FALSE, "Could not list %s", dir);
      return NULL;
    }
  while ((entry = readdir (d)) != NULL)
    if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, "..")
        && (!only_dirs || entry_is_dir (d, entry)))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  closedir (d);
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

GPtrArray *
spirit_sysfs_list (const char *dir, GError **error)
{
  return list_entries (dir, FALSE, error);
}

/* Only the real directories (no links, no attributes), from readdir's d_type where the file
 * system gives it (sysfs does): no stat per entry. */
GPtrArray *
spirit_sysfs_list_dirs (const char *dir, GError **error)
{
  return list_entries (dir, TRUE, error);
}
