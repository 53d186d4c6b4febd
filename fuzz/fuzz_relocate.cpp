// libFuzzer target: arbitrary bytes as a BPF object, CO-RE-relocated against real target BTFs (fuzz/targets/)
// or against its own .BTF; every report, the summary and the patched image are checked.
#include "relocate_drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const btfkit::testing::relocation_env env{BTFKIT_FUZZ_TARGETS_DIR};
    static btfkit::testing::relocation_work work;  // reused across inputs, as a loader reuses its scratch
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    btfkit::testing::walker w{btfkit::testing::abort_on_violation{}, {in}};
    btfkit::testing::run_relocate(w, in, env, work);
    return 0;
}
