// One driver per fuzz target: what the target does with its input. The targets call these with a
// walker that aborts; tests/test_regression.cpp replays the regression corpus through all of them.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "bases.hpp"
#include "btfkit.hpp"
#include "walk.hpp"

namespace btfkit::testing {

// fuzz_btf: the input as raw BTF.
template <class W>
void run_btf(W& w, byte_span in) {
    auto b = btf::parse(in);
    if (b) w.walk(*b);
    else w.check_error(b.error());
    // parse_split, at any size, in turn: the same outcome (its boundary guess is checked, not trusted).
    auto s = btf::parse_split(in, [](auto&& first, auto&& second) { first(); second(); }, nullptr, nullptr, 0);
    if (b.has_value() != s.has_value()) {
        w.violation("parse_split and parse disagree on success");
    } else if (!b) {
        if (b.error().message() != s.error().message()) w.violation("parse_split and parse give different errors");
    } else {
        bool same = b->type_count() == s->type_count() &&
                    std::ranges::equal(b->named_indexed(), s->named_indexed());
        for (std::uint32_t id = 1; same && id < b->type_count(); ++id) same = (*b)[id].offset() == (*s)[id].offset();
        if (!same) w.violation("parse_split and parse give different tables");
    }
    // parse_two_threads with name hashes, at any size: the same outcome, and the index from the hashes
    // is the one built after the parse, slot for slot.
    named_hashes hashes;
    auto t = parse_two_threads(in, nullptr, nullptr, &hashes, false, 0);
    if (b.has_value() != t.has_value()) {
        w.violation("parse_two_threads and parse disagree on success");
    } else if (b && !hashes.empty()) {
        if (hashes.size() != b->named_indexed().size()) {
            w.violation("parse_two_threads gives a hash count other than the named types'");
        } else {
            const auto from_hashes = name_index::build(*t, hashes);
            const auto after = name_index::build(*b);
            bool same = from_hashes.slots().size() == after.slots().size();
            for (std::size_t i = 0; same && i < after.slots().size(); ++i) same = from_hashes.slots()[i] == after.slots()[i];
            if (!same) w.violation("the index from parse_two_threads' hashes differs from the one built after the parse");
        }
    }
}

// fuzz_bpf_object: the input as an ELF file, through find_btf, and as a BPF object.
template <class W>
void run_bpf_object(W& w, byte_span in) {
    if (auto e = elf::parse(in)) w.walk(*e);
    else w.check_error(e.error());
    if (auto raw = find_btf(in)) run_btf(w, *raw);  // raw BTF or an ELF file's .BTF
    else w.check_error(raw.error());
    if (auto o = bpf_object::parse(in)) {
        w.walk(*o);
        // Moving rebinds the .BTF.ext views to the new object; walk the moved-to object as well.
        const bpf_object moved = std::move(*o);
        w.walk(moved);
    } else {
        w.check_error(o.error());
    }
}

// fuzz_btf_split: split BTF over a base. The first byte picks the base (low two bits):
//   0: the synthetic base (bases.hpp) in the split's byte order; split = rest
//   1: a fuzzed base: u16 LE length, base bytes; split = rest
//   2: the padding base shaped like Debian 6.1 vmlinux (seeds: real module .BTF sections); split = rest
//   3: split over split: synthetic base, u16 LE length, middle split; last split = rest
namespace split_detail {

struct base_blob {
    std::vector<char> bytes;
    btf parsed;
    explicit base_blob(std::vector<char> b) : bytes(std::move(b)) {
        auto r = btf::parse({bytes.data(), bytes.size()});
        if (!r) {
            std::fprintf(stderr, "built-in base BTF does not parse: %s\n", r.error().message().c_str());
            std::abort();
        }
        parsed = std::move(*r);
    }
    [[nodiscard]] byte_span span() const noexcept { return {bytes.data(), bytes.size()}; }
};

inline byte_order order_of(byte_span s) {
    return s.size() >= 2 && static_cast<unsigned char>(s[0]) == 0xeb && static_cast<unsigned char>(s[1]) == 0x9f
               ? byte_order::big : byte_order::little;
}

inline const base_blob& synthetic(byte_order o) {
    static const base_blob le{synthetic_base(byte_order::little).bytes()};
    static const base_blob be{synthetic_base(byte_order::big).bytes()};
    return o == byte_order::little ? le : be;
}

inline const base_blob& padding(byte_order o) {
    static std::unique_ptr<base_blob> bases[2];
    auto& b = bases[o == byte_order::little ? 0 : 1];
    if (!b) b = std::make_unique<base_blob>(padding_base(o, debian_6_1_base_types, debian_6_1_base_strings));
    return *b;
}

// Splits a u16 LE length-prefixed head off `rest`; false if the input is too short.
inline bool take_prefixed(byte_span& rest, byte_span& head) {
    if (rest.size() < 2) return false;
    const std::size_t n = static_cast<unsigned char>(rest[0]) | (std::size_t{static_cast<unsigned char>(rest[1])} << 8);
    rest = rest.subspan(2);
    if (n > rest.size()) return false;
    head = rest.first(n);
    rest = rest.subspan(n);
    return true;
}

// A module's walk over its base's strings alone (name_pass, before vmlinux is parsed) must see what
// the walk over the parsed base sees: the same records (own indexes), kinds and names, or fail alike.
template <class W>
void compare_walks(W& w, byte_span split, const btf& base) {
    if (base.base() != nullptr) return;  // base_strings is for a base that is not split itself
    auto strings = base_strings::of(base.data());
    if (!strings || strings->order != base.order() || strings->strings.data() != base.own_strings().data() ||
        strings->strings.size() != base.own_strings().size()) {
        w.violation("base_strings::of differs from the parsed base's strings");
        return;
    }
    struct seen { std::uint32_t own; kind k; const char* name; const char* end; };
    std::vector<seen> over_parsed, over_strings;
    const std::uint32_t first = base.type_count();
    const status a = btf::walk_named(split, &base, [&](std::uint32_t id, kind k, const char* n, const char* e) {
        over_parsed.push_back({id - first, k, n, e});
    });
    const status b = btf::walk_named(split, *strings, [&](std::uint32_t own, kind k, const char* n, const char* e) {
        over_strings.push_back({own, k, n, e});
    });
    if (a.has_value() != b.has_value()) {
        w.violation("walk_named over base_strings and over the parsed base disagree on success");
    } else if (a) {
        bool same = over_parsed.size() == over_strings.size();
        for (std::size_t i = 0; same && i < over_parsed.size(); ++i) {
            const seen& x = over_parsed[i];
            const seen& y = over_strings[i];
            same = x.own == y.own && x.k == y.k && x.name == y.name && x.end == y.end;
        }
        if (!same) w.violation("walk_named over base_strings and over the parsed base differ");
    }
}

template <class W>
status parse_split(W& w, byte_span split, const btf& base, bool walk_base) {
    compare_walks(w, split, base);
    // As a target set parses modules: the id table in a chunk_arena. Same answer as without one.
    chunk_arena arena;
    auto s = btf::parse(split, &base, &arena);
    auto plain = btf::parse(split, &base);
    if (s.has_value() != plain.has_value() || (!s && s.error().message() != plain.error().message())) {
        w.violation("parsing with a chunk_arena differs from parsing without");
    }
    if (!s) {
        w.check_error(s.error());
        return s.error();
    }
    if (s->type_count() != plain->type_count()) w.violation("parsing with a chunk_arena differs from parsing without");
    for (std::uint32_t id = s->first_id(); id < s->type_count(); ++id) {
        if ((*s)[id].offset() != (*plain)[id].offset()) w.violation("parsing with a chunk_arena differs from parsing without");
    }
    if (s->base() != &base || s->first_id() != base.type_count()) w.violation("split BTF not numbered after its base");
    w.walk(*s, walk_base);
    return {};
}

}  // namespace split_detail

// The split driver needs the base's bytes among the walker's input ranges, so it makes its own walker
// (with `errors`, if given, collecting every error). Returns the first failed parse, if any.
template <class Fail>
status run_btf_split(const Fail& fail, byte_span in, std::vector<error>* errors = nullptr) {
    using namespace split_detail;
    if (in.empty()) return error(errc::truncated, "no mode byte").at_offset(0);
    byte_span rest = in.subspan(1);
    const unsigned mode = static_cast<unsigned char>(in[0]) & 3u;
    byte_span head;
    if ((mode == 1 || mode == 3) && !take_prefixed(rest, head)) return error(errc::truncated, "length-prefixed part past the end").at_offset(1);
    const base_blob* fixed = mode == 0 ? &synthetic(order_of(rest)) : mode == 2 ? &padding(order_of(rest))
                           : mode == 3 ? &synthetic(order_of(head)) : nullptr;
    walker w{fail, {in, fixed ? fixed->span() : byte_span{}}};
    w.collect_errors(errors);
    status st;
    if (mode == 0 || mode == 2) {
        st = parse_split(w, rest, fixed->parsed, mode == 0);
    } else if (auto first = mode == 1 ? btf::parse(head) : btf::parse(head, &fixed->parsed)) {
        st = parse_split(w, rest, *first, true);
    } else {
        w.check_error(first.error());
        st = first.error();
    }
    w.keep();
    return st;
}

// Known open bugs (fuzz/README.md, "Findings"), so a local run can fuzz past them with
// -DBTFKIT_FUZZ_SKIP_KNOWN_BUGS. Never defined in CI: there a known crash must fail the build.
// None is open: F1 (SHT_NULL sections read out of bounds) was fixed in b207ec9 and its filter removed.
inline bool hits_known_bug(byte_span) { return false; }

}  // namespace btfkit::testing
