// format/bpf_object.hpp: decodes the fixture BPF objects (tests/fixtures) and checks what their C
// sources state: types and layouts, enumerators, programs, func/line info, and every CO-RE record
// against its instruction.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "btfkit/format/bpf_object.hpp"
#include "btfkit/kernel.hpp"

namespace {

namespace bk = btfkit;

// An object kept mapped while its views are in use.
struct fixture {
    bk::mapped_file file;
    bk::bpf_object obj;
};

std::optional<fixture> open_fixture(const std::string& name) {
    const std::string path = std::string(BTFKIT_FIXTURE_DIR) + "/" + name;
    auto f = bk::mapped_file::open(path);
    if (!f) {
        MESSAGE("skipping: " << path << " is not built (" << f.error().message() << ")");
        return std::nullopt;
    }
    fixture fx{std::move(*f), {}};
    auto o = bk::bpf_object::parse(fx.file.bytes());
    REQUIRE_MESSAGE(o.has_value(), name << ": " << o.error().message());
    fx.obj = std::move(*o);
    return fx;
}

// ---- types ----

std::optional<bk::type> find_type(const bk::btf& b, bk::kind k, std::string_view name) {
    for (const bk::type t : b.types()) {
        if (t.is(k) && t.name() == name) return t;
    }
    return std::nullopt;
}

bk::type require_type(const bk::btf& b, bk::kind k, std::string_view name) {
    const auto t = find_type(b, k, name);
    REQUIRE_MESSAGE(t.has_value(), "no " << bk::kind_name(k) << " named '" << name << "'");
    return *t;
}

// Name of a type after modifiers and typedefs ("" for anonymous ones).
std::string_view resolved_name(const bk::btf& b, std::uint32_t id) {
    const auto t = b.skip_mods_and_typedefs(id);
    REQUIRE(t.has_value());
    return t->name();
}

struct member_spec {
    std::string_view name;
    std::uint32_t bit_offset;
    std::uint32_t bitfield_size;
    std::string_view type;  // resolved type name; "" skips the check
};

// A composite's size and every member, in order.
void check_composite(const bk::btf& b, bk::kind k, std::string_view name, std::uint32_t size,
                     std::initializer_list<member_spec> members) {
    const bk::type t = require_type(b, k, name);
    INFO(bk::kind_str(k) << " " << name);
    CHECK(t.size() == size);
    REQUIRE(t.vlen() == members.size());
    std::uint32_t i = 0;
    for (const member_spec& want : members) {
        const bk::member m = t.members()[i++];
        INFO("member " << want.name);
        CHECK(b.string(m.name_off) == want.name);
        CHECK(m.bit_offset == want.bit_offset);
        CHECK(m.bitfield_size == want.bitfield_size);
        if (!want.type.empty()) CHECK(resolved_name(b, m.type) == want.type);
    }
}

struct enumerator_spec {
    std::string_view name;
    std::int64_t value;  // as the C source writes it; unsigned values above INT64_MAX cast
};

void check_enum(const bk::btf& b, bk::kind k, std::string_view name, std::uint32_t size, bool is_signed,
                std::initializer_list<enumerator_spec> values) {
    const bk::type t = require_type(b, k, name);
    INFO("enum " << name);
    CHECK(t.size() == size);
    CHECK(t.kflag() == is_signed);
    REQUIRE(t.vlen() == values.size());
    std::uint32_t i = 0;
    for (const enumerator_spec& want : values) {
        const bk::enumerator e = t.enumerators()[i++];
        CHECK(b.string(e.name_off) == want.name);
        CHECK(e.value == static_cast<std::uint64_t>(want.value));
    }
}

std::uint64_t size_of(const bk::btf& b, std::uint32_t id) {
    const auto s = b.resolve_size(id);
    REQUIRE(s.has_value());
    return *s;
}

// ---- programs, func and line info ----

struct prog_spec {
    std::string_view name;
    std::string_view section;
    bool subprog;
};

std::vector<bk::program> programs_of(const bk::bpf_object& o) {
    std::vector<bk::program> out;
    const auto st = o.for_each_program([&](const bk::program& p) { out.push_back(p); });
    REQUIRE_MESSAGE(st.has_value(), st.error().message());
    return out;
}

// Exactly these programs, each with a func_info record at its first instruction naming it.
void check_programs(const bk::bpf_object& o, std::initializer_list<prog_spec> want) {
    const auto progs = programs_of(o);
    CHECK(progs.size() == want.size());
    const bk::btf& b = o.btf();
    for (const prog_spec& w : want) {
        INFO("program " << w.name);
        const auto p = std::find_if(progs.begin(), progs.end(), [&](const bk::program& x) { return x.name == w.name; });
        REQUIRE(p != progs.end());
        CHECK(p->section_name == w.section);
        CHECK(p->is_subprog == w.subprog);
        CHECK(p->insn_count > 0);
        if (!o.has_ext()) continue;
        bool found = false;
        for (const auto sec : o.ext().func_infos()) {
            if (sec.section_name() != w.section) continue;
            CHECK(sec.elf_index() == p->section_index);
            for (std::uint32_t i = 0; i < sec.size(); ++i) {
                const bk::func_info fi = sec[i];
                if (fi.insn_off != p->first_insn * bk::insn_const::insn_size) continue;
                REQUIRE(b.valid_id(fi.type_id));
                CHECK(b[fi.type_id].is(bk::kind::func));
                CHECK(b[fi.type_id].name() == w.name);
                found = true;
            }
        }
        CHECK_MESSAGE(found, "no func_info at the first instruction of " << w.name);
    }
}

// Every section that holds a program has line info; file names are the fixture's source.
void check_line_info(const bk::bpf_object& o, std::string_view source) {
    std::set<std::string_view> with_lines;
    for (const auto sec : o.ext().line_infos()) {
        CHECK(sec.elf_index() != 0);
        CHECK(sec.size() > 0);
        with_lines.insert(sec.section_name());
        for (std::uint32_t i = 0; i < sec.size(); ++i) {
            const bk::line_info li = sec[i];
            const std::string_view file = o.btf().string(li.file_name_off);
            CHECK((file.ends_with(source) || file.ends_with(".h")));
            CHECK((li.line_col >> 10) > 0);  // line number
        }
    }
    for (const bk::program& p : programs_of(o)) CHECK_MESSAGE(with_lines.count(p.section_name) == 1, p.section_name);
}

// ---- CO-RE records ----

struct relo_rec {
    std::string section;
    std::uint32_t elf_index = 0;
    bk::core_relo r;
    std::string root;  // root type's name
    bk::kind root_kind{};
    std::string access;
};

std::vector<relo_rec> relos_of(const bk::bpf_object& o) {
    std::vector<relo_rec> out;
    const bk::btf& b = o.btf();
    for (const auto sec : o.ext().core_relos()) {
        for (std::uint32_t i = 0; i < sec.size(); ++i) {
            const bk::core_relo r = sec[i];
            const bk::type root = b[r.type_id];
            out.push_back({std::string(sec.section_name()), sec.elf_index(), r, std::string(root.name()), root.kind(),
                           std::string(b.string(r.access_str_off))});
        }
    }
    CHECK(out.size() == o.ext().core_relo_count());
    return out;
}

std::array<std::uint32_t, bk::relo_kind_count> count_kinds(const std::vector<relo_rec>& rs) {
    std::array<std::uint32_t, bk::relo_kind_count> n{};
    for (const relo_rec& r : rs) {
        const auto k = static_cast<std::uint32_t>(r.r.kind);
        REQUIRE(k < bk::relo_kind_count);
        ++n[k];
    }
    return n;
}

std::string kind_counts_text(const std::array<std::uint32_t, bk::relo_kind_count>& n) {
    std::string s;
    for (std::uint32_t k = 0; k < bk::relo_kind_count; ++k) {
        s += std::string(bk::relo_kind_name(static_cast<bk::relo_kind>(k))) + "=" + std::to_string(n[k]) + " ";
    }
    return s;
}

bool has_relo(const std::vector<relo_rec>& rs, std::string_view section, bk::relo_kind k, std::string_view root,
              std::string_view access) {
    return std::any_of(rs.begin(), rs.end(), [&](const relo_rec& r) {
        return r.section == section && r.r.kind == k && r.root == root && r.access == access;
    });
}

std::vector<std::uint32_t> parse_access(std::string_view s) {
    std::vector<std::uint32_t> out;
    std::uint64_t v = 0;
    bool digit = false;
    for (const char c : s) {
        if (c == ':') {
            REQUIRE(digit);
            out.push_back(static_cast<std::uint32_t>(v));
            v = 0;
            digit = false;
        } else {
            REQUIRE((c >= '0' && c <= '9'));
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
            REQUIRE(v <= 0xffffffffu);
            digit = true;
        }
    }
    REQUIRE(digit);
    out.push_back(static_cast<std::uint32_t>(v));
    return out;
}

constexpr std::uint8_t mode_mem = 0x60;

// The value a relocatable instruction carries: ALU imm, load/store offset or the ldimm64 constant.
struct insn_value {
    bool ok = false;
    bool is_mem = false;
    std::uint64_t value = 0;
};

insn_value value_at(const bk::bpf_object& o, const relo_rec& rr) {
    using namespace bk::insn_const;
    const bk::elf_section s = o.file().section(rr.elf_index);
    const std::uint32_t idx = rr.r.insn_off / static_cast<std::uint32_t>(insn_size);
    if (idx >= o.insn_count(s)) return {};
    const bk::insn i = o.instruction(s, idx);
    switch (i.cls()) {
    case cls_alu: case cls_alu64:
        if ((i.code & src_x) != src_k) return {};
        return {true, false, static_cast<std::uint64_t>(static_cast<std::int64_t>(i.imm))};
    case cls_ldx: case cls_st: case cls_stx:
        if ((i.code & 0xe0) != mode_mem) return {};
        return {true, true, static_cast<std::uint64_t>(static_cast<std::int64_t>(i.off))};
    case cls_ld: {
        if (!i.is_ldimm64() || idx + 1 >= o.insn_count(s)) return {};
        const bk::insn hi = o.instruction(s, idx + 1);
        if (hi.code != 0) return {};
        return {true, false, static_cast<std::uint32_t>(i.imm) | (static_cast<std::uint64_t>(static_cast<std::uint32_t>(hi.imm)) << 32)};
    }
    default:
        return {};
    }
}

// The value the local BTF gives a relocation, i.e. what the compiler put in the instruction.
// Empty where that is compiler-specific (bitfield storage units and shifts).
std::optional<std::uint64_t> local_value(const bk::btf& b, const bk::core_relo& r, std::string_view access_str) {
    using rk = bk::relo_kind;
    const auto access = parse_access(access_str);
    switch (r.kind) {
    case rk::type_id_local: case rk::type_id_target:
        return r.type_id;
    case rk::type_exists: case rk::type_matches: case rk::enumval_exists:
        return 1;
    case rk::type_size:
        return size_of(b, r.type_id);
    case rk::enumval_value: {
        const bk::type t = b[r.type_id];
        REQUIRE(t.is_any_enum());
        REQUIRE(access.size() == 1);
        REQUIRE(access[0] < t.vlen());
        return t.enumerators()[access[0]].value;
    }
    default:
        break;
    }
    // Field kinds: walk the access string from the root.
    std::uint32_t id = r.type_id;
    std::uint64_t offset = access[0] * size_of(b, id);
    bool bitfield = false;
    for (std::size_t i = 1; i < access.size(); ++i) {
        const auto t = b.skip_mods_and_typedefs(id);
        REQUIRE(t.has_value());
        if (t->is_composite()) {
            REQUIRE(access[i] < t->vlen());
            const bk::member m = t->members()[access[i]];
            bitfield = m.bitfield_size != 0;
            offset += m.bit_offset / 8;
            id = m.type;
        } else {
            REQUIRE(t->is(bk::kind::array));
            const auto a = t->array();
            offset += access[i] * size_of(b, a.type);
            id = a.type;
            bitfield = false;
        }
    }
    switch (r.kind) {
    case rk::field_exists:
        return 1;
    case rk::field_byte_offset:
        if (bitfield) return std::nullopt;
        return offset;
    case rk::field_byte_size:
        if (bitfield) return std::nullopt;
        return size_of(b, id);
    case rk::field_signed: {
        const auto t = b.skip_mods_and_typedefs(id);
        REQUIRE(t.has_value());
        if (bitfield || !t->is(bk::kind::int_)) return std::nullopt;
        return (t->int_encoding() & bk::int_signed) ? 1 : 0;
    }
    default:
        return std::nullopt;
    }
}

// Every record: a known kind, a root of the right kind, a well-formed access string, an existing
// executable section, and an instruction that can carry it, holding the local value.
void check_relo_sites(const bk::bpf_object& o, const std::vector<relo_rec>& rs) {
    using rk = bk::relo_kind;
    for (const relo_rec& rr : rs) {
        INFO(rr.section << " +" << rr.r.insn_off << " " << bk::relo_kind_name(rr.r.kind) << " " << rr.root << " " << rr.access);
        REQUIRE(rr.elf_index != 0);
        const bk::elf_section s = o.file().section(rr.elf_index);
        CHECK((s.flags & bk::elf_const::shf_execinstr) != 0);
        CHECK(rr.r.insn_off < s.size);
        const rk k = rr.r.kind;
        const bool field = k <= rk::field_rshift_u64;
        const bool enumval = k == rk::enumval_exists || k == rk::enumval_value;
        if (field) CHECK((rr.root_kind == bk::kind::struct_ || rr.root_kind == bk::kind::union_ || rr.root_kind == bk::kind::typedef_));
        if (enumval) CHECK((rr.root_kind == bk::kind::enum_ || rr.root_kind == bk::kind::enum64));
        if (!field && !enumval) CHECK(rr.access == "0");

        const insn_value v = value_at(o, rr);
        REQUIRE_MESSAGE(v.ok, "not a relocatable instruction");
        if (v.is_mem) CHECK(k == rk::field_byte_offset);  // only offsets relocate loads and stores
        if (k == rk::field_lshift_u64 || k == rk::field_rshift_u64) CHECK(v.value < 64);
        if (const auto want = local_value(o.btf(), rr.r, rr.access)) CHECK(v.value == *want);
    }
}

bool all_kinds_present(const std::array<std::uint32_t, bk::relo_kind_count>& n) {
    return std::all_of(n.begin(), n.end(), [](std::uint32_t c) { return c > 0; });
}

// ---- byte-order independence ----

// The same type graph, field by field.
void check_same_btf(const bk::btf& a, const bk::btf& b) {
    REQUIRE(a.type_count() == b.type_count());
    CHECK(a.order() != b.order());
    for (std::uint32_t id = 1; id < a.type_count(); ++id) {
        const bk::type x = a[id], y = b[id];
        INFO("type #" << id << " " << x.name());
        REQUIRE(x.info() == y.info());
        CHECK(x.name() == y.name());
        CHECK(x.size() == y.size());
        switch (x.kind()) {
        case bk::kind::int_:
            CHECK(x.int_data() == y.int_data());
            break;
        case bk::kind::array:
            CHECK(x.array().type == y.array().type);
            CHECK(x.array().index_type == y.array().index_type);
            CHECK(x.array().nelems == y.array().nelems);
            break;
        case bk::kind::struct_: case bk::kind::union_:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                CHECK(a.string(x.members()[i].name_off) == b.string(y.members()[i].name_off));
                CHECK(x.members()[i].type == y.members()[i].type);
                CHECK(x.members()[i].raw_offset == y.members()[i].raw_offset);
            }
            break;
        case bk::kind::enum_: case bk::kind::enum64:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                CHECK(a.string(x.enumerators()[i].name_off) == b.string(y.enumerators()[i].name_off));
                CHECK(x.enumerators()[i].value == y.enumerators()[i].value);
            }
            break;
        case bk::kind::func_proto:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                CHECK(a.string(x.params()[i].name_off) == b.string(y.params()[i].name_off));
                CHECK(x.params()[i].type == y.params()[i].type);
            }
            break;
        case bk::kind::datasec:
            for (std::uint32_t i = 0; i < x.vlen(); ++i) {
                CHECK(x.vars()[i].type == y.vars()[i].type);
                CHECK(x.vars()[i].offset == y.vars()[i].offset);
                CHECK(x.vars()[i].size == y.vars()[i].size);
            }
            break;
        case bk::kind::var:
            CHECK(x.var_linkage() == y.var_linkage());
            break;
        case bk::kind::decl_tag:
            CHECK(x.decl_tag_component() == y.decl_tag_component());
            break;
        default:
            break;
        }
    }
}

// Same records in both byte orders, section by section. Where a section's code has the same size the
// instruction offsets match too; where it does not (libbpf's probed bitfield read adds big-endian-only
// instructions, with one more BYTE_SIZE record each), big endian holds little endian's records plus
// byte_sz ones.
void check_same_relos(const fixture& le, const fixture& be) {
    using key = std::tuple<std::uint32_t, std::uint32_t, std::string>;
    struct per_section {
        std::uint64_t code_size = 0;
        std::multiset<key> keys;
        std::vector<std::uint32_t> insn_offs;
    };
    auto group = [](const fixture& fx) {
        std::map<std::string, per_section> out;
        for (const relo_rec& r : relos_of(fx.obj)) {
            per_section& p = out[r.section];
            p.code_size = fx.obj.file().section(r.elf_index).size;
            p.keys.insert({static_cast<std::uint32_t>(r.r.kind), r.r.type_id, r.access});
            p.insn_offs.push_back(r.r.insn_off);
        }
        return out;
    };
    const auto a = group(le), b = group(be);
    REQUIRE(a.size() == b.size());
    for (const auto& [name, x] : a) {
        INFO("section " << name);
        const auto it = b.find(name);
        REQUIRE(it != b.end());
        const per_section& y = it->second;
        if (x.code_size == y.code_size) {
            CHECK(x.keys == y.keys);
            CHECK(x.insn_offs == y.insn_offs);
            continue;
        }
        CHECK(std::includes(y.keys.begin(), y.keys.end(), x.keys.begin(), x.keys.end()));
        std::multiset<key> extra;
        std::set_difference(y.keys.begin(), y.keys.end(), x.keys.begin(), x.keys.end(), std::inserter(extra, extra.end()));
        for (const key& k : extra) CHECK(std::get<0>(k) == static_cast<std::uint32_t>(bk::relo_kind::field_byte_size));
    }
}

// ---- the fixtures' own expectations ----

// ck_* types as core_kinds.bpf.c declares them without TARGET (BPF ABI: long and pointers are 8 bytes).
void check_core_kinds_local_types(const bk::btf& b) {
    using bk::kind;
    check_composite(b, kind::struct_, "ck_inner", 8, {{"x", 0, 0, "int"}, {"y", 32, 0, "int"}});
    check_composite(b, kind::struct_, "ck_basic", 128,
                    {{"a", 0, 0, "int"},
                     {"grow", 4 * 8, 0, "unsigned int"},
                     {"shrink", 8 * 8, 0, "unsigned long long"},
                     {"sshrink", 16 * 8, 0, "long long"},
                     {"gone", 24 * 8, 0, "long"},
                     {"cv", 32 * 8, 0, "int"},
                     {"td", 36 * 8, 0, "unsigned int"},
                     {"name", 40 * 8, 0, ""},
                     {"matrix", 56 * 8, 0, ""},
                     {"in", 104 * 8, 0, "ck_inner"},
                     {"ptr", 112 * 8, 0, ""},
                     {"", 120 * 8, 0, ""},
                     {"", 124 * 8, 0, ""},
                     {"tail", 128 * 8, 0, ""}});
    const bk::type basic = require_type(b, kind::struct_, "ck_basic");
    // cv is const volatile int
    const bk::type cv = b[basic.members()[5].type];
    CHECK((cv.is(kind::const_) || cv.is(kind::volatile_)));
    CHECK((b[cv.ref()].is(kind::const_) || b[cv.ref()].is(kind::volatile_)));
    CHECK(b[basic.members()[6].type].is(kind::typedef_));
    CHECK(b[basic.members()[6].type].name() == "ck_u32");
    // name[16], matrix[3][4], ptr -> ck_inner, anonymous union and struct, flexible tail
    const bk::type name = b[basic.members()[7].type];
    REQUIRE(name.is(kind::array));
    CHECK(name.array().nelems == 16);
    CHECK(b[name.array().type].name() == "char");
    const bk::type matrix = b[basic.members()[8].type];
    REQUIRE(matrix.is(kind::array));
    CHECK(matrix.array().nelems == 3);
    REQUIRE(b[matrix.array().type].is(kind::array));
    CHECK(b[matrix.array().type].array().nelems == 4);
    CHECK(size_of(b, basic.members()[8].type) == 48);
    const bk::type ptr = b[basic.members()[10].type];
    REQUIRE(ptr.is(kind::ptr));
    CHECK(b[ptr.ref()].name() == "ck_inner");
    const bk::type anon_union = b[basic.members()[11].type];
    CHECK(anon_union.is(kind::union_));
    CHECK(anon_union.name().empty());
    CHECK(anon_union.vlen() == 2);
    CHECK(resolved_name(b, anon_union.members()[1].type) == "float");
    const bk::type anon_struct = b[basic.members()[12].type];
    CHECK(anon_struct.is(kind::struct_));
    CHECK(anon_struct.name().empty());
    CHECK(b.string(anon_struct.members()[1].name_off) == "s_b");
    CHECK(anon_struct.members()[1].bit_offset == 16);
    const bk::type tail = b[basic.members()[13].type];
    REQUIRE(tail.is(kind::array));
    CHECK(tail.array().nelems == 0);

    check_composite(b, kind::struct_, "ck_bits", 24,
                    {{"u4", 0, 4, "unsigned int"},
                     {"s5", 4, 5, "int"},
                     {"u7", 9, 7, "unsigned int"},
                     {"u40", 16, 40, "unsigned long long"},
                     {"s33", 64, 33, "long long"},
                     {"u12", 97, 12, "unsigned short"},
                     {"flag", 109, 1, "unsigned char"},
                     {"plain", 128, 0, "int"}});
    CHECK(require_type(b, kind::struct_, "ck_bits").kflag());
    check_composite(b, kind::struct_, "ck_packed", 12,
                    {{"a", 0, 20, "unsigned int"}, {"b", 32, 20, "unsigned int"}, {"c", 52, 3, "unsigned char"}, {"d", 64, 0, "short"}});
    check_composite(b, kind::struct_, "ck_flavor___v1", 8, {{"old_name", 0, 0, "int"}, {"common", 32, 0, "int"}});
    check_composite(b, kind::struct_, "ck_flavor___v2", 16,
                    {{"pad", 0, 0, "long long"}, {"new_name", 64, 0, "int"}, {"common", 96, 0, "int"}});
    check_composite(b, kind::struct_, "ck_amb", 4, {{"x", 0, 0, "int"}});
    check_composite(b, kind::struct_, "ck_match", 24, {{"a", 0, 0, "int"}, {"b", 64, 0, "unsigned long"}, {"p", 128, 0, ""}});
    check_composite(b, kind::union_, "ck_union", 8, {{"i", 0, 0, "int"}, {"l", 0, 0, "long long"}, {"in", 0, 0, "ck_inner"}});
    check_composite(b, kind::struct_, "ck_missing", 4, {{"z", 0, 0, "int"}});
    check_composite(b, kind::struct_, "ck_only_t2", 4, {{"w", 0, 0, "int"}});

    const bk::type td = require_type(b, kind::typedef_, "ck_basic_t");
    CHECK(b[td.ref()].name() == "ck_basic");
    CHECK(resolved_name(b, require_type(b, kind::typedef_, "ck_u32").id()) == "unsigned int");

    check_enum(b, kind::enum_, "ck_color", 4, false, {{"CK_RED", 0}, {"CK_GREEN", 1}, {"CK_BLUE", 2}, {"CK_VIOLET", 3}});
    check_enum(b, kind::enum_, "ck_signed", 4, true, {{"CK_NEG", -5}, {"CK_ZERO", 0}, {"CK_POS", 7}});
    check_enum(b, kind::enum64, "ck_big", 8, false, {{"CK_BIG_LO", 1}, {"CK_BIG_HI", 0x123456789abcdef0}});
    check_enum(b, kind::enum64, "ck_sbig", 8, true, {{"CK_SBIG_NEG", -0x100000000LL}, {"CK_SBIG_POS", 1}});
    check_enum(b, kind::enum_, "ck_gone_enum", 4, false, {{"CK_GONE_A", 1}});
    check_enum(b, kind::enum_, "ck_uhigh", 4, false, {{"CK_ULOW", 1}, {"CK_UHIGH", 0x80000000LL}});
    // stored bits of a signed 32-bit enumerator, and both halves of a 64-bit one
    CHECK(require_type(b, kind::enum_, "ck_signed").enumerators()[0].lo32 == 0xfffffffbu);
    const bk::enumerator big = require_type(b, kind::enum64, "ck_big").enumerators()[1];
    CHECK(big.lo32 == 0x9abcdef0u);
    CHECK(big.hi32 == 0x12345678u);
}

void check_core_kinds_relos(const bk::bpf_object& o) {
    using rk = bk::relo_kind;
    const auto rs = relos_of(o);
    const auto n = count_kinds(rs);
    MESSAGE("core_kinds: " << rs.size() << " CO-RE records: " << kind_counts_text(n));
    CHECK(all_kinds_present(n));
    check_relo_sites(o, rs);

    // Sections that hold records: both .text subprograms, five programs, three non-autoload ones.
    std::set<std::string> sections;
    for (const relo_rec& r : rs) sections.insert(r.section);
    CHECK(sections == std::set<std::string>{".text", "socket", "tc", "raw_tp/sys_enter", "tp/syscalls/sys_enter_getpid",
                                            "?socket", "?tc"});

    struct want { std::string_view section; rk kind; std::string_view root, access; };
    const want wants[] = {
        // ck_sub_fields: loads and stores, anonymous members, nested struct, typedef'd field
        {".text", rk::field_byte_offset, "ck_basic", "0:0"},
        {".text", rk::field_byte_offset, "ck_basic", "0:1"},
        {".text", rk::field_byte_offset, "ck_basic", "0:2"},
        {".text", rk::field_byte_offset, "ck_basic", "0:6"},
        {".text", rk::field_byte_offset, "ck_basic", "0:9:0"},
        {".text", rk::field_byte_offset, "ck_basic", "0:11:0"},
        {".text", rk::field_byte_offset, "ck_basic", "0:12:1"},
        // ck_global_types: enumerators (index in the enum) and type relocations
        {".text", rk::enumval_exists, "ck_color", "3"},
        {".text", rk::enumval_value, "ck_color", "1"},
        {".text", rk::enumval_value, "ck_color", "3"},
        {".text", rk::enumval_value, "ck_signed", "0"},
        {".text", rk::enumval_value, "ck_big", "1"},
        {".text", rk::enumval_exists, "ck_big", "0"},
        {".text", rk::enumval_value, "ck_sbig", "0"},
        {".text", rk::enumval_exists, "ck_gone_enum", "0"},
        {".text", rk::enumval_value, "ck_gone_enum", "0"},
        {".text", rk::type_id_local, "int", "0"},
        {".text", rk::type_size, "ck_bits", "0"},
        {".text", rk::type_exists, "ck_big", "0"},
        // ck_fields
        {"socket", rk::field_byte_offset, "ck_basic", "0:1"},
        {"socket", rk::field_byte_size, "ck_basic", "0:1"},
        {"socket", rk::field_byte_size, "ck_basic", "0:7"},
        {"socket", rk::field_exists, "ck_basic", "0:4"},
        {"socket", rk::field_byte_offset, "ck_basic", "0:4"},
        {"socket", rk::field_exists, "ck_basic", "0:5"},
        {"socket", rk::field_signed, "ck_basic", "0:12:1"},
        {"socket", rk::field_signed, "ck_basic", "0:3"},
        {"socket", rk::field_byte_offset, "ck_basic", "0:9:1"},
        {"socket", rk::field_exists, "ck_basic", "0:11:1"},
        {"socket", rk::field_byte_offset, "ck_basic", "0:13"},
        {"socket", rk::field_byte_offset, "ck_basic", "0:13:5"},
        {"socket", rk::field_exists, "ck_flavor___v1", "0:0"},
        {"socket", rk::field_exists, "ck_flavor___v2", "0:1"},
        {"socket", rk::field_byte_offset, "ck_flavor___v1", "0:1"},
        // ck_arrays: indices, out-of-range candidates, pointer as array
        {"socket", rk::field_byte_offset, "ck_basic", "0:7:3"},
        {"socket", rk::field_exists, "ck_basic", "0:7:12"},
        {"socket", rk::field_exists, "ck_basic", "0:8:2:3"},
        {"socket", rk::field_byte_size, "ck_basic", "0:8"},
        {"socket", rk::field_byte_size, "ck_basic", "0:8:1"},
        {"socket", rk::field_byte_offset, "ck_basic", "3:1"},
        {"socket", rk::field_byte_offset, "ck_basic", "2:9:1"},
        // ck_bitfields: the five records of BPF_CORE_READ_BITFIELD, per field
        {"tc", rk::field_byte_offset, "ck_bits", "0:4"},
        {"tc", rk::field_byte_size, "ck_bits", "0:4"},
        {"tc", rk::field_lshift_u64, "ck_bits", "0:4"},
        {"tc", rk::field_signed, "ck_bits", "0:4"},
        {"tc", rk::field_rshift_u64, "ck_bits", "0:4"},
        {"tc", rk::field_exists, "ck_bits", "0:6"},
        {"tc", rk::field_lshift_u64, "ck_bits", "0:6"},
        {"tc", rk::field_rshift_u64, "ck_packed", "0:1"},
        {"tc", rk::field_byte_offset, "ck_bits", "0:7"},
        // ck_probed: pointer chase, nested arrays, probed bitfields
        {"raw_tp/sys_enter", rk::field_byte_offset, "ck_basic", "0:10"},
        {"raw_tp/sys_enter", rk::field_byte_offset, "ck_inner", "0:1"},
        {"raw_tp/sys_enter", rk::field_byte_offset, "ck_basic", "0:8:1:1"},
        {"raw_tp/sys_enter", rk::field_byte_size, "ck_bits", "0:5"},
        {"raw_tp/sys_enter", rk::field_lshift_u64, "ck_bits", "0:4"},
        // ck_types
        {"tp/syscalls/sys_enter_getpid", rk::type_id_local, "ck_basic", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_id_target, "ck_basic", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_id_target, "ck_missing", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_exists, "ck_basic_t", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_exists, "ck_missing", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_exists, "ck_only_t2", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_exists, "ck_union", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_size, "ck_basic", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_size, "ck_u32", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_size, "ck_color", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_matches, "ck_match", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_matches, "ck_signed", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_matches, "ck_u32", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_matches, "ck_flavor___v1", "0"},
        {"tp/syscalls/sys_enter_getpid", rk::type_id_target, "ck_flavor___v2", "0"},
        // non-autoload programs
        {"?socket", rk::field_byte_offset, "ck_basic", "0:3"},
        {"?socket", rk::field_byte_offset, "ck_basic", "0:4"},
        {"?socket", rk::field_byte_offset, "ck_basic", "0:7:12"},
        {"?socket", rk::enumval_value, "ck_gone_enum", "0"},
        {"?socket", rk::enumval_value, "ck_uhigh", "1"},
        {"?tc", rk::field_byte_offset, "ck_amb", "0:0"},
        {"?tc", rk::field_exists, "ck_amb", "0:0"},
    };
    for (const want& w : wants) {
        CHECK_MESSAGE(has_relo(rs, w.section, w.kind, w.root, w.access),
                      "missing " << w.section << " " << bk::relo_kind_name(w.kind) << " " << w.root << " " << w.access);
    }
    // a signed change and a typedef root
    for (const relo_rec& r : rs) {
        if (r.root == "ck_basic_t") CHECK(r.root_kind == bk::kind::typedef_);
        if (r.root == "ck_big" || r.root == "ck_sbig") CHECK(r.root_kind == bk::kind::enum64);
    }
    // Loads, stores and ldimm64 all carry records.
    bool saw_ldx = false, saw_stx = false, saw_ldimm64 = false, saw_alu = false;
    for (const relo_rec& r : rs) {
        const bk::elf_section s = o.file().section(r.elf_index);
        const bk::insn i = o.instruction(s, r.r.insn_off / 8);
        saw_ldx |= i.cls() == bk::insn_const::cls_ldx;
        saw_stx |= i.cls() == bk::insn_const::cls_stx;
        saw_ldimm64 |= i.is_ldimm64();
        saw_alu |= i.cls() == bk::insn_const::cls_alu64 || i.cls() == bk::insn_const::cls_alu;
    }
    CHECK(saw_ldx);
    CHECK(saw_stx);
    CHECK(saw_ldimm64);
    CHECK(saw_alu);
}

void check_core_kinds(const fixture& fx, bk::byte_order order) {
    const bk::bpf_object& o = fx.obj;
    CHECK(o.file().machine() == bk::elf_const::em_bpf);
    CHECK(o.file().order() == order);
    REQUIRE(o.has_btf());
    REQUIRE(o.has_ext());
    CHECK(o.btf().order() == order);
    check_core_kinds_local_types(o.btf());
    check_programs(o, {{"ck_global_types", ".text", true},
                       {"ck_sub_fields", ".text", true},
                       {"ck_fields", "socket", false},
                       {"ck_arrays", "socket", false},
                       {"ck_bitfields", "tc", false},
                       {"ck_probed", "raw_tp/sys_enter", false},
                       {"ck_types", "tp/syscalls/sys_enter_getpid", false},
                       {"ck_must_fail", "?socket", false},
                       {"ck_enum_edge", "?socket", false},
                       {"ck_ambiguous", "?tc", false}});
    check_line_info(o, "core_kinds.bpf.c");
    check_core_kinds_relos(o);
}

}  // namespace

TEST_CASE("core_kinds: local types, programs and every relocation kind (little endian)") {
    auto fx = open_fixture("core_kinds.bpf.o");
    if (!fx) return;
    check_core_kinds(*fx, bk::byte_order::little);
}

TEST_CASE("core_kinds: big endian decodes like little endian") {
    auto be = open_fixture("core_kinds.be.bpf.o");
    if (!be) return;
    check_core_kinds(*be, bk::byte_order::big);
    auto le = open_fixture("core_kinds.bpf.o");
    if (!le) return;
    check_same_btf(le->obj.btf(), be->obj.btf());
    check_same_relos(*le, *be);
}

namespace {

// What each TARGET build changes (README.md has the table).
void check_target_1(const bk::btf& b) {
    using bk::kind;
    check_composite(b, kind::struct_, "ck_inner", 12, {{"pad", 0, 0, "int"}, {"x", 32, 0, "int"}, {"y", 64, 0, "int"}});
    check_composite(b, kind::struct_, "ck_basic", 120,
                    {{"a", 0, 0, "int"},
                     {"t1_new", 4 * 8, 0, "int"},
                     {"grow", 8 * 8, 0, "unsigned long long"},
                     {"shrink", 16 * 8, 0, "unsigned int"},
                     {"sshrink", 20 * 8, 0, "int"},
                     {"td", 24 * 8, 0, "unsigned long long"},
                     {"cv", 32 * 8, 0, "int"},
                     {"name", 36 * 8, 0, ""},
                     {"u_i", 44 * 8, 0, "int"},
                     {"", 48 * 8, 0, ""},
                     {"in", 52 * 8, 0, "ck_inner"},
                     {"ptr", 64 * 8, 0, ""},
                     {"matrix", 72 * 8, 0, ""},
                     {"tail", 120 * 8, 0, ""}});
    const bk::type basic = require_type(b, kind::struct_, "ck_basic");
    CHECK(b[basic.members()[7].type].array().nelems == 8);
    CHECK(resolved_name(b, b[basic.members()[9].type].members()[1].type) == "unsigned short");
    check_composite(b, kind::struct_, "ck_bits", 32,
                    {{"t1_pad", 0, 3, "unsigned int"},
                     {"u4", 3, 4, "unsigned int"},
                     {"s5", 7, 6, "int"},
                     {"u7", 13, 7, "unsigned int"},
                     {"u40", 64, 0, "unsigned long long"},
                     {"s33", 128, 33, "long long"},
                     {"u12", 161, 12, "unsigned short"},
                     {"plain", 192, 0, "int"}});
    check_composite(b, kind::struct_, "ck_packed", 8,
                    {{"pre", 0, 4, ""}, {"a", 4, 20, ""}, {"b", 24, 20, "unsigned int"}, {"c", 44, 3, ""}, {"d", 48, 0, "short"}});
    check_composite(b, kind::struct_, "ck_flavor", 8, {{"old_name", 0, 0, "int"}, {"common", 32, 0, "int"}});
    check_composite(b, kind::struct_, "ck_amb___a", 4, {{"x", 0, 0, "int"}});
    check_composite(b, kind::struct_, "ck_amb___b", 16, {{"pad", 0, 0, "long long"}, {"x", 64, 0, "int"}});
    check_composite(b, kind::struct_, "ck_match", 32,
                    {{"extra", 0, 0, "long"}, {"p", 64, 0, ""}, {"b", 128, 0, "unsigned long"}, {"a", 192, 0, "int"}});
    check_composite(b, kind::union_, "ck_union", 24, {{"i", 0, 0, "int"}, {"bytes", 0, 0, ""}});
    CHECK(find_type(b, kind::typedef_, "ck_basic_t").has_value());
    CHECK(resolved_name(b, require_type(b, kind::typedef_, "ck_u32").id()) == "unsigned long long");
    CHECK_FALSE(find_type(b, kind::struct_, "ck_missing").has_value());
    CHECK_FALSE(find_type(b, kind::struct_, "ck_only_t2").has_value());
    CHECK_FALSE(find_type(b, kind::struct_, "ck_amb").has_value());
    CHECK_FALSE(find_type(b, kind::enum_, "ck_gone_enum").has_value());
    check_enum(b, kind::enum_, "ck_color", 4, false, {{"CK_BLUE", 20}, {"CK_RED", 21}, {"CK_GREEN", 22}});
    check_enum(b, kind::enum_, "ck_signed", 4, true, {{"CK_POS", 70}, {"CK_NEG", -100}, {"CK_ZERO", 0}});
    check_enum(b, kind::enum64, "ck_big", 8, false,
               {{"CK_BIG_HI", static_cast<std::int64_t>(0xfedcba9876543210ULL)}, {"CK_BIG_LO", 2}});
    check_enum(b, kind::enum64, "ck_sbig", 8, true, {{"CK_SBIG_POS", 1}, {"CK_SBIG_NEG", -0x200000000LL}});
    check_enum(b, kind::enum_, "ck_uhigh", 4, false, {{"CK_ULOW", 1}, {"CK_UHIGH", 0x80000001LL}});
}

void check_target_2(const bk::btf& b) {
    using bk::kind;
    check_composite(b, kind::struct_, "ck_inner", 8, {{"x", 0, 0, "int"}, {"y", 32, 0, "int"}});
    check_composite(b, kind::struct_, "ck_basic", 136,
                    {{"a", 0, 0, "int"},
                     {"grow", 4 * 8, 0, "unsigned int"},
                     {"shrink", 8 * 8, 0, "unsigned long long"},
                     {"sshrink", 16 * 8, 0, "long long"},
                     {"cv", 24 * 8, 0, ""},
                     {"td", 28 * 8, 0, "unsigned int"},
                     {"name", 32 * 8, 0, ""},
                     {"matrix", 64 * 8, 0, ""},
                     {"ptr", 96 * 8, 0, ""},
                     {"in", 104 * 8, 0, "ck_inner"},
                     {"", 112 * 8, 0, ""},
                     {"s_a", 128 * 8, 0, "short"},
                     {"s_b", 130 * 8, 0, "short"},
                     {"tail", 132 * 8, 0, ""}});
    const bk::type basic = require_type(b, kind::struct_, "ck_basic");
    CHECK(b[basic.members()[4].type].is(kind::struct_));  // cv: a struct now
    CHECK(b[basic.members()[6].type].array().nelems == 32);
    CHECK(b[basic.members()[7].type].array().nelems == 2);
    // u_i two anonymous levels down
    const bk::type outer = b[basic.members()[10].type];
    REQUIRE(outer.is(kind::struct_));
    const bk::type inner = b[outer.members()[0].type];
    REQUIRE(inner.is(kind::union_));
    CHECK(b.string(inner.members()[0].name_off) == "u_i");
    check_composite(b, kind::struct_, "ck_bits", 24,
                    {{"u4", 0, 4, "unsigned int"},
                     {"s5", 4, 5, "unsigned int"},
                     {"u7", 9, 7, "unsigned int"},
                     {"u40", 16, 48, "unsigned long long"},
                     {"s33", 64, 33, "unsigned long long"},
                     {"flag", 97, 1, "unsigned char"},
                     {"u12", 98, 12, "unsigned short"},
                     {"plain", 128, 0, "int"}});
    check_composite(b, kind::struct_, "ck_packed", 12,
                    {{"a", 0, 20, ""}, {"b", 32, 20, ""}, {"c", 52, 9, "unsigned short"}, {"d", 64, 0, "short"}});
    check_composite(b, kind::struct_, "ck_flavor___t2", 16,
                    {{"pad", 0, 0, "long long"}, {"new_name", 64, 0, "int"}, {"common", 96, 0, "int"}});
    check_composite(b, kind::struct_, "ck_amb___a", 8, {{"x", 0, 0, "int"}, {"y", 32, 0, "int"}});
    check_composite(b, kind::struct_, "ck_amb___b", 16, {{"x", 0, 0, "int"}, {"z", 64, 0, "long long"}});
    check_composite(b, kind::struct_, "ck_match", 24, {{"a", 0, 0, "int"}, {"b", 64, 0, "long"}, {"p", 128, 0, ""}});
    check_composite(b, kind::struct_, "ck_union", 16, {{"i", 0, 0, "int"}, {"l", 64, 0, "long long"}});
    check_composite(b, kind::struct_, "ck_only_t2", 4, {{"w", 0, 0, "int"}});
    CHECK_FALSE(find_type(b, kind::union_, "ck_union").has_value());
    CHECK_FALSE(find_type(b, kind::typedef_, "ck_basic_t").has_value());
    CHECK_FALSE(find_type(b, kind::struct_, "ck_missing").has_value());
    CHECK(resolved_name(b, require_type(b, kind::typedef_, "ck_u32").id()) == "unsigned int");
    check_enum(b, kind::enum_, "ck_color", 2, false, {{"CK_RED", 0}, {"CK_GREEN", 1}, {"CK_BLUE", 2}, {"CK_VIOLET", 300}});
    check_enum(b, kind::enum_, "ck_signed", 4, true, {{"CK_NEG", -6}, {"CK_POS", 7}});
    check_enum(b, kind::enum_, "ck_big", 4, false, {{"CK_BIG_HI", 0x7654321}});
    check_enum(b, kind::enum_, "ck_sbig", 4, true, {{"CK_SBIG_NEG", -1}, {"CK_SBIG_POS", 1}});
    check_enum(b, kind::enum_, "ck_uhigh", 4, false, {{"CK_ULOW", 1}, {"CK_UHIGH", 0x80000000LL}});
}

// A target object is only a .BTF: no programs, no .BTF.ext.
void check_target_object(const fixture& fx, bk::byte_order order) {
    CHECK(fx.obj.file().order() == order);
    REQUIRE(fx.obj.has_btf());
    CHECK_FALSE(fx.obj.has_ext());
    CHECK(programs_of(fx.obj).empty());
}

}  // namespace

TEST_CASE("core_kinds TARGET=1 and TARGET=2: target layouts") {
    const std::pair<const char*, bk::byte_order> t1[] = {{"core_kinds.t1.bpf.o", bk::byte_order::little},
                                                          {"core_kinds.t1.be.bpf.o", bk::byte_order::big}};
    for (const auto& [name, order] : t1) {
        SUBCASE(name) {
            auto fx = open_fixture(name);
            if (!fx) return;
            check_target_object(*fx, order);
            check_target_1(fx->obj.btf());
        }
    }
    const std::pair<const char*, bk::byte_order> t2[] = {{"core_kinds.t2.bpf.o", bk::byte_order::little},
                                                          {"core_kinds.t2.be.bpf.o", bk::byte_order::big}};
    for (const auto& [name, order] : t2) {
        SUBCASE(name) {
            auto fx = open_fixture(name);
            if (!fx) return;
            check_target_object(*fx, order);
            check_target_2(fx->obj.btf());
        }
    }
}

TEST_CASE("kernel_core: loadable programs against the kernel's own types") {
    auto fx = open_fixture("kernel_core.bpf.o");
    if (!fx) return;
    const bk::bpf_object& o = fx->obj;
    const bk::btf& b = o.btf();
    REQUIRE(o.has_ext());
    check_programs(o, {{"kc_task", "kprobe/do_nanosleep", false},
                       {"kc_types", "tracepoint/syscalls/sys_enter_getpid", false},
                       {"kc_skb", "raw_tp/netif_receive_skb", false}});
    check_line_info(o, "kernel_core.bpf.c");

    // A raw loader needs nothing but the program sections: no maps, no global data, no calls to patch.
    for (const bk::elf_section s : o.file().sections()) {
        CHECK(s.name != ".maps");
        CHECK_FALSE(s.name.starts_with(".data"));
        CHECK_FALSE(s.name.starts_with(".rodata"));
        CHECK_FALSE(s.name.starts_with(".bss"));
        if (s.type == bk::elf_const::sht_rel || s.type == bk::elf_const::sht_rela) {
            REQUIRE(s.info < o.file().section_count());
            CHECK_MESSAGE((o.file().section(s.info).flags & bk::elf_const::shf_execinstr) == 0, s.name);
        }
    }
    const auto license = o.file().find_section("license");
    REQUIRE(license.has_value());
    const bk::byte_span text = o.file().section_data(*license);
    REQUIRE(text.size() == 4);
    CHECK(std::string_view(text.data(), 3) == "GPL");
    CHECK(text[3] == '\0');

    check_composite(b, bk::kind::struct_, "task_struct", 72,
                    {{"__state", 0, 0, "unsigned int"},
                     {"flags", 32, 0, "unsigned int"},
                     {"prio", 64, 0, "int"},
                     {"mm", 128, 0, ""},
                     {"in_execve", 192, 1, "unsigned int"},
                     {"pid", 224, 0, "int"},
                     {"tgid", 256, 0, "int"},
                     {"real_parent", 320, 0, ""},
                     {"group_leader", 384, 0, ""},
                     {"comm", 448, 0, ""}});
    check_composite(b, bk::kind::struct_, "task_struct___old", 8, {{"state", 0, 0, "long"}});
    CHECK(require_type(b, bk::kind::typedef_, "pid_t").name() == "pid_t");
    const bk::type func_id = require_type(b, bk::kind::enum_, "bpf_func_id");
    CHECK(func_id.vlen() == 5);
    CHECK(func_id.enumerators()[3].value == 113);  // BPF_FUNC_probe_read_kernel

    using rk = bk::relo_kind;
    const auto rs = relos_of(o);
    const auto n = count_kinds(rs);
    MESSAGE("kernel_core: " << rs.size() << " CO-RE records: " << kind_counts_text(n));
    CHECK(all_kinds_present(n));
    check_relo_sites(o, rs);
    CHECK(has_relo(rs, "kprobe/do_nanosleep", rk::field_byte_offset, "task_struct", "0:7"));     // real_parent
    CHECK(has_relo(rs, "kprobe/do_nanosleep", rk::field_exists, "task_struct___old", "0:0"));   // state
    CHECK(has_relo(rs, "kprobe/do_nanosleep", rk::field_byte_offset, "task_struct___old", "0:0"));
    CHECK(has_relo(rs, "kprobe/do_nanosleep", rk::field_lshift_u64, "task_struct", "0:4"));     // in_execve
    CHECK(has_relo(rs, "kprobe/do_nanosleep", rk::field_byte_offset, "mm_struct", "0:0"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::enumval_exists, "bpf_func_id", "3"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::enumval_exists, "bpf_func_id", "4"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::enumval_value, "bpf_func_id", "2"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::type_id_target, "task_struct", "0"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::type_exists, "btfkit_no_such_struct", "0"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::type_exists, "pid_t", "0"));
    CHECK(has_relo(rs, "tracepoint/syscalls/sys_enter_getpid", rk::type_matches, "list_head", "0"));
    CHECK(has_relo(rs, "raw_tp/netif_receive_skb", rk::field_byte_offset, "net_device", "0:1"));
    CHECK(has_relo(rs, "raw_tp/netif_receive_skb", rk::field_exists, "sk_buff", "0:7"));
    CHECK(has_relo(rs, "raw_tp/netif_receive_skb", rk::field_signed, "sk_buff", "0:1"));
}

TEST_CASE("core_stress: hundreds of records with deep access strings") {
    const std::pair<const char*, bk::byte_order> objs[] = {{"core_stress.bpf.o", bk::byte_order::little},
                                                           {"core_stress.be.bpf.o", bk::byte_order::big}};
    for (const auto& [name, order] : objs) {
        SUBCASE(name) {
            auto fx = open_fixture(name);
            if (!fx) return;
            const bk::bpf_object& o = fx->obj;
            CHECK(o.file().order() == order);
            check_programs(o, {{"st_sub", ".text", true},
                               {"st_loads", "socket", false},
                               {"st_bits", "tc", false},
                               {"st_info", "xdp", false},
                               {"st_enums", "tp/syscalls/sys_enter_getppid", false},
                               {"st_chase", "raw_tp/sys_exit", false}});
            check_composite(o.btf(), bk::kind::struct_, "st_leaf", 24,
                            {{"v", 0, 0, ""}, {"lo", 128, 3, "unsigned int"}, {"mid", 131, 9, "int"}, {"hi", 140, 37, "unsigned long long"}});
            const bk::type wide = require_type(o.btf(), bk::kind::enum64, "st_wide");
            CHECK(wide.vlen() == 33);
            CHECK(wide.enumerators()[32].value == 0x1000000000000ULL);

            const auto rs = relos_of(o);
            const auto n = count_kinds(rs);
            MESSAGE(std::string(name) << ": " << rs.size() << " CO-RE records: " << kind_counts_text(n));
            CHECK(rs.size() >= 200);
            CHECK(all_kinds_present(n));
            CHECK(n[static_cast<std::uint32_t>(bk::relo_kind::enumval_value)] >= 33);
            check_relo_sites(o, rs);
            std::set<std::string> sections;
            std::size_t deepest = 0;
            for (const relo_rec& r : rs) {
                sections.insert(r.section);
                deepest = std::max(deepest, parse_access(r.access).size());
            }
            CHECK(sections.size() == 6);
            CHECK(deepest >= 7);  // e.g. anon.inner.leaves[2].v[3]: 0:1:0:0:2:0:3
            CHECK(has_relo(rs, "socket", bk::relo_kind::field_byte_offset, "st_root", "0:0:1:0:2:0:3"));
            CHECK(has_relo(rs, "socket", bk::relo_kind::field_byte_offset, "st_root", "1:0:0:0:1:0:2"));
            CHECK(has_relo(rs, "xdp", bk::relo_kind::field_byte_offset, "st_root", "0:0:1:2:0:0:1"));  // deep[1]
        }
    }
}

TEST_CASE("no_core: .BTF.ext without CO-RE records, and an object without BTF") {
    if (auto fx = open_fixture("no_core.bpf.o")) {
        const bk::bpf_object& o = fx->obj;
        REQUIRE(o.has_btf());
        REQUIRE(o.has_ext());
        CHECK(o.ext().core_relo_count() == 0);
        CHECK(o.ext().core_relos().empty());
        CHECK_FALSE(o.ext().func_infos().empty());
        check_programs(o, {{"nc_add", ".text", true}, {"nc_prog", "socket", false}});
        check_line_info(o, "no_core.bpf.c");
    }
    if (auto fx = open_fixture("no_core.nobtf.bpf.o")) {
        const bk::bpf_object& o = fx->obj;
        CHECK_FALSE(o.has_btf());
        CHECK_FALSE(o.has_ext());
        check_programs(o, {{"nc_add", ".text", true}, {"nc_prog", "socket", false}});
    }
}

TEST_CASE("object_btf: an object's raw .BTF and .BTF.ext alone, checked as bpf_object::parse checks them") {
    auto fx = open_fixture("core_kinds.bpf.o");
    if (!fx) return;
    const bk::elf& e = fx->obj.file();
    const bk::byte_span btf = e.section_data(*e.find_section(".BTF")), ext = e.section_data(*e.find_section(".BTF.ext"));
    auto local = bk::object_btf::parse(btf, ext);
    REQUIRE_MESSAGE(local.has_value(), local.error().message());
    CHECK(local->has_btf());
    CHECK(local->has_ext());
    CHECK(local->order() == bk::byte_order::little);
    CHECK(local->btf().type_count() == fx->obj.btf().type_count());
    CHECK(local->ext().core_relo_count() == fx->obj.ext().core_relo_count());
    // Without the ELF, blocks have no section index; with bpf_object, they do.
    std::vector<std::pair<std::string_view, std::uint32_t>> raw, elf;
    for (const auto b : local->ext().core_relos()) raw.emplace_back(b.section_name(), b.elf_index());
    for (const auto b : fx->obj.local().ext().core_relos()) elf.emplace_back(b.section_name(), b.elf_index());
    REQUIRE(raw.size() == elf.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        CHECK(raw[i].first == elf[i].first);
        CHECK(raw[i].second == 0);
        CHECK(elf[i].second == e.find_section(elf[i].first)->index);
    }
    // A move keeps the .BTF.ext view on the moved .BTF.
    bk::object_btf moved = std::move(*local);
    CHECK(moved.ext().core_relo_count() == fx->obj.ext().core_relo_count());
    CHECK((*moved.ext().core_relos().begin()).section_name() == raw.front().first);

    // Errors, as bpf_object::parse names them.
    const auto no_btf = bk::object_btf::parse(std::nullopt, ext);
    REQUIRE_FALSE(no_btf.has_value());
    CHECK(no_btf.error().message().find(".BTF.ext without .BTF") != std::string::npos);
    const auto cut = bk::object_btf::parse(btf.first(btf.size() - 1), ext);
    REQUIRE_FALSE(cut.has_value());
    CHECK(cut.error().message().starts_with("section .BTF"));
    const auto empty_ext = bk::object_btf::parse(btf, bk::byte_span{});
    REQUIRE_FALSE(empty_ext.has_value());
    CHECK(empty_ext.error().code == bk::errc::truncated);
    // No .BTF.ext: nothing to relocate, no error.
    const auto only = bk::object_btf::parse(btf, std::nullopt);
    REQUIRE(only.has_value());
    CHECK_FALSE(only->has_ext());
}
