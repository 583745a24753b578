/* bench-relay.c: the least any agent must do to stream a command's output, with no agent logic.
 *
 *   bench-relay PORT PROGRAM [ARG...]
 *
 * Starts PROGRAM with its stdout on a pipe (enlarged to 1 MiB, as spirit-agent's are), and copies
 * that pipe into PORT (a virtio-serial port) with plain read() and write() of up to 256 KiB: no
 * framing, no event loop, no window. Exits with PROGRAM's exit code. bench-agent.py runs it inside
 * the benchmark guest: an agent reads its command's output from a pipe, so this relay, not the raw
 * port written by the command itself, is what an agent's throughput can be held to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIPE_SIZE (1024 * 1024)
#define CHUNK (256 * 1024)

extern char **environ;

static int
write_all (int fd, const char *p, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      p += n;
      len -= n;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  posix_spawn_file_actions_t actions;
  static char buf[CHUNK];
  int fds[2], port, status, rc;
  pid_t pid;
  ssize_t n;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s PORT PROGRAM [ARG...]\n", argv[0]);
      return 2;
    }
  port = open (argv[1], O_WRONLY | O_CLOEXEC);
  if (port < 0 || pipe2 (fds, O_CLOEXEC) != 0)
    {
      perror (argv[1]);
      return 1;
    }
  fcntl (fds[0], F_SETPIPE_SZ, PIPE_SIZE);
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], 1);
  rc = posix_spawnp (&pid, argv[2], &actions, NULL, argv + 2, environ);
  posix_spawn_file_actions_destroy (&actions);
  close (fds[1]);
  if (rc != 0)
    {
      fprintf (stderr, "%s: %s\n", argv[2], strerror (rc));
      return 1;
    }
  while ((n = read (fds[0], buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || write_all (port, buf, n) != 0)
        {
          perror ("relay");
          return 1;
        }
    }
  if (waitpid (pid, &status, 0) != pid)
    return 1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}
