// format_value against the running kernel's bpf_snprintf_btf(): thousands of (vmlinux type, bytes, flags,
// buffer size) cases. kernel_compat output must be the kernel's byte for byte (pointer hashes compared by
// shape); default output may differ only on types where docs/print.md says it does.
#include <doctest/doctest.h>

#include "running_vmlinux.hpp"

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "btfkit/show/format_value.hpp"
#include "print_oracle.hpp"

namespace {

namespace bk = btfkit;

// Hashed pointers print as 0x00000000 and 8 hex digits of a secret hash: keep the shape, drop the digits.
std::string hash_shape(std::string s) {
    constexpr std::string_view lead = "0x00000000";
    for (std::size_t i = s.find(lead); i != std::string::npos; i = s.find(lead, i + 1)) {
        for (std::size_t k = i + lead.size(); k < s.size() && k < i + lead.size() + 8; ++k) {
            const char c = s[k];
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) s[k] = 'h';
        }
    }
    return s;
}

// Whether showing `id` by value reaches a case docs/print.md lists as printed differently by default:
// arrays of pointers or of arrays, enums whose size is not what the kernel reads, const/volatile labels.
bool has_documented_difference(const bk::btf& b, std::uint32_t id, int depth = 0) {
    if (depth > 70) return false;
    id = bk::detail::skip_chain(b, id, true);
    if (id == 0 || id == bk::detail::no_type) return false;
    const bk::type t = b[id];
    switch (t.kind()) {
    case bk::kind::array: {
        const std::uint32_t e = bk::detail::skip_chain(b, t.array().type, true);
        const bk::kind ek = e == bk::detail::no_type ? bk::kind::unknown : b.kind_of(e);
        if (ek == bk::kind::ptr || ek == bk::kind::array) return true;
        return has_documented_difference(b, t.array().type, depth + 1);
    }
    case bk::kind::struct_: case bk::kind::union_:
        for (const bk::member m : t.members())
            if (has_documented_difference(b, m.type, depth + 1)) return true;
        return false;
    case bk::kind::enum_: return t.size() != 4;
    case bk::kind::enum64: return t.size() != 8;
    default: return false;
    }
}

struct case_counts {
    int total = 0, raw_exact = 0, hashed_shape = 0, truncated = 0, default_same = 0, default_documented = 0;
};

// The kernel printer (the oracle program loaded), or null with the reason the test skips.
std::unique_ptr<print_oracle::kernel_printer> open_kernel_oracle() {
    const std::string object = BTFKIT_PRINT_ORACLE;
    std::string why;
    if (object.empty() || !std::filesystem::exists(object)) {
        why = "the oracle program is not built (BPF clang missing)";
    } else if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
        why = "the running kernel has no BTF";
    } else if (auto kernel = print_oracle::kernel_printer::open(object, why)) {
        return kernel;
    } else {
        why = "cannot run the oracle here: " + why;
    }
    MESSAGE("skipping: " << why);
    return {};
}

}  // namespace

TEST_CASE("print: format_value matches the running kernel's bpf_snprintf_btf") {
    auto kernel = open_kernel_oracle();
    if (!kernel) return;
    std::string vm_why;
    const auto vm = bk::testing::open_running_vmlinux(vm_why);
    REQUIRE_MESSAGE(vm != nullptr, vm_why);
    const bk::btf& b = *vm->types;

    // Every type format_value accepts and that fits the oracle's input; the refused ones never reach
    // the kernel (VAR, DATASEC and void chains crash it).
    std::vector<std::uint32_t> all, composite;
    int refused = 0;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        std::uint64_t budget = bk::show_default_steps;
        if (!bk::detail::check_printable(b, id, budget)) {
            ++refused;
            const bk::kind k = b.kind_of(id);
            CHECK((k == bk::kind::var || k == bk::kind::datasec || bk::detail::is_typedef_or_modifier(k)));
            continue;
        }
        std::uint32_t size = 0;
        if (bk::detail::kernel_size(b, id, size) && size > print_oracle::in_size) continue;
        all.push_back(id);
        if (b[id].is_composite()) composite.push_back(id);
    }
    REQUIRE(composite.size() > 1000);

    const char* env_cases = std::getenv("BTFKIT_PRINT_CASES");
    const int cases = env_cases ? std::atoi(env_cases) : 20000;
    std::mt19937_64 rng(0x5eed'b7f0);
    case_counts n;
    std::string bytes(print_oracle::in_size, '\0');
    const bk::byte_span blob = b.data();
    std::vector<char> ours(print_oracle::out_size);
    for (int c = 0; c < cases; ++c) {
        const auto& pool = rng() % 2 ? composite : all;
        const std::uint32_t id = pool[rng() % pool.size()];
        std::uint32_t size = 0;
        if (!bk::detail::kernel_size(b, id, size)) size = 16;
        // Bytes: zeros, random, sparse, text-like, or a slice of vmlinux's own BTF as real-world data.
        const unsigned mode = static_cast<unsigned>(rng() % 5);
        for (std::size_t i = 0; i < size; ++i) {
            const auto r = rng();
            char v = 0;
            switch (mode) {
            case 0: v = 0; break;
            case 1: v = static_cast<char>(r); break;
            case 2: v = r % 10 == 0 ? static_cast<char>(r >> 8) : 0; break;
            case 3: v = r % 6 == 0 ? 0 : static_cast<char>(0x20 + (r >> 8) % 0x60); break;
            default: v = blob[(static_cast<std::size_t>(c) * 7919u + i) % blob.size()]; break;
            }
            bytes[i] = v;
        }
        const auto flags = static_cast<std::uint32_t>(rng() % 16);
        std::uint32_t str_size = static_cast<std::uint32_t>(print_oracle::out_size);
        const bool small = rng() % 8 == 0;
        const std::string_view value(bytes.data(), size);

        const print_oracle::answer k = kernel->print(id, value, flags, str_size);
        REQUIRE_MESSAGE(k.ret >= 0, "kernel failed on type " << id << ": " << k.ret << " " << k.text);
        if (small) {
            str_size = static_cast<std::uint32_t>(1 + rng() % (static_cast<std::uint64_t>(k.ret) + 8));
        }
        const print_oracle::answer kt = small ? kernel->print(id, value, flags, str_size) : k;

        bk::bounded_buffer compat(ours.data(), str_size);
        const auto r = bk::format_value(b, id, bk::byte_span(value.data(), value.size()), flags | bk::show_kernel_compat, compat);
        REQUIRE_MESSAGE(r.has_value(), "type " << id << ": " << r.error().message());
        ++n.total;
        if (small) ++n.truncated;
        INFO("type ", id, " flags ", flags, " mode ", mode, " str_size ", str_size);
        CHECK(static_cast<long>(*r) == kt.ret);
        if (flags & bk::show_ptr_raw) {
            CHECK(std::string(compat.text()) == kt.text);
            ++n.raw_exact;
        } else {
            CHECK(hash_shape(std::string(compat.text())) == hash_shape(kt.text));
            ++n.hashed_shape;
        }

        std::string plain;
        const auto d = bk::format_value(b, id, bk::byte_span(value.data(), value.size()), flags | bk::show_ptr_raw, plain);
        REQUIRE(d.has_value());
        // The kernel's text is cut at the oracle's buffer; compare what it kept.
        if (static_cast<std::size_t>(k.ret) >= print_oracle::out_size) plain.resize(print_oracle::out_size - 1);
        if (flags & bk::show_ptr_raw) {
            if (plain == k.text) {
                ++n.default_same;
            } else {
                CHECK_MESSAGE(has_documented_difference(b, id), "default output differs from the kernel's on type " << id);
                ++n.default_documented;
            }
        }
    }
    MESSAGE("kernel oracle: " << n.total << " cases (" << n.raw_exact << " raw-pointer exact, " << n.hashed_shape
                              << " hashed by shape, " << n.truncated << " with a short buffer); default mode: "
                              << n.default_same << " identical, " << n.default_documented
                              << " on documented differences; " << refused << " types refused");
}

TEST_CASE("print: every printable vmlinux type once, against the kernel") {
    auto kernel = open_kernel_oracle();
    if (!kernel) return;
    std::string vm_why;
    const auto vm = bk::testing::open_running_vmlinux(vm_why);
    REQUIRE_MESSAGE(vm != nullptr, vm_why);
    const bk::btf& b = *vm->types;
    std::mt19937_64 rng(0x0e7e'47f0);
    std::string bytes(print_oracle::in_size, '\0');
    std::vector<char> ours(print_oracle::out_size);
    int per_kind[bk::kind_max + 1] = {};
    int total = 0, same = 0;
    for (std::uint32_t id = 1; id < b.type_count(); ++id) {
        std::uint64_t budget = bk::show_default_steps;
        if (!bk::detail::check_printable(b, id, budget)) continue;
        std::uint32_t size = 0;
        if (bk::detail::kernel_size(b, id, size) && size > print_oracle::in_size) continue;
        if (!bk::detail::kernel_size(b, id, size)) size = 16;
        for (std::size_t i = 0; i < size; ++i) {
            const auto r = rng();
            bytes[i] = r % 3 == 0 ? static_cast<char>(r >> 8) : 0;
        }
        // Raw pointers, so that every byte compares; the other flags vary.
        const std::uint32_t flags = bk::show_ptr_raw | static_cast<std::uint32_t>(rng() % 16);
        const std::string_view value(bytes.data(), size);
        const print_oracle::answer k = kernel->print(id, value, flags, static_cast<std::uint32_t>(print_oracle::out_size));
        bk::bounded_buffer compat(ours.data(), ours.size());
        const auto r = bk::format_value(b, id, bk::byte_span(value.data(), value.size()), flags | bk::show_kernel_compat, compat);
        REQUIRE(r.has_value());
        ++total;
        ++per_kind[static_cast<std::uint8_t>(b.kind_of(id))];
        if (static_cast<long>(*r) == k.ret && compat.text() == k.text) ++same;
        else FAIL_CHECK("type " << id << " flags " << flags << ": differs from the kernel");
    }
    std::string kinds;
    for (int k = 1; k <= bk::kind_max; ++k) {
        if (per_kind[k] == 0) continue;
        kinds += ' ';
        kinds += bk::kind_name(static_cast<bk::kind>(k));
        kinds += '=' + std::to_string(per_kind[k]);
    }
    MESSAGE("every type: " << same << " of " << total << " identical to the kernel;" << kinds);
}
