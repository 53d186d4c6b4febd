// format/btf_types.hpp: BTF kinds, record sizes, and the type view with its lazy member, parameter,
// enumerator and variable ranges over the blob.
#include <doctest/doctest.h>

#include <cstdint>
#include <iterator>
#include <set>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/btf_types.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

blob_builder every_view(byte_order order) {
    blob_builder b(order);
    const auto i = b.add_int("int", 4, int_signed);                                                        // 1
    const auto u8 = b.add_int("u8", 1, 0);                                                                 // 2
    b.add_struct("bits", 8, true, {{"lo", i, 0, 3}, {"hi", i, 3, 29}, {"next", u8, 32, 0}});              // 3
    b.add_enum("sgn", 4, true, {{"M", static_cast<std::uint64_t>(-7)}, {"P", 7}});                        // 4
    b.add_enum64("wide", 8, false, {{"BIG", 0x123456789ull}});                                            // 5
    const auto fp = b.add_func_proto(i, {{"x", i}, {"y", u8}});                                            // 6
    b.add_ref(kind::func, "fn", fp, 2);                                                                    // 7
    const auto v = b.add_var("v", i, 1);                                                                   // 8
    b.add_datasec(".data", 8, {{v, 4, 4}});                                                                 // 9
    b.add_array(u8, i, 5);                                                                                 // 10
    b.add_decl_tag("tag", 3, 1);                                                                           // 11
    b.add_ref(kind::const_, "", 3);                                                                        // 12
    return b;
}

}  // namespace

TEST_CASE("btf_types: each kind's names and record size") {
    std::set<std::string_view> names, strs;
    for (std::uint8_t k = 0; k <= kind_max; ++k) {
        names.insert(kind_name(static_cast<kind>(k)));
        strs.insert(kind_str(static_cast<kind>(k)));
    }
    CHECK(names.size() == kind_max + 1u);
    CHECK(strs.size() == kind_max + 1u);
    CHECK(kind_name(kind::func_proto) == "FUNC_PROTO");
    CHECK(kind_str(kind::struct_) == "struct");
    CHECK(kind_name(static_cast<kind>(25)) == "UNKNOWN");
    CHECK(type_record_size(kind::int_, 0) == 16);
    CHECK(type_record_size(kind::struct_, 3) == 12 + 36);
    CHECK(type_record_size(kind::enum_, 2) == 12 + 16);
    CHECK(type_record_size(kind::enum64, 2) == 12 + 24);
    CHECK(type_record_size(kind::array, 0) == 24);
    CHECK(type_record_size(kind::unknown, 0) == 0);
    CHECK(indexed_kind(kind::typedef_));
    CHECK_FALSE(indexed_kind(kind::func));
    CHECK_FALSE(indexed_kind(kind::ptr));
}

TEST_CASE("btf_types: the views decode each kind's fields, in either byte order") {
    for (const byte_order order : {byte_order::little, byte_order::big}) {
        CAPTURE(order == byte_order::little ? "little endian" : "big endian");
        const blob_builder bb = every_view(order);
        auto parsed = btf::parse(bb.span());
        REQUIRE(parsed.has_value());
        const btf& b = *parsed;
        CHECK(b[1].int_encoding() == int_signed);
        CHECK(b[1].int_bits() == 32);
        CHECK(b[2].int_encoding() == 0);
        // kflag: bitfield sizes and offsets come from the offset word.
        const type bits = b[3];
        CHECK(bits.kflag());
        CHECK(bits.is_composite());
        std::vector<std::uint32_t> offsets, sizes;
        for (const member m : bits.members()) {
            offsets.push_back(m.bit_offset);
            sizes.push_back(m.bitfield_size);
        }
        CHECK(offsets == std::vector<std::uint32_t>{0, 3, 32});
        CHECK(sizes == std::vector<std::uint32_t>{3, 29, 0});
        CHECK(bits.members()[1].raw_offset == (29u << 24 | 3));
        CHECK(std::distance(bits.members().begin(), bits.members().end()) == 3);
        // Signed ENUM values are sign-extended; ENUM64 values are whole.
        CHECK(b[4].enumerators()[0].value == static_cast<std::uint64_t>(-7));
        CHECK(b[4].enumerators()[0].lo32 == static_cast<std::uint32_t>(-7));
        CHECK(b[5].enumerators()[0].value == 0x123456789ull);
        CHECK(b[5].enumerators()[0].hi32 == 1);
        CHECK(b[5].is_any_enum());
        CHECK(b.string(b[6].params()[1].name_off) == "y");
        CHECK(b[6].params()[1].type == 2);
        CHECK(b[7].func_linkage() == 2);
        CHECK(b[8].var_linkage() == 1);
        const datasec_var dv = b[9].vars()[0];
        CHECK(dv.type == 8);
        CHECK(dv.offset == 4);
        CHECK(dv.size == 4);
        CHECK(b[10].array().nelems == 5);
        CHECK(b[10].array().type == 2);
        CHECK(b[10].array().index_type == 1);
        CHECK(b[11].decl_tag_component() == 1);
        CHECK(b[12].is_modifier());
        CHECK(b[12].ref() == 3);
        CHECK(b[12].name().empty());
        CHECK(b[0].is_void());
        const struct_type st(b[3]);
        CHECK(struct_type::view_kind == kind::struct_);
        CHECK(st.name() == "bits");
        CHECK(st.size() == 8);
    }
}

// The name spaces: which kinds, and how names compare.
static_assert(btfkit::in_name_space(btfkit::kind::func, btfkit::name_space::symbols) && btfkit::in_name_space(btfkit::kind::var, btfkit::name_space::symbols));
static_assert(!btfkit::in_name_space(btfkit::kind::struct_, btfkit::name_space::symbols) && !btfkit::in_name_space(btfkit::kind::datasec, btfkit::name_space::symbols));
static_assert(btfkit::in_name_space(btfkit::kind::struct_, btfkit::name_space::types) && !btfkit::in_name_space(btfkit::kind::func, btfkit::name_space::types));
static_assert(btfkit::in_name_space(btfkit::kind::func_proto, btfkit::name_space::any_kind));
static_assert(btfkit::name_space_kinds(btfkit::name_space::symbols) == (1u << 12 | 1u << 14));
