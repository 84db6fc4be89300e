/*
 * A test-only ihkconfig: the two read-only queries of the real one's grammar, over the
 * emulated node ($MKRUN_IHK_EMULATOR_STATE).
 *   ihkconfig <dev#> get buildid        prints the build-id
 *   ihkconfig <dev#> get os_instances   prints "0,2"
 * Like the real tool it exits with the raw return value (0 on success).
 */
#include <stdio.h>
#include <string.h>

#include "emu_state.h"

int main(int argc, char** argv) {
  if (argc != 4 || strcmp(argv[2], "get") != 0) {
    fprintf(stderr, "usage: ihkconfig <dev#> get buildid|os_instances\n");
    return 1;
  }
  const char* path = emu_state_path();
  struct emu_state st;
  if (path == NULL || emu_load(path, &st) < 0 || !st.loaded) {
    fprintf(stderr, "ihkconfig: /dev/mcd%s: No such file or directory\n", argv[1]);
    return 255;
  }
  if (strcmp(argv[3], "buildid") == 0) {
    printf("%s\n", st.build_id);
    return 0;
  }
  if (strcmp(argv[3], "os_instances") == 0) {
    const char* separator = "";
    for (int os = 0; os < EMU_MAX_OS; ++os) {
      if (!st.os[os].exists) continue;
      printf("%s%d", separator, os);
      separator = ",";
    }
    printf("\n");
    return 0;
  }
  return 0; /* the real ihkconfig also exits 0 on an unknown action */
}
