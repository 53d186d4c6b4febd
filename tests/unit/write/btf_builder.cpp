// write/btf_builder.hpp: static_asserts that build BTF of every kind and read it back (repeated at run
// time), errors that name their place, and the round trip parse(write(x)) over the whole corpus and
// the running kernel's BTF.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>
#include <fstream>
#include <string>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/write/btf_builder.hpp"
#include "btf_rebuild.hpp"

namespace {

using namespace btfkit;
namespace fs = std::filesystem;

// One type of every kind, with kflag, bitfields, a vararg prototype, decl tags on a type and on a
// member, a type tag and a signed ENUM64; `x` twice (a member name and a parameter name).
constexpr btf_builder every_kind(byte_order order) {
    btf_builder b(order);
    const auto i = b.add_int("int", 4, int_signed);                                           // 1
    const auto c = b.add_int("char", 1, int_char | int_signed);                               // 2
    const auto p = b.add_ptr(i);                                                              // 3
    const auto a = b.add_array(c, i, 16);                                                     // 4
    const auto s = b.add_struct("s", 24, {{"x", i, 0, 0}, {"bits", i, 32, 3}, {"p", p, 64, 0}});  // 5, kflag
    b.add_union("u", 16, {{"arr", a, 0}, {"y", i, 0}});                                       // 6
    b.add_enum("e", 4, true, {{"NEG", static_cast<std::uint64_t>(-5)}, {"POS", 7}});           // 7
    b.add_enum64("e64", 8, false, {{"BIG", 1ull << 40}});                                     // 8
    b.add_fwd("fu", true);                                                                    // 9
    const auto td = b.add_typedef("s_t", s);                                                  // 10
    const auto v = b.add_volatile(td);                                                        // 11
    const auto k = b.add_const(v);                                                            // 12
    b.add_restrict(p);                                                                        // 13
    const auto fp = b.add_func_proto(i, {{"x", k}, {"", 0}});                                 // 14
    b.add_func("fn", fp, linkage_static);                                                     // 15
    const auto var = b.add_var("v", i, linkage_global);                                       // 16
    b.add_datasec(".data", 4, {{var, 0, 4}});                                                 // 17
    b.add_float("double", 8);                                                                 // 18
    b.add_decl_tag("tag", s);                                                                 // 19
    b.add_decl_tag("mtag", s, 1, true);                                                       // 20
    b.add_type_tag("user", i);                                                                // 21
    return b;
}

constexpr bool reads_back_every_kind(byte_order order) {
    const btf_builder b = every_kind(order);
    const auto bytes = b.encode();
    if (!bytes) return false;
    const auto r = btf::parse({bytes->data(), bytes->size()});
    if (!r || r->order() != order || r->type_count() != 22) return false;
    const btf& t = *r;
    bool ok = true;
    const kind kinds[] = {kind::unknown, kind::int_, kind::int_, kind::ptr, kind::array, kind::struct_, kind::union_, kind::enum_,
                          kind::enum64, kind::fwd, kind::typedef_, kind::volatile_, kind::const_, kind::restrict_, kind::func_proto,
                          kind::func, kind::var, kind::datasec, kind::float_, kind::decl_tag, kind::decl_tag, kind::type_tag};
    for (std::uint32_t id = 1; id < 22; ++id) ok = ok && t[id].kind() == kinds[id];
    const type s = t[5];
    ok = ok && s.name() == "s" && s.size() == 24 && s.kflag() && s.vlen() == 3;
    ok = ok && t.string(s.members()[1].name_off) == "bits" && s.members()[1].bit_offset == 32 && s.members()[1].bitfield_size == 3;
    ok = ok && t[6].name() == "u" && !t[6].kflag() && t[6].members()[0].type == 4;
    ok = ok && t[2].int_encoding() == (int_char | int_signed) && t[2].int_bits() == 8;
    ok = ok && t[4].array().nelems == 16 && t[4].array().type == 2 && t[4].array().index_type == 1;
    ok = ok && t[7].kflag() && t[7].enumerators()[0].value == static_cast<std::uint64_t>(-5) && t[7].enumerators()[1].value == 7;
    ok = ok && t[8].enumerators()[0].value == (1ull << 40) && t[8].size() == 8;
    ok = ok && t[9].kflag() && t[9].name() == "fu";
    ok = ok && t[10].ref() == 5 && t[11].ref() == 10 && t[12].ref() == 11 && t[13].ref() == 3;
    ok = ok && t[14].vlen() == 2 && t[14].params()[0].type == 12 && t[14].params()[1].type == 0 && t[14].ref() == 1;
    ok = ok && t[15].func_linkage() == linkage_static && t[15].ref() == 14;
    ok = ok && t[16].var_linkage() == linkage_global && t[17].vars()[0].type == 16 && t[17].vars()[0].size == 4;
    ok = ok && t[18].size() == 8 && t[18].name() == "double";
    ok = ok && t[19].decl_tag_component() == -1 && t[20].decl_tag_component() == 1 && t[20].kflag() && !t[19].kflag();
    ok = ok && t[21].name() == "user" && t[21].ref() == 1;
    ok = ok && t.resolve_size(10) && *t.resolve_size(10) == 24;
    return ok;
}
static_assert(reads_back_every_kind(byte_order::little));
static_assert(reads_back_every_kind(byte_order::big));

// "x" is stored once: the table holds each distinct name once, plus the leading "".
constexpr bool stores_strings_once() {
    const btf_builder b = every_kind(byte_order::little);
    std::size_t distinct = 1;  // ""
    for (std::string_view s : {"int", "char", "s", "x", "bits", "p", "u", "arr", "y", "e", "NEG", "POS", "e64", "BIG", "fu",
                               "s_t", "fn", "v", ".data", "double", "tag", "mtag", "user"}) {
        distinct += s.size() + 1;
    }
    btf_builder twice(byte_order::little);
    const auto a = twice.add_string("name");
    return b.strings().bytes().size() == distinct && twice.add_string("name") == a && twice.add_string("nam") != a &&
           twice.strings().bytes().size() == 10;
}
static_assert(stores_strings_once());

// The same BTF in either byte order: every header field and type word swapped, strings alike.
constexpr bool orders_agree() {
    const auto le = every_kind(byte_order::little).encode();
    const auto be = every_kind(byte_order::little).encode(byte_order::big);
    if (!le || !be || le->size() != be->size()) return false;
    const auto l = btf::parse({le->data(), le->size()});
    const auto b = btf::parse({be->data(), be->size()});
    if (!l || !b || b->order() != byte_order::big) return false;
    const std::size_t strings = btf_header_size + l->header().str_off;
    for (std::size_t off = 4; off < strings; off += 4) {
        if (detail::load<std::uint32_t>(le->data() + off, byte_order::little) != detail::load<std::uint32_t>(be->data() + off, byte_order::big)) return false;
    }
    for (std::size_t off = strings; off < le->size(); ++off) {
        if ((*le)[off] != (*be)[off]) return false;
    }
    return testing::first_difference(*l, *b).empty();
}
static_assert(orders_agree());

// Split BTF over a parsed base: ids continue, base strings are reused, own strings follow the base's.
constexpr bool builds_split() {
    const auto base_bytes = every_kind(byte_order::big).encode();
    if (!base_bytes) return false;
    const auto base = btf::parse({base_bytes->data(), base_bytes->size()});
    if (!base) return false;
    btf_builder b(*base);
    const auto ptr = b.add_ptr(5);
    const auto st = b.add_struct("s", 8, {{"self", ptr, 0}, {"mod_only", 1, 32}});
    const auto split = b.encode();
    if (!split || b.encode(byte_order::little)) return false;  // the base's order only
    const auto m = btf::parse({split->data(), split->size()}, &*base);
    if (!m || ptr != 22 || st != 23 || m->type_count() != 24) return false;
    const type t = (*m)[st];
    return t.name_off() == (*base)[5].name_off() && t.members()[0].type == ptr && m->string(t.members()[0].name_off) == "self" &&
           t.members()[0].name_off == base->strings_size() && m->string(t.members()[1].name_off) == "mod_only" &&
           m->own_strings().size() == 5 + 9;
}
static_assert(builds_split());

// copy_type through caller maps: the type is rewritten with the new ids and strings.
constexpr bool copies_through_maps() {
    const auto src_bytes = every_kind(byte_order::little).encode();
    if (!src_bytes) return false;
    const auto src = btf::parse({src_bytes->data(), src_bytes->size()});
    if (!src) return false;
    btf_builder b(byte_order::big);
    b.add_int("int", 4, int_signed);  // 1: where the source's 1 goes
    b.add_ptr(1);                     // 2: the source's 3
    // struct s (source 5) with its members' types mapped 1 -> 1, 3 -> 2; a map that fails is an error.
    const auto s = b.copy_type((*src)[5], [](std::uint32_t id) { return id == 3 ? 2u : id; });
    const auto out = b.encode();
    if (!out) return false;
    const auto r = btf::parse({out->data(), out->size()});
    if (!r || s != 3) return false;
    const type t = (*r)[3];
    if (t.name() != "s" || t.info() != (*src)[5].info() || t.members()[2].type != 2 || r->string(t.members()[1].name_off) != "bits" ||
        t.members()[1].raw_offset != (*src)[5].members()[1].raw_offset) {
        return false;
    }
    btf_builder bad(byte_order::little);
    bad.copy_type((*src)[3], [](std::uint32_t id) -> result<std::uint32_t> {
        return error(errc::not_found, "type not kept").at_type(id);
    });
    return bad.encode().error().code == errc::not_found && bad.encode().error().where.type_id == 1;
}
static_assert(copies_through_maps());

// Errors name the type and the record.
constexpr error error_of_member_past_end() {
    btf_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);
    b.add_struct("s", 8, {{"a", i, 0}, {"b", 99, 32}});
    return b.encode().error();
}
static_assert(error_of_member_past_end().code == errc::bad_type_id);
static_assert(error_of_member_past_end().where.type_id == 2 && error_of_member_past_end().where.index == 1);
static_assert(error_of_member_past_end().where.value == 99 && error_of_member_past_end().where.limit == 3);

constexpr error error_of_wide_bitfield() {
    btf_builder b(byte_order::little);
    const auto i = b.add_int("int", 4, int_signed);
    b.add_struct("s", 8, {{"a", i, 0, 300}});
    b.add_ptr(77);  // a later error is not the one reported
    return b.encode().error();
}
static_assert(error_of_wide_bitfield().code == errc::out_of_range && error_of_wide_bitfield().where.type_id == 2);

constexpr errc error_of_nul_in_name() {
    btf_builder b(byte_order::little);
    b.add_int(std::string_view("in\0t", 4), 4, 0);
    return b.encode().error().code;
}
static_assert(error_of_nul_in_name() == errc::bad_string);

}  // namespace

TEST_CASE("constexpr builder checks hold at run time too") {
    CHECK(reads_back_every_kind(byte_order::little));
    CHECK(reads_back_every_kind(byte_order::big));
    CHECK(stores_strings_once());
    CHECK(orders_agree());
    CHECK(builds_split());
    CHECK(copies_through_maps());
    const error e = error_of_member_past_end();
    CHECK(e.message() == "section BTF builder: type #2: member 1: refers to a type past the end (got 99, limit 3) [bad type id]");
    CHECK(error_of_wide_bitfield().message().find("type #2: member 0: member bitfield size does not fit 8 bits") != std::string::npos);
    CHECK(error_of_nul_in_name() == errc::bad_string);
}

namespace {

const fs::path corpus = BTFKIT_CORPUS_DIR;

std::vector<char> read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
byte_span span_of(const std::vector<char>& v) { return {v.data(), v.size()}; }
byte_order other(byte_order o) { return o == byte_order::little ? byte_order::big : byte_order::little; }

// Round trips counted over a set of inputs.
struct tally {
    std::size_t files = 0, types = 0, typed = 0, copied = 0, canonical = 0, identical_typed = 0, identical_copy = 0, identical_kept = 0;
    void report(const std::string& what) const {
        MESSAGE(what << ": " << files << " BTFs, " << types << " types (" << typed << " written through the typed adds, " << copied
                     << " copied); " << canonical << " in the canonical layout, of which byte-identical: " << identical_typed
                     << " rebuilt through the typed adds, " << identical_copy << " through copy_type (strings in first-use order), "
                     << identical_kept << " through the typed adds with the source's string table kept");
    }
};

enum class path { typed, copy, typed_kept_strings };

// A rebuilt BTF, parsed over its base (kept alive with its bytes).
struct written {
    std::vector<char> bytes;
    btf parsed;
};

// Rebuilds `src` (own types) over `base` (null: a base BTF) in `order`, typed or copied; checks that
// it encodes, parses and has the same types as `src`.
std::unique_ptr<written> round_trip(const std::string& name, const btf& src, const btf* base, const string_index* base_strings,
                                    byte_order order, path how, tally& t) {
    btf_builder b = base != nullptr ? btf_builder(*base, base_strings) : btf_builder(order);
    const auto n = testing::rebuild(src, b, how == path::copy, how == path::typed_kept_strings);
    auto bytes = b.encode(order);
    if (!bytes) {
        FAIL_CHECK(name << ": " << bytes.error().message());
        return nullptr;
    }
    auto out = std::make_unique<written>();
    out->bytes = std::move(*bytes);
    auto parsed = btf::parse(span_of(out->bytes), base);
    if (!parsed) {
        FAIL_CHECK(name << ": the written BTF does not parse: " << parsed.error().message());
        return nullptr;
    }
    out->parsed = std::move(*parsed);
    const auto d = testing::first_difference(src, out->parsed);
    CHECK_MESSAGE(d.empty(), name << ": " << d.message());
    if (order == src.order() && how == path::typed) {
        t.types += src.own_count();
        t.typed += n.typed;
        t.copied += n.copied;
    }
    if (order == src.order() && testing::canonical_layout(src)) {
        const byte_span in = src.data();
        const bool same = in.size() == out->bytes.size() && std::equal(in.begin(), in.end(), out->bytes.begin());
        (how == path::typed ? t.identical_typed : how == path::copy ? t.identical_copy : t.identical_kept) += same ? 1 : 0;
    }
    return out;
}

// A base BTF through the typed adds and copy_type in its order, and the typed adds in the other
// order; returns the rebuilds in {its order, the other}.
std::array<std::unique_ptr<written>, 2> round_trip_base(const std::string& name, const btf& src, tally& t) {
    ++t.files;
    t.canonical += testing::canonical_layout(src) ? 1 : 0;
    auto same = round_trip(name, src, nullptr, nullptr, src.order(), path::typed, t);
    round_trip(name + " (copy_type)", src, nullptr, nullptr, src.order(), path::copy, t);
    round_trip(name + " (strings kept)", src, nullptr, nullptr, src.order(), path::typed_kept_strings, t);
    auto swapped = round_trip(name + " (other byte order)", src, nullptr, nullptr, other(src.order()), path::typed, t);
    return {std::move(same), std::move(swapped)};
}

}  // namespace

TEST_CASE("round trip: the Debian vmlinux and all its modules as split BTF, both byte orders") {
    if (!fs::exists(corpus / "vmlinux")) {
        MESSAGE("corpus not fetched (bench/corpus/fetch): skipped");
        return;
    }
    const auto vmlinux_bytes = read_bytes(corpus / "vmlinux");
    const auto vmlinux = btf::parse(span_of(vmlinux_bytes));
    REQUIRE(vmlinux);
    tally base_tally, module_tally;
    const auto bases = round_trip_base("vmlinux", *vmlinux, base_tally);
    REQUIRE(bases[0]);
    REQUIRE(bases[1]);
    base_tally.report("Debian vmlinux");
    // Modules over the original base (typed and copied) and over the rebuilt base in the other order.
    const auto index = string_index::of(*vmlinux);
    const auto index_swapped = string_index::of(bases[1]->parsed);
    std::vector<fs::path> modules;
    for (const auto& e : fs::directory_iterator(corpus / "modules")) modules.push_back(e.path());
    std::sort(modules.begin(), modules.end());
    CHECK(modules.size() > 4000);
    for (const fs::path& m : modules) {
        const auto bytes = read_bytes(m);
        const auto mod = btf::parse(span_of(bytes), &*vmlinux);
        REQUIRE_MESSAGE(mod, m.filename().string() << ": " << mod.error().message());
        const std::string name = m.filename().string();
        ++module_tally.files;
        module_tally.canonical += testing::canonical_layout(*mod) ? 1 : 0;
        round_trip(name, *mod, &*vmlinux, &index, mod->order(), path::typed, module_tally);
        round_trip(name + " (copy_type)", *mod, &*vmlinux, &index, mod->order(), path::copy, module_tally);
        round_trip(name + " (strings kept)", *mod, &*vmlinux, &index, mod->order(), path::typed_kept_strings, module_tally);
        round_trip(name + " (other byte order)", *mod, &bases[1]->parsed, &index_swapped, other(mod->order()), path::typed, module_tally);
    }
    module_tally.report("Debian modules");
    CHECK(module_tally.files == modules.size());
    for (const tally* t : {&base_tally, &module_tally}) {
        CHECK(t->copied == 0);  // every corpus type is one the typed adds can write
        CHECK(t->identical_kept == t->canonical);
    }
}

TEST_CASE("round trip: the running kernel's BTF and the libbpf-tools objects' .BTF") {
    tally kernel_tally, object_tally;
    if (::access("/sys/kernel/btf/vmlinux", R_OK) == 0) {
        const auto bytes = read_bytes("/sys/kernel/btf/vmlinux");
        const auto vmlinux = btf::parse(span_of(bytes));
        REQUIRE(vmlinux);
        const auto bases = round_trip_base("/sys/kernel/btf/vmlinux", *vmlinux, kernel_tally);
        // Its modules, when the kernel has any.
        const auto index = string_index::of(*vmlinux);
        for (const auto& e : fs::directory_iterator("/sys/kernel/btf")) {
            if (e.path().filename() == "vmlinux") continue;
            const auto mb = read_bytes(e.path());
            const auto mod = btf::parse(span_of(mb), &*vmlinux);
            REQUIRE(mod);
            ++kernel_tally.files;
            kernel_tally.canonical += testing::canonical_layout(*mod) ? 1 : 0;
            round_trip(e.path().string(), *mod, &*vmlinux, &index, mod->order(), path::typed, kernel_tally);
            round_trip(e.path().string() + " (copy_type)", *mod, &*vmlinux, &index, mod->order(), path::copy, kernel_tally);
            round_trip(e.path().string() + " (strings kept)", *mod, &*vmlinux, &index, mod->order(), path::typed_kept_strings, kernel_tally);
        }
        kernel_tally.report("running kernel");
        CHECK(kernel_tally.copied == 0);
        CHECK(kernel_tally.identical_kept == kernel_tally.canonical);
    } else {
        MESSAGE("/sys/kernel/btf/vmlinux not readable: skipped");
    }
    if (fs::exists(corpus / "bpf")) {
        std::vector<fs::path> objects;
        for (const auto& e : fs::directory_iterator(corpus / "bpf")) objects.push_back(e.path());
        std::sort(objects.begin(), objects.end());
        CHECK(objects.size() >= 50);
        for (const fs::path& o : objects) {
            const auto bytes = read_bytes(o);
            const auto raw = find_btf(span_of(bytes));
            REQUIRE_MESSAGE(raw, o.filename().string());
            const auto b = btf::parse(*raw);
            REQUIRE_MESSAGE(b, o.filename().string() << ": " << b.error().message());
            round_trip_base(o.filename().string(), *b, object_tally);
        }
        object_tally.report("libbpf-tools objects");
        CHECK(object_tally.copied == 0);
        CHECK(object_tally.identical_kept == object_tally.canonical);
    }
}
