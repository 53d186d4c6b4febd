// libFuzzer target: arbitrary bytes as an ELF file and as a BPF object (.BTF, .BTF.ext, programs).
#include "drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
#ifdef BTFKIT_FUZZ_SKIP_KNOWN_BUGS
    if (btfkit::testing::hits_known_bug(in)) return 0;
#endif
    btfkit::testing::walker w{btfkit::testing::abort_on_violation{}, {in}};
    btfkit::testing::run_bpf_object(w, in);
    w.keep();
    return 0;
}
