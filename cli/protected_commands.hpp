// The commands that start processes inside a container, and so run from a protected image of
// mkrun (mkrun/runtime/protected_image.hpp: the CVE-2019-5736 class). mkrun's command line and
// the launcher (cli/launcher/) both decide with this one function; the launcher is built
// without any library, so this header uses none and compares characters itself.
#pragma once

#include <cstddef>

namespace mkrun::cli {

constexpr bool same_word(const char* word, std::size_t length, const char* command) {
  std::size_t i = 0;
  for (; i < length && command[i] != '\0'; ++i) {
    if (word[i] != command[i]) return false;
  }
  return i == length && command[i] == '\0';
}

// Whether the word (LENGTH characters) names such a command.
constexpr bool names_protected_command(const char* word, std::size_t length) {
  return same_word(word, length, "create") || same_word(word, length, "run") ||
         same_word(word, length, "exec");
}

// The same for a NUL-terminated word (an argv entry).
constexpr bool names_protected_command(const char* word) {
  std::size_t length = 0;
  while (word[length] != '\0') ++length;
  return names_protected_command(word, length);
}

static_assert(names_protected_command("run") && !names_protected_command("runs") &&
              !names_protected_command("ru") && !names_protected_command(""));

}  // namespace mkrun::cli
