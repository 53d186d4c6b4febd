// libFuzzer target: a BTF that parses (base, or split over the synthetic base) is rebuilt through
// btf_builder (typed adds, copy_type, its string table kept, the other byte order) and must parse
// back to the same types; a canonical input comes back byte for byte.
#include "write_drivers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const btfkit::byte_span in{reinterpret_cast<const char*>(data), size};
    btfkit::testing::run_btf_write(btfkit::testing::abort_on_violation{}, in);
    return 0;
}
