// core/relo_rules.hpp: relocation kinds and their classes, the libbpf releases' rules, kind
// compatibility, the candidate rule and essential names, at run time (test_constexpr proves the
// candidate rule in constant evaluation).
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string_view>

#include "btfkit/core/relo_rules.hpp"

namespace {

using namespace btfkit;

}  // namespace

TEST_CASE("relo_rules: each kind has libbpf's name and one class; 6 field, 5 type, 2 enum value kinds") {
    std::set<std::string_view> names;
    int field = 0, type = 0, enumval = 0;
    for (std::uint32_t k = 0; k < relo_kind_count; ++k) {
        const auto rk = static_cast<relo_kind>(k);
        names.insert(relo_kind_name(rk));
        field += is_field_based(rk);
        type += is_type_based(rk);
        enumval += is_enumval_based(rk);
        CHECK(class_of(rk) != relo_class::unknown);
    }
    CHECK(names.size() == relo_kind_count);
    CHECK(field == 6);
    CHECK(type == 5);
    CHECK(enumval == 2);
    CHECK(relo_kind_name(relo_kind::field_byte_offset) == "byte_off");
    CHECK(relo_kind_name(relo_kind::type_matches) == "type_matches");
    CHECK(relo_kind_name(static_cast<relo_kind>(13)) == "unknown");
    CHECK(class_of(static_cast<relo_kind>(99)) == relo_class::unknown);
}

TEST_CASE("relo_rules: libbpf compatibility levels, as the CLI spells them, and the rules each one keeps") {
    libbpf_compat c = libbpf_compat::v1_1;
    CHECK(parse_libbpf_compat("latest", c));
    CHECK(c == libbpf_compat::v1_7);
    CHECK(parse_libbpf_compat("1.1", c));
    CHECK(to_string(c) == "1.1");
    CHECK_FALSE(parse_libbpf_compat("1.7 ", c));
    CHECK_FALSE(parse_libbpf_compat("", c));
    CHECK(c == libbpf_compat::v1_1);  // unchanged by a failed parse
    CHECK_FALSE(rules_of(libbpf_compat::v1_1).memsz_of_array_element);
    CHECK(rules_of(libbpf_compat::v1_7).signed_only_from_int);
}

TEST_CASE("relo_rules: the candidate rule over every pair of kinds, with and without the FWD extension") {
    for (std::uint8_t l = 0; l <= kind_max; ++l) {
        for (std::uint8_t t = 0; t <= kind_max; ++t) {
            const auto lk = static_cast<kind>(l), tk = static_cast<kind>(t);
            for (const bool kflag : {false, true}) {
                CAPTURE(kind_name(lk));
                CAPTURE(kind_name(tk));
                CAPTURE(kflag);
                const int libbpf = kinds_core_compat(lk, tk) ? 1 : 0;
                CHECK(candidate_round(lk, kflag, tk, false) == libbpf);
                if (lk != kind::fwd) {
                    CHECK(candidate_round(lk, kflag, tk, true) == libbpf);
                    continue;
                }
                const int want = tk == (kflag ? kind::union_ : kind::struct_) ? 1 : tk == kind::fwd ? 2 : 0;
                CHECK(candidate_round(lk, kflag, tk, true) == want);
            }
        }
    }
    CHECK(kinds_core_compat(kind::enum64, kind::enum_));
    CHECK_FALSE(kinds_core_compat(kind::struct_, kind::union_));
    CHECK_FALSE(fwd_resolves_to(kind::struct_, false, kind::struct_));
    CHECK(candidate_rounds_for(kind::fwd, true) == 2);
    CHECK(candidate_rounds_for(kind::fwd, false) == 1);
    CHECK(candidate_rounds_for(kind::struct_, true) == 1);
}

TEST_CASE("relo_rules: essential names drop the last ___flavor suffix, as libbpf's") {
    CHECK(essential_name("task_struct___old") == "task_struct");
    CHECK(essential_name("a___b___c") == "a___b");
    CHECK(essential_name("a___b") == "a");
    CHECK(essential_name("abc___") == "abc___");   // nothing after the underscores
    CHECK(essential_name("____x") == "____x");     // nothing before them
    CHECK(essential_name("a____b") == "a____b");   // four underscores
    CHECK(essential_name("x___") == "x___");       // shorter than five
    CHECK(essential_name("") == "");
    CHECK(essential_name_len("nf_conn___init") == 7);
}
