// The pure headers without exceptions or RTTI, as an embedded build uses them: this file is compiled
// with -fno-exceptions -fno-rtti, builds a BTF, parses it, and looks a type up through every target
// source. It exits non-zero on a wrong answer.
#include <cstdio>
#include <vector>

#include "btfkit.hpp"

namespace bk = btfkit;

namespace {

constexpr bool parses_in_constant_evaluation() {
    bk::btf_builder b(bk::byte_order::big);
    const std::uint32_t i = b.add_int("int", 4, bk::int_signed);
    b.add_struct("task", 8, {{"pid", i, 0}, {"tgid", i, 32}});
    auto bytes = b.encode();
    if (!bytes) return false;
    auto t = bk::btf::parse(bk::byte_span(bytes->data(), bytes->size()));
    return t && t->type_count() == 3 && t->kind_of(2) == bk::kind::struct_;
}
static_assert(parses_in_constant_evaluation());

template <class Source>
std::size_t candidates(Source& src, const bk::btf& local, std::uint32_t id) {
    std::vector<bk::candidate> out;
    if (!bk::collect_candidates(src, local[id], bk::essential_name(local[id].name()), bk::relocate_options{}, out)) return 0;
    return out.size();
}

}  // namespace

int main() {
    bk::btf_builder target(bk::byte_order::little);
    const std::uint32_t i = target.add_int("int", 4, bk::int_signed);
    target.add_struct("task", 8, {{"pid", i, 0}, {"tgid", i, 32}});
    target.add_fwd("task", false);
    auto tbytes = target.encode();
    bk::btf_builder local(bk::byte_order::little);
    const std::uint32_t fwd = local.add_fwd("task___v2", false);
    auto lbytes = local.encode();
    if (!tbytes || !lbytes) return 1;
    auto t = bk::btf::parse(bk::byte_span(tbytes->data(), tbytes->size()));
    auto l = bk::btf::parse(bk::byte_span(lbytes->data(), lbytes->size()));
    if (!t || !l) return 2;
    bk::single_target single(*t);
    bk::indexed_target indexed(*t);
    bk::target_set set(*t);
    // The local FWD finds the complete struct only (the FWD extension), through every source.
    const std::size_t n[] = {candidates(single, *l, fwd), candidates(indexed, *l, fwd), candidates(set, *l, fwd)};
    for (const std::size_t c : n) {
        if (c != 1) {
            std::fprintf(stderr, "no_exceptions: %zu candidates, expected 1\n", c);
            return 3;
        }
    }
    auto bad = bk::btf::parse(bk::byte_span(tbytes->data(), 10));
    if (bad || bad.error().message().empty()) return 4;
    std::printf("no_exceptions: ok\n");
    return 0;
}
