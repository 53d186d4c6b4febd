// libFuzzer target: arbitrary bytes as raw BTF; a parsed blob has every type walked and resolved.
#include "drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    btfkit::testing::walker w{btfkit::testing::abort_on_violation{}, {in}};
    btfkit::testing::run_btf(w, in);
    w.keep();
    return 0;
}
