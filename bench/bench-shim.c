/* bench-shim.c: an LD_PRELOAD helper for bench/bench-listing.py. Benchmark code only: it is never
 * built by meson nor loaded by the test suite. run-listing.sh compiles it into its scratch
 * directory with `cc -O2 -Wall -shared -fPIC -o bench-shim.so bench-shim.c -ldl`.
 *
 * It does two independent things, each switched on by an environment variable:
 *
 * 1. BENCH_URI_FROM / BENCH_URI_TO: virConnectOpen*() of exactly BENCH_URI_FROM opens
 *    BENCH_URI_TO instead. libvirt-dbus --session has its connection URIs built in
 *    (/org/libvirt/Test is always test:///default); this points it at the benchmark's
 *    test:///…xml so that libvirt-dbus serves the same 1000 domains as spiritd and virsh.
 *
 * 2. BENCH_EVENT_LOG / BENCH_CTL: timestamps libvirt lifecycle events inside spiritd, and lets the
 *    benchmark cause such events on spiritd's own libvirt connection.
 *    - The first virConnectDomainEventRegisterAny(VIR_DOMAIN_EVENT_ID_LIFECYCLE) is wrapped: a
 *      trampoline appends "EVT <CLOCK_MONOTONIC ns> <uuid> <event> <detail>" to BENCH_EVENT_LOG,
 *      then calls spiritd's own callback. The line is written when libvirt delivers the event to
 *      spiritd, before spiritd does anything with it.
 *    - A thread reads commands "suspend UUID" / "resume UUID" from the FIFO BENCH_CTL and runs
 *      virDomainSuspend/virDomainResume on that same connection (the test driver keeps its state
 *      per connection, so no other process can change what spiritd sees). It appends
 *      "CMD <ns before the call> <ns after it> <rc> <uuid>" to BENCH_EVENT_LOG.
 *    The test driver queues the event during the call and delivers it from spiritd's event loop
 *    (its main thread), exactly as it would deliver an event caused by anyone else.
 *
 * CLOCK_MONOTONIC is shared by all processes of the machine; Python's time.monotonic_ns() reads the
 * same clock, so the benchmark client can subtract these timestamps from its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

/* --- 1. URI redirection --------------------------------------------------------------------- */

static const char *
redirect (const char *name)
{
  const char *from = getenv ("BENCH_URI_FROM");
  const char *to = getenv ("BENCH_URI_TO");

  if (name != NULL && from != NULL && to != NULL && strcmp (name, from) == 0)
    return to;
  return name;
}

virConnectPtr
virConnectOpen (const char *name)
{
  static virConnectPtr (*real) (const char *);

  if (real == NULL)
    real = dlsym (RTLD_NEXT, "virConnectOpen");
  return real (redirect (name));
}

virConnectPtr
virConnectOpenReadOnly (const char *name)
{
  static virConnectPtr (*real) (const char *);

  if (real == NULL)
    real = dlsym (RTLD_NEXT, "virConnectOpenReadOnly");
  return real (redirect (name));
}

virConnectPtr
virConnectOpenAuth (const char *name, virConnectAuthPtr auth, unsigned int flags)
{
  static virConnectPtr (*real) (const char *, virConnectAuthPtr, unsigned int);

  if (real == NULL)
    real = dlsym (RTLD_NEXT, "virConnectOpenAuth");
  return real (redirect (name), auth, flags);
}

/* --- 2. event timestamps and event injection -------------------------------------------------- */

static virConnectDomainEventCallback real_lifecycle_cb;
static virConnectPtr watched_conn;
static int log_fd = -1;

static long long
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
log_line (const char *line)
{
  /* One write(2) per line on an O_APPEND descriptor: lines never interleave. */
  if (log_fd >= 0 && write (log_fd, line, strlen (line)) < 0)
    perror ("bench-shim: write");
}

static int
lifecycle_trampoline (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  long long t = now_ns ();
  char uuid[VIR_UUID_STRING_BUFLEN] = "?";
  char line[160];

  virDomainGetUUIDString (dom, uuid);
  snprintf (line, sizeof line, "EVT %lld %s %d %d\n", t, uuid, event, detail);
  log_line (line);
  return real_lifecycle_cb (conn, dom, event, detail, opaque);
}

static void *
control_thread (void *data)
{
  const char *path = data;

  for (;;)
    {
      /* Reopened after each writer closes it; blocks until the benchmark opens it to write. */
      FILE *ctl = fopen (path, "r");
      char cmd[32], uuid[64], line[200];

      if (ctl == NULL)
        {
          perror ("bench-shim: open control FIFO");
          return NULL;
        }
      while (fscanf (ctl, "%31s %63s", cmd, uuid) == 2)
        {
          virDomainPtr dom = virDomainLookupByUUIDString (watched_conn, uuid);
          long long t0, t1;
          int rc = -1;

          t0 = now_ns ();
          if (dom != NULL && strcmp (cmd, "suspend") == 0)
            rc = virDomainSuspend (dom);
          else if (dom != NULL && strcmp (cmd, "resume") == 0)
            rc = virDomainResume (dom);
          t1 = now_ns ();
          if (dom != NULL)
            virDomainFree (dom);
          snprintf (line, sizeof line, "CMD %lld %lld %d %s\n", t0, t1, rc, uuid);
          log_line (line);
        }
      fclose (ctl);
    }
  return NULL;
}

int
virConnectDomainEventRegisterAny (virConnectPtr conn,
                                  virDomainPtr dom,
                                  int eventID,
                                  virConnectDomainEventGenericCallback cb,
                                  void *opaque,
                                  virFreeCallback freecb)
{
  static int (*real) (virConnectPtr, virDomainPtr, int, virConnectDomainEventGenericCallback, void *,
                      virFreeCallback);
  const char *log_path = getenv ("BENCH_EVENT_LOG");
  const char *ctl_path = getenv ("BENCH_CTL");

  if (real == NULL)
    real = dlsym (RTLD_NEXT, "virConnectDomainEventRegisterAny");
  if (log_path == NULL || ctl_path == NULL || eventID != VIR_DOMAIN_EVENT_ID_LIFECYCLE ||
      dom != NULL || real_lifecycle_cb != NULL)
    return real (conn, dom, eventID, cb, opaque, freecb);

  /* spiritd's process-wide lifecycle subscription: wrap it, once. */
  log_fd = open (log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  /* libvirt passes every callback as the generic type; LIFECYCLE ones really are this one. */
  real_lifecycle_cb = (virConnectDomainEventCallback) (void (*) (void)) cb;
  watched_conn = conn;
  virConnectRef (conn);
  {
    pthread_t thread;
    pthread_create (&thread, NULL, control_thread, strdup (ctl_path));
    pthread_detach (thread);
  }
  /* The trampoline and freecb get spiritd's own opaque, as they would without the wrapper. */
  return real (conn, NULL, eventID, VIR_DOMAIN_EVENT_CALLBACK (lifecycle_trampoline), opaque, freecb);
}
