// gen/core_marks.hpp: bpftool's BTFGen rules per relocation kind, and every candidate a record matches
// kept, seen through the minimised BTF that write_min_btf makes of the marks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "btfkit/core/relocate.hpp"
#include "btfkit/gen/core_marks.hpp"
#include "btfkit/gen/min_btf.hpp"
#include "btfkit/targets/single_target.hpp"
#include "core_object.hpp"
#include "parsed.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::relo_kind;
using bt::bpftool71;
using bt::parse_or_fail;
using bt::raw_dump;

}  // namespace

// ---- bpftool's rules, one relocation kind each ----------------------------------------------------------

TEST_CASE("min_core: fields keep their path, type relocations empty composites, enums stay whole, TYPE_MATCHES goes deep") {
    using namespace bt::asm_;
    const auto le = bk::byte_order::little;
    bt::blob_builder target(le);
    target.add_int("int", 4, bk::int_signed);                                                          // 1
    target.add_struct("inner", 8, false, {{"x", 1, 0, 0}, {"y", 1, 32, 0}});                            // 2
    target.add_ref(bk::kind::ptr, "", 4);                                                              // 3
    target.add_struct("pointee", 4, false, {{"z", 1, 0, 0}});                                          // 4
    target.add_struct("outer", 32, false, {{"a", 1, 0, 0}, {"in", 2, 32, 0}, {"p", 3, 128, 0}, {"b", 1, 192, 0}});  // 5
    target.add_enum("colour", 4, false, {{"RED", 0}, {"GREEN", 1}, {"BLUE", 2}});                       // 6
    target.add_ref(bk::kind::typedef_, "colour_t", 6);                                                 // 7
    target.add_struct("holder", 16, false, {{"c", 7, 0, 0}, {"q", 3, 64, 0}});                          // 8
    target.add_struct("matched", 16, false, {{"m", 1, 0, 0}, {"n", 11, 64, 0}});                        // 9
    target.add_struct("behind", 4, false, {{"w", 1, 0, 0}});                                           // 10
    target.add_ref(bk::kind::ptr, "", 10);                                                             // 11
    target.add_ref(bk::kind::typedef_, "pointee_p", 3);                                                // 12

    bt::blob_builder local(le);
    local.add_int("int", 4, bk::int_signed);                                       // 1
    local.add_struct("inner", 4, false, {{"y", 1, 0, 0}});                         // 2
    local.add_struct("outer", 4, false, {{"in", 2, 0, 0}});                        // 3
    local.add_struct("holder", 4, false, {{"c", 1, 0, 0}});                        // 4
    local.add_enum("colour", 4, false, {{"GREEN", 7}});                            // 5
    local.add_struct("behind", 4, false, {{"w", 1, 0, 0}});                        // 6
    local.add_ref(bk::kind::ptr, "", 6);                                           // 7
    local.add_struct("matched", 16, false, {{"m", 1, 0, 0}, {"n", 7, 64, 0}});      // 8
    local.add_struct("pointee", 4, false, {{"z", 1, 0, 0}});                       // 9
    local.add_ref(bk::kind::ptr, "", 9);                                           // 10
    local.add_ref(bk::kind::typedef_, "pointee_p", 10);                            // 11
    std::vector<bk::insn> code{ldx(bk::insn_const::size_w, 0, 1, 0), mov64_imm(0, 1), mov64_imm(0, 7), mov64_imm(0, 1),
                               mov64_imm(0, 8), exit()};
    const std::vector<bt::core_site> sites{
        {0, 3, "0:0:0", relo_kind::field_byte_offset},  // outer.in.y
        {1, 4, "0", relo_kind::type_exists},           // holder: kept without members
        {2, 5, "0", relo_kind::enumval_value},         // colour::GREEN: the whole enum
        {3, 8, "0", relo_kind::type_matches},          // matched: every member, `behind` only by name
        {4, 11, "0", relo_kind::type_size},            // pointee_p: the typedef, the pointer, pointee
    };
    const std::vector<char> object = bt::build_core_object(le, local, {{"kprobe/rules", "rules", code, sites}});
    auto obj = bk::bpf_object::parse(bk::byte_span(object.data(), object.size()));
    REQUIRE(obj.has_value());
    const bk::btf tb = parse_or_fail(target.bytes());
    bk::single_target src(tb);
    bk::core_marks marks;
    bk::mark_scratch scratch;
    REQUIRE(bk::mark_object(*obj, src, marks, scratch).has_value());
    const auto out = bk::write_min_btf(*marks.find(0));
    REQUIRE(out.has_value());
    const bk::btf kept = parse_or_fail(out->bytes);
    CHECK(raw_dump(kept) ==
          "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
          "[2] STRUCT 'inner' size=8 vlen=1\n\t'y' type_id=1 bits_offset=32\n"
          "[3] PTR '(anon)' type_id=4\n"
          "[4] STRUCT 'pointee' size=4 vlen=0\n"
          "[5] STRUCT 'outer' size=32 vlen=1\n\t'in' type_id=2 bits_offset=32\n"
          "[6] ENUM 'colour' encoding=UNSIGNED size=4 vlen=3\n\t'RED' val=0\n\t'GREEN' val=1\n\t'BLUE' val=2\n"
          "[7] STRUCT 'holder' size=16 vlen=0\n"
          "[8] STRUCT 'matched' size=16 vlen=2\n\t'm' type_id=1 bits_offset=0\n\t'n' type_id=10 bits_offset=64\n"
          "[9] STRUCT 'behind' size=4 vlen=0\n"
          "[10] PTR '(anon)' type_id=9\n"
          "[11] TYPEDEF 'pointee_p' type_id=3\n");
    CHECK(out->new_id(7) == 0);  // colour_t: only `holder`'s member needs it, and holder keeps no member
    CHECK(out->new_id(12) == 11);

    // bpftool writes the same bytes for it.
    if (const std::string bpftool = bpftool71(); !bpftool.empty()) {
        bt::temp_dir tmp("btfkit-min-core");
        const std::string in = (tmp.path / "target.btf").string(), o = (tmp.path / "rules.bpf.o").string(),
                          mine = (tmp.path / "mine.btf").string(), theirs = (tmp.path / "bpftool.btf").string();
        REQUIRE(bt::write_bytes(in, target.span()));
        REQUIRE(bt::write_bytes(o, {object.data(), object.size()}));
        const bt::run_result r = bt::run({bpftool, "gen", "min_core_btf", in, theirs, o}, tmp.path);
        INFO(r.err);
        REQUIRE(r.status == 0);
        const bt::run_result g = bt::run({BTFKIT_TOOL, "gen", "min_core_btf", in, mine, o}, tmp.path);
        INFO(g.err);
        REQUIRE(g.status == 0);
        CHECK(bt::read_text(mine) == bt::read_text(theirs));
        CHECK(bt::read_text(mine) == std::string(out->bytes.data(), out->bytes.size()));
    }
}

// Two target types of one name both match the first record; only the second has the field of the next.
// A loader prunes its candidate list to the first record's matches, both: the second record then finds
// its field in the second type. bpftool keeps the first match's field only, so its output loses the
// second type's first field and the second record's match with it; btfkit keeps every match.
TEST_CASE("min_core: every candidate a record matches keeps what the record needs (bpftool's output loses a match)") {
    using namespace bt::asm_;
    const auto le = bk::byte_order::little;
    bt::blob_builder target(le);
    target.add_int("int", 4, bk::int_signed);                                          // 1
    target.add_struct("pair", 4, false, {{"a", 1, 0, 0}});                             // 2
    target.add_struct("pair", 8, false, {{"a", 1, 0, 0}, {"b", 1, 32, 0}});            // 3
    bt::blob_builder local(le);
    local.add_int("int", 4, bk::int_signed);                                           // 1
    local.add_struct("pair___x", 8, false, {{"a", 1, 0, 0}, {"b", 1, 32, 0}});         // 2
    std::vector<bk::insn> code{ldx(bk::insn_const::size_w, 0, 1, 0), ldx(bk::insn_const::size_w, 0, 1, 4), exit()};
    const std::vector<char> object = bt::build_core_object(le, local, {{"kprobe/pairs", "pairs", code,
        {{0, 2, "0:0", relo_kind::field_byte_offset}, {1, 2, "0:1", relo_kind::field_byte_offset}}}});
    auto obj = bk::bpf_object::parse(bk::byte_span(object.data(), object.size()));
    REQUIRE(obj.has_value());
    const bk::btf tb = parse_or_fail(target.bytes());
    bk::single_target src(tb);
    bk::core_marks marks;
    bk::mark_scratch scratch;
    REQUIRE(bk::mark_object(*obj, src, marks, scratch).has_value());
    const auto out = bk::write_min_btf(*marks.find(0));
    REQUIRE(out.has_value());
    const bk::btf kept = parse_or_fail(out->bytes);
    CHECK(raw_dump(kept) ==
          "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
          "[2] STRUCT 'pair' size=4 vlen=1\n\t'a' type_id=1 bits_offset=0\n"
          "[3] STRUCT 'pair' size=8 vlen=2\n\t'a' type_id=1 bits_offset=0\n\t'b' type_id=1 bits_offset=32\n");

    auto outcomes = [&](const bk::btf& against) {
        bk::single_target t(against);
        std::vector<char> image(object);
        bk::relocation_scratch rs;
        std::string s;
        auto sum = bk::relocate_object(*obj, std::span<char>(image.data(), image.size()), t, rs, {}, [&](const bk::relocation_report& r) {
            s += std::string(bk::to_string(r.outcome)) + " " + std::to_string(r.res.new_val) + "; ";
        });
        REQUIRE(sum.has_value());
        return s;
    };
    CHECK(outcomes(tb) == "ok 0; ok 4; ");
    CHECK(outcomes(kept) == "ok 0; ok 4; ");
    if (const std::string bpftool = bpftool71(); !bpftool.empty()) {
        bt::temp_dir tmp("btfkit-min-core");
        const std::string in = (tmp.path / "target.btf").string(), o = (tmp.path / "pairs.bpf.o").string(),
                          theirs = (tmp.path / "bpftool.btf").string();
        REQUIRE(bt::write_bytes(in, target.span()));
        REQUIRE(bt::write_bytes(o, {object.data(), object.size()}));
        const bt::run_result r = bt::run({bpftool, "gen", "min_core_btf", in, theirs, o}, tmp.path);
        REQUIRE(r.status == 0);
        const std::vector<char> bytes = bt::read_bytes(theirs);
        const bk::btf b = parse_or_fail(bytes);
        CHECK(outcomes(b) == "ok 0; poisoned 0; ");
    }
}
