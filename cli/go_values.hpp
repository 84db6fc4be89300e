// How runc 1.1 reads the values of `update` and `exec` flags that are strings on the command
// line: Go's strconv functions and docker/go-units' RAMInBytes, with their error texts, which
// runc puts in its messages ("invalid value for memory: invalid size: '64X'").
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace mkrun::cli {

// strconv.ParseUint(text, 10, 64).
std::expected<uint64_t, std::string> parse_go_uint64(std::string_view text);
// strconv.ParseInt(text, 10, 64).
std::expected<int64_t, std::string> parse_go_int64(std::string_view text);
// strconv.Atoi (a 64-bit int): "+5" and "-5" are numbers.
std::expected<int64_t, std::string> parse_go_atoi(std::string_view text);

// go-units v0.4.0 RAMInBytes, which runc 1.1 vendors: a decimal number, an optional space, an
// optional unit (k, m, g, t, p; binary multiples; any case), an optional "i" and "b":
// "64M", "64MiB", "1.5g", "512". Errors: "invalid size: '64X'", or strconv.ParseFloat's
// for "1.2.3", which the pattern lets through.
std::expected<int64_t, std::string> ram_in_bytes(std::string_view text);

}  // namespace mkrun::cli
