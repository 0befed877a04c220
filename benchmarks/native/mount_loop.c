// The limit for get+put on the bind-mount path: mount(2) with MS_BIND and
// umount2(2) with UMOUNT_NOFOLLOW, as the driver calls them, COUNT times.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mount_loop SOURCE TARGET COUNT\n");
    return 2;
  }
  long count = strtol(argv[3], NULL, 10);
  for (long i = 0; i < count; i++) {
    if (mount(argv[1], argv[2], NULL, MS_BIND, NULL) != 0) {
      perror("mount");
      return 1;
    }
    if (umount2(argv[2], UMOUNT_NOFOLLOW) != 0) {
      perror("umount2");
      return 1;
    }
  }
  return 0;
}
