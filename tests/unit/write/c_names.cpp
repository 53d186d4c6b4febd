// write/c_names.hpp: how often each name was used (btf_dump's type_names / ident_names), which makes
// the C header's names unique with ___N.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "btfkit/write/c_names.hpp"

TEST_CASE("c_name_counts: a count per name, kept as the table grows") {
    btfkit::detail::c_name_counts counts;
    CHECK(counts.bump("task") == 1);
    CHECK(counts.bump("task") == 2);
    CHECK(counts.bump("tas") == 1);
    // Past the first table (64 slots, grown at half load): counts survive rehashing. Names are views,
    // so their storage must outlive the table.
    std::vector<std::string> names;
    for (int i = 0; i < 500; ++i) names.push_back("name" + std::to_string(i));
    for (const auto& n : names) CHECK(counts.bump(n) == 1);
    for (const auto& n : names) CHECK(counts.bump(n) == 2);
    CHECK(counts.bump("task") == 3);
    btfkit::detail::c_name_counts reserved;
    reserved.reserve(1000);
    CHECK(reserved.bump(names[7]) == 1);
    CHECK(reserved.bump(names[7]) == 2);
    CHECK(btfkit::detail::c_max_nesting >= 32u);
}
