// libFuzzer target: the glob matcher (index/name_glob.hpp) against itself and glibc's fnmatch; input
// and invariants: glob_driver.hpp.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "glob_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string what = btfkit::testing::check_glob(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!what.empty()) {
        std::fprintf(stderr, "btfkit invariant violated: %s\n", what.c_str());
        std::abort();
    }
    return 0;
}
