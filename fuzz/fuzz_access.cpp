// libFuzzer target: a root type id, a relocation kind and an access string through parse_spec, match_spec
// against every type of a target BTF, calc_relo and patch_insn (input layout: run_access).
#include "relocate_drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const btfkit::testing::relocation_env env{BTFKIT_FUZZ_TARGETS_DIR};
    static btfkit::core_spec specs[2];
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    btfkit::testing::walker w{btfkit::testing::abort_on_violation{}, {in}};
    btfkit::testing::run_access(w, in, env, specs);
    return 0;
}
