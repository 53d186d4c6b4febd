// fuzz_glob's driver (also replayed by tests/test_symbols.cpp): a pattern and a name, split at the
// input's first NUL (no NUL: the pattern against itself). The matcher must agree with itself
// (glob_matches, name_glob), every match must start with the literal prefix, a plain pattern must match
// itself only, and on a well-formed pattern glibc's fnmatch(pattern, name, 0) must say the same.
#pragma once

#include <fnmatch.h>

#include <string>
#include <string_view>

#include "btfkit/index/name_glob.hpp"

namespace btfkit::testing {

// What broke, or "" if nothing did.
[[nodiscard]] inline std::string check_glob(std::string_view input) {
    const std::size_t nul = input.find('\0');
    const std::string_view pattern = input.substr(0, nul);
    const std::string_view name = nul == std::string_view::npos ? pattern : input.substr(nul + 1);
    const name_glob g(pattern);
    const bool matches = glob_matches(pattern, name);
    if (g.matches(name) != matches) return "name_glob::matches differs from glob_matches";
    if (matches && !name.starts_with(g.literal_prefix())) return "a match does not start with the literal prefix";
    if (g.is_literal() && matches != (name == pattern)) return "a plain pattern matches another name than itself";
    if (g.well_formed() && name.find('\0') == std::string_view::npos) {
        const std::string p(pattern), n(name);
        if ((::fnmatch(p.c_str(), n.c_str(), 0) == 0) != matches) return matches ? "matches where fnmatch does not" : "fnmatch matches where glob does not";
    }
    return {};
}

}  // namespace btfkit::testing
