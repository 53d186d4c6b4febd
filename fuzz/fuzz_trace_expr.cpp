// libFuzzer target: ksnoop expressions resolved over real and fuzzed BTF, failures explained
// (trace_driver.hpp).
#include "trace_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const btfkit::testing::trace_env env{BTFKIT_FUZZ_TARGETS_DIR};
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    btfkit::testing::walker w{btfkit::testing::abort_on_violation{}, {in}};
    btfkit::testing::run_trace_expr(w, in, env);
    return 0;
}
