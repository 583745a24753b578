/* bench-spawn-floor.c: what starting a program and waiting for it costs in a guest, with no agent.
 *
 *   bench-spawn-floor ITERATIONS PROGRAM [ARG...]
 *
 * Runs PROGRAM ITERATIONS times, one after the other, each with posix_spawn (vfork + exec, the
 * cheapest way there is) and waitpid, and prints the median and the minimum time of one run in
 * milliseconds: "median 8.123 min 6.001". bench-agent.py runs it inside the benchmark guest. Any
 * agent's round trip for the same program is at least this plus one trip through the channel,
 * so it bounds how far ahead of qemu-guest-agent an agent can be in that guest.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double
now_ms (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
compare (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  int iterations = argc > 2 ? atoi (argv[1]) : 0;
  double *times;

  if (iterations < 1)
    {
      fprintf (stderr, "usage: %s ITERATIONS PROGRAM [ARG...]\n", argv[0]);
      return 2;
    }
  times = calloc (iterations, sizeof *times);
  if (times == NULL)
    return 1;
  for (int i = 0; i < iterations; i++)
    {
      double start = now_ms ();
      pid_t pid;
      int status, rc = posix_spawn (&pid, argv[2], NULL, NULL, argv + 2, environ);

      if (rc != 0)
        {
          fprintf (stderr, "%s: %s\n", argv[2], strerror (rc));
          return 1;
        }
      if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
        {
          fprintf (stderr, "%s did not exit normally\n", argv[2]);
          return 1;
        }
      times[i] = now_ms () - start;
    }
  qsort (times, iterations, sizeof *times, compare);
  printf ("median %.3f min %.3f\n", times[iterations / 2], times[0]);
  free (times);
  return 0;
}
