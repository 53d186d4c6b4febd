// libFuzzer target: split BTF over a base; the first byte picks the base (see run_btf_split).
#include "drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    (void)btfkit::testing::run_btf_split(btfkit::testing::abort_on_violation{}, in);
    return 0;
}
