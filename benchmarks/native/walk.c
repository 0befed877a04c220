// The limit for walks: every entry below the directories named on the command
// line read with getdents64(2) and lstat'ed with fstatat(2), nothing more.
// Prints the number of entries, so that runs can be checked against each other.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long long entries;

static void die(const char *what, const char *name) {
  perror(name);
  fprintf(stderr, "walk: %s failed\n", what);
  exit(1);
}

static void walk(int fd) {
  char buf[32 * 1024];
  for (;;) {
    ssize_t n = getdents64(fd, buf, sizeof(buf));
    if (n < 0) die("getdents64", "");
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat", name);
      entries++;
      if (!S_ISDIR(st.st_mode)) continue;
      int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) die("openat", name);
      walk(child);
      close(child);
    }
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("open", argv[i]);
    walk(fd);
    close(fd);
  }
  printf("%llu\n", entries);
  return 0;
}
