// Runs one baseline program and reports, as one JSON line on stdout, the
// seconds from fork to exit, the peak RSS of the program and its children
// (wait4's rusage), and how many bytes it wrote to its stdout, which is a pipe
// read to the end here (never /dev/null: GNU tar skips reading files then).
//
//   timeit [-C DIR] -- PROGRAM ARGS...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
  fprintf(stderr, "usage: timeit [-C DIR] -- PROGRAM ARGS...\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "+C:")) != -1) {
    if (opt == 'C') dir = optarg;
    else usage();
  }
  if (optind >= argc) usage();

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return perror("pipe2"), 1;
  double start = now();
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), 1;
  if (pid == 0) {
    if (dir != NULL && chdir(dir) != 0) _exit(126);
    if (dup2(out[1], 1) < 0) _exit(126);
    execvp(argv[optind], argv + optind);
    _exit(127);
  }
  close(out[1]);
  static char buf[128 * 1024];
  unsigned long long bytes = 0;
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return perror("read"), 1;
    if (n == 0) break;
    bytes += (unsigned long long)n;
  }
  int status;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) return perror("wait4"), 1;
  double seconds = now() - start;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("{\"seconds\":%.9f,\"maxRssKiB\":%ld,\"stdoutBytes\":%llu,\"exitCode\":%d}\n", seconds,
         usage.ru_maxrss, bytes, code);
  return 0;
}
