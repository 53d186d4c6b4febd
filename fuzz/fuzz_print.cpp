// libFuzzer target: format_value over fuzzed BTF and fuzzed bytes (print_driver.hpp).
#include <cstdio>
#include <cstdlib>

#include "print_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string why;
    if (!btfkit::testing::run_print({reinterpret_cast<const char*>(data), size}, why)) {
        std::fprintf(stderr, "fuzz_print: %s\n", why.c_str());
        std::abort();
    }
    return 0;
}
