// Hostile input: replays tests/regression/ through every parser (the fuzz targets' drivers), the print
// seeds through fuzz_print's, the trace seeds through fuzz_trace_expr's, and pins down the errors for
// hand-made loops, deep chains, huge counts and out-of-range offsets.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../fuzz/drivers.hpp"
#include "../fuzz/print_driver.hpp"
#include "../fuzz/relocate_drivers.hpp"
#include "../fuzz/trace_driver.hpp"
#include "../fuzz/write_drivers.hpp"
#include "blob_builder.hpp"
#include "btfkit/format/bpf_object.hpp"
#include "btfkit/format/btf.hpp"
#include "btfkit/format/elf.hpp"
#include "elf_builder.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;
using testing::btf_ext_builder;
using testing::elf_builder;

const std::filesystem::path corpus_dir = BTFKIT_SOURCE_DIR "/tests/regression";

// Files that reach a known open bug (fuzz/README.md, "Findings"), replayed only by the skipped test
// case below; add a file's name here when its bug is reported, remove it when fixed. None is open:
// F1's three inputs ({elf-null-shstrtab,obj-null-btf,obj-null-strtab}-out-of-bounds.truncated)
// crashed until b207ec9.
constexpr std::array<std::string_view, 1> known_open = {""};
bool is_known_open(std::string_view name) {
    return !name.empty() && std::find(known_open.begin(), known_open.end(), name) != known_open.end();
}

struct corpus_file {
    std::string name;
    std::vector<char> bytes;
    [[nodiscard]] byte_span span() const noexcept { return {bytes.data(), bytes.size()}; }
};

std::vector<corpus_file> load_corpus() {
    std::vector<corpus_file> files;
    for (const auto& entry : std::filesystem::directory_iterator(corpus_dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".py") || name.ends_with(".md")) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        files.push_back({name, std::vector<char>(std::istreambuf_iterator<char>(in), {})});
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return files;
}

using testing::names_place;
using testing::place_ok;

// A walker's failure handler that turns broken invariants into doctest failures naming the file.
struct record_failure {
    const std::string* file;
    void operator()(const char* what) const { FAIL_CHECK(*file << ": " << std::string(what)); }
};

// Runs the BTF, object, split and write fuzz drivers; returns every error they produced (parse errors and walk errors).
std::vector<error> replay(const std::string& name, byte_span in) {
    std::vector<error> errors;
    const record_failure fail{&name};
    testing::walker w{fail, {in}};
    w.collect_errors(&errors);
    testing::run_btf(w, in);
    testing::run_bpf_object(w, in);
    (void)testing::run_btf_split(fail, in, &errors);
    testing::run_btf_write(fail, in);
    return errors;
}

// The outcome a hand-made file's name promises for its driver: "<driver>-<what>.<outcome>".
std::optional<errc> code_named(std::string_view s) {
    constexpr std::pair<std::string_view, errc> names[] = {
        {"ok", errc::ok}, {"truncated", errc::truncated}, {"bad_magic", errc::bad_magic},
        {"unsupported", errc::unsupported}, {"bad_header", errc::bad_header}, {"out_of_range", errc::out_of_range},
        {"bad_string", errc::bad_string}, {"bad_type_id", errc::bad_type_id}, {"bad_kind", errc::bad_kind},
        {"type_loop", errc::type_loop}, {"too_deep", errc::too_deep}, {"not_found", errc::not_found}};
    for (const auto& [n, c] : names) {
        if (n == s) return c;
    }
    return std::nullopt;
}

status driver_status(std::string_view driver, const corpus_file& f) {
    auto to_status = [](const auto& r) -> status { return r ? status{} : status{r.error()}; };
    const byte_span in = f.span();
    if (driver == "btf") return to_status(btf::parse(in));
    if (driver == "elf") return to_status(elf::parse(in));
    if (driver == "obj") return to_status(bpf_object::parse(in));
    return testing::run_btf_split([](const char*) {}, in);  // split0 .. split3
}

btf parse_ok(const blob_builder& b) {
    auto r = btf::parse(b.span());
    REQUIRE_MESSAGE(r.has_value(), r.error().message());
    return std::move(*r);
}

// Keeps a blob alive next to its parse: btf views the bytes.
struct parsed {
    std::vector<char> bytes;
    btf b;
};

}  // namespace

TEST_CASE("regression corpus: every parser survives every file") {
    const auto files = load_corpus();
    REQUIRE(files.size() > 100);
    std::size_t replayed = 0, errors_seen = 0;
    for (const corpus_file& f : files) {
        if (is_known_open(f.name)) continue;
        CAPTURE(f.name);
        for (const error& e : replay(f.name, f.span())) {
            ++errors_seen;
            CHECK_FALSE(e.message().empty());
            CHECK_MESSAGE(place_ok(e), f.name << ": error names no place: " << e.message());
        }
        ++replayed;
    }
    MESSAGE(replayed << " files replayed, " << errors_seen << " errors checked");
}

TEST_CASE("regression corpus: every object is relocated against the fuzz targets, as fuzz_relocate does") {
    // fuzz_relocate's driver: each way of relocating (real target BTFs of both byte orders, a cropped
    // vmlinux, the object's own .BTF; the six option sets), with its invariants on every report and on
    // the patched image.
    static const testing::relocation_env env{BTFKIT_SOURCE_DIR "/fuzz/targets"};
    testing::relocation_work work;
    std::size_t replayed = 0;
    for (const corpus_file& f : load_corpus()) {
        if (is_known_open(f.name)) continue;
        const bool object = f.name.starts_with("obj-") || f.name.starts_with("elf-") || f.name.starts_with("crash-fuzz_relocate") ||
                            f.name.starts_with("crash-fuzz_bpf_object");
        if (!object) continue;
        CAPTURE(f.name);
        const record_failure fail{&f.name};
        testing::walker w{fail, {f.span()}};
        testing::run_relocate(w, f.span(), env, work);
        ++replayed;
    }
    CHECK(replayed > 150);
    MESSAGE(replayed << " objects relocated");
}

TEST_CASE("regression corpus: hand-made files fail as their names say") {
    std::size_t checked = 0;
    for (const corpus_file& f : load_corpus()) {
        if (is_known_open(f.name)) continue;
        const auto dash = f.name.find('-'), dot = f.name.rfind('.');
        if (dash == std::string::npos || dot == std::string::npos || dot < dash) continue;
        const std::string_view driver = std::string_view(f.name).substr(0, dash);
        const std::string_view outcome = std::string_view(f.name).substr(dot + 1);
        if (driver == "crash" || outcome == "any") continue;
        CAPTURE(f.name);
        const status st = driver_status(driver, f);
        if (outcome == "err") {
            CHECK_FALSE(st.has_value());
        } else {
            const auto want = code_named(outcome);
            REQUIRE_MESSAGE(want.has_value(), "unknown outcome in file name: " << f.name);
            CHECK_MESSAGE(st.error().code == *want, f.name << ": " << (st ? std::string("ok") : st.error().message()));
        }
        ++checked;
    }
    CHECK(checked > 100);
}

TEST_CASE("trace: fuzz seeds and regressions replay through fuzz_trace_expr's driver") {
    namespace fs = std::filesystem;
    static const testing::trace_env env{BTFKIT_SOURCE_DIR "/fuzz/targets"};
    int files = 0;
    for (const char* dir : {BTFKIT_SOURCE_DIR "/fuzz/corpus/trace_expr", BTFKIT_SOURCE_DIR "/tests/regression"}) {
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string name = e.path().filename().string();
            if (std::string_view(dir).ends_with("regression") && !name.starts_with("trace-") && !name.starts_with("crash-fuzz_trace_expr")) continue;
            std::ifstream in(e.path(), std::ios::binary);
            const std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            testing::walker w{record_failure{&name}, {byte_span(data.data(), data.size())}};
            testing::run_trace_expr(w, byte_span(data.data(), data.size()), env);
            ++files;
        }
    }
    CHECK(files >= 38);
}

TEST_CASE("print: fuzz seeds and regressions replay through fuzz_print's driver") {
    namespace fs = std::filesystem;
    int files = 0;
    for (const char* dir : {BTFKIT_SOURCE_DIR "/fuzz/corpus/print", BTFKIT_SOURCE_DIR "/tests/regression"}) {
        if (!fs::exists(dir)) continue;
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string name = e.path().filename().string();
            if (std::string_view(dir).ends_with("regression") && !name.starts_with("print-") && !name.starts_with("crash-fuzz_print")) continue;
            std::ifstream in(e.path(), std::ios::binary);
            const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            std::string why;
            INFO(name);
            CHECK_MESSAGE(testing::run_print(byte_span(data.data(), data.size()), why), why);
            ++files;
        }
    }
    CHECK(files > 50);
}

// Known open bugs (none today): they crash, so they run only with --no-skip, e.g. to check a fix.
TEST_CASE("regression corpus: known open bugs" * doctest::skip()) {
    for (const corpus_file& f : load_corpus()) {
        if (!is_known_open(f.name)) continue;
        CAPTURE(f.name);
        for (const error& e : replay(f.name, f.span())) CHECK(names_place(e));
    }
}

// F2 (fixed in b207ec9): these said what was wrong but not where.
TEST_CASE("errors of short headers, mixed byte orders and bad ids name their place") {
    const std::vector<char> short_btf{'\x9f', '\xeb', 1, 0};
    const auto b = btf::parse({short_btf.data(), short_btf.size()});
    CHECK(b.error().code == errc::truncated);
    CHECK_MESSAGE(names_place(b.error()), b.error().message());
    const std::vector<char> short_elf{'\x7f', 'E', 'L', 'F', 2, 1, 1, 0};
    const auto e = elf::parse({short_elf.data(), short_elf.size()});
    CHECK(e.error().code == errc::truncated);
    CHECK_MESSAGE(names_place(e.error()), e.error().message());
    const auto base_blob = testing::synthetic_base(byte_order::little);
    const btf base = parse_ok(base_blob);
    blob_builder other(byte_order::big, base.type_count(), base.strings_size());
    other.add_ref(kind::ptr, "", 1);
    const auto s = btf::parse(other.span(), &base);
    CHECK(s.error().code == errc::bad_header);
    CHECK_MESSAGE(names_place(s.error()), s.error().message());
    CHECK_MESSAGE(names_place(base.skip_mods_and_typedefs(999).error()), base.skip_mods_and_typedefs(999).error().message());
    CHECK_MESSAGE(names_place(base.type_at(999).error()), base.type_at(999).error().message());
}

TEST_CASE("type graphs that loop end with errc::type_loop") {
    SUBCASE("typedef -> const -> typedef") {
        blob_builder bb(byte_order::little);
        bb.add_ref(kind::typedef_, "a", 2);
        bb.add_ref(kind::const_, "", 1);
        const btf b = parse_ok(bb);
        for (std::uint32_t id : {1u, 2u}) {
            auto r = b.skip_mods_and_typedefs(id);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == errc::type_loop);
            CHECK(names_place(r.error()));
            auto z = b.resolve_size(id);
            REQUIRE_FALSE(z.has_value());
            CHECK(z.error().code == errc::type_loop);
            CHECK(z.error().message().find("type #" + std::to_string(id)) != std::string::npos);
        }
    }
    SUBCASE("a typedef of itself") {
        blob_builder bb(byte_order::big);
        bb.add_ref(kind::typedef_, "self", 1);
        const btf b = parse_ok(bb);
        CHECK(b.skip_mods_and_typedefs(1).error().code == errc::type_loop);
        CHECK(b.resolve_size(1).error().code == errc::type_loop);
    }
    SUBCASE("volatile -> restrict -> type_tag -> const -> volatile") {
        blob_builder bb(byte_order::little);
        bb.add_ref(kind::volatile_, "", 2);
        bb.add_ref(kind::restrict_, "", 3);
        bb.add_ref(kind::type_tag, "t", 4);
        bb.add_ref(kind::const_, "", 1);
        const btf b = parse_ok(bb);
        for (std::uint32_t id = 1; id <= 4; ++id) CHECK(b.skip_mods_and_typedefs(id).error().code == errc::type_loop);
    }
    SUBCASE("an array of itself, and an array of a typedef of it") {
        blob_builder bb(byte_order::little);
        const auto i = bb.add_int("int", 4, int_signed);
        bb.add_array(2, i, 3);  // 2: int[3] of itself
        bb.add_array(4, i, 0);  // 3: zero elements of 4
        bb.add_ref(kind::typedef_, "arr_t", 3);
        const btf b = parse_ok(bb);
        // int[3] of itself multiplies its way out of range before the depth bound; either error is fine.
        const errc self = b.resolve_size(2).error().code;
        CHECK((self == errc::out_of_range || self == errc::type_loop));
        CHECK(b.resolve_size(3).error().code == errc::type_loop);
        CHECK(b.resolve_size(4).error().code == errc::type_loop);
        CHECK(b.skip_mods_and_typedefs(4)->id() == 3);  // stops at the array
    }
    SUBCASE("a struct that contains an array of itself") {
        blob_builder bb(byte_order::little);
        const auto i = bb.add_int("int", 4, int_signed);
        const auto node = bb.add_struct("node", 8, false, {{"self", 3, 0, 0}});
        bb.add_array(node, i, 1);
        const btf b = parse_ok(bb);
        // The struct's own size is declared, so sizing it does not recurse; the array resolves through it.
        CHECK(*b.resolve_size(node) == 8);
        CHECK(*b.resolve_size(3) == 8);
        for (const member m : b[node].members()) CHECK(b.valid_id(m.type));
    }
    SUBCASE("VAR and DECL_TAG cycles") {
        blob_builder bb(byte_order::little);
        bb.add_var("v", 2, 1);
        bb.add_ref(kind::typedef_, "t", 1);
        bb.add_decl_tag("tag", 3, -1);
        const btf b = parse_ok(bb);
        CHECK(b.resolve_size(1).error().code == errc::type_loop);
        CHECK(b.resolve_size(3).error().code == errc::type_loop);
    }
}

TEST_CASE("deep chains end within the fixed bound") {
    auto chain = [](kind k, std::uint32_t depth) {
        parsed p;
        blob_builder bb(byte_order::little);
        std::uint32_t id = bb.add_int("int", 4, int_signed);
        for (std::uint32_t i = 0; i < depth; ++i) id = k == kind::array ? bb.add_array(id, 1, 2) : bb.add_ref(k, "", id);
        p.bytes = bb.bytes();
        auto r = btf::parse({p.bytes.data(), p.bytes.size()});
        REQUIRE(r.has_value());
        p.b = std::move(*r);
        return p;
    };
    SUBCASE("short chains resolve") {
        const parsed p = chain(kind::typedef_, 16);
        CHECK(p.b.skip_mods_and_typedefs(17)->id() == 1);
        CHECK(*p.b.resolve_size(17) == 4);
        const parsed a = chain(kind::array, 16);
        CHECK(*a.b.resolve_size(17) == 4u << 16);
    }
    SUBCASE("long chains are an error, not a long walk") {
        for (kind k : {kind::typedef_, kind::const_, kind::volatile_, kind::restrict_, kind::type_tag}) {
            CAPTURE(kind_name(k));
            const parsed p = chain(k, 40);
            const auto s = p.b.skip_mods_and_typedefs(41);
            REQUIRE_FALSE(s.has_value());
            CHECK((s.error().code == errc::type_loop || s.error().code == errc::too_deep));
            CHECK(names_place(s.error()));
            const auto z = p.b.resolve_size(41);
            REQUIRE_FALSE(z.has_value());
            CHECK((z.error().code == errc::type_loop || z.error().code == errc::too_deep));
        }
        const parsed a = chain(kind::array, 40);
        CHECK_FALSE(a.b.resolve_size(41).has_value());
    }
    SUBCASE("every id of a 5000-deep chain is walked in bounded time") {
        const parsed p = chain(kind::const_, 5000);
        std::uint32_t errors = 0;
        for (std::uint32_t id = 1; id < p.b.type_count(); ++id) {
            errors += !p.b.skip_mods_and_typedefs(id).has_value();
            errors += !p.b.resolve_size(id).has_value();
        }
        CHECK(errors > 9000);
    }
}

TEST_CASE("huge counts, sizes and offsets are errors that name the place") {
    SUBCASE("vlen past the end of the type section") {
        blob_builder bb(byte_order::little);
        bb.add_int("int", 4, int_signed);
        bb.add_raw({0, (std::uint32_t{4} << 24) | 0xffff, 8});
        const auto r = btf::parse(bb.span());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::truncated);
        const std::string m = r.error().message();
        CHECK(m.find("type #2") != std::string::npos);
        CHECK(m.find("offset 40") != std::string::npos);
    }
    SUBCASE("type name offset outside the strings") {
        blob_builder bb(byte_order::little);
        bb.add_raw({0x1000, std::uint32_t{1} << 24, 4, 32});
        const auto r = btf::parse(bb.span());
        CHECK(r.error().code == errc::bad_string);
        CHECK(r.error().message().find("type #1") != std::string::npos);
    }
    SUBCASE("member name and type out of range") {
        blob_builder bb(byte_order::little);
        const auto i = bb.add_int("int", 4, int_signed);
        bb.add_struct("s", 8, false, {{"a", i, 0, 0}, {"b", 99, 32, 0}});
        const auto r = btf::parse(bb.span());
        CHECK(r.error().code == errc::bad_type_id);
        CHECK(r.error().message().find("member 1") != std::string::npos);
    }
    SUBCASE("string lookups past the table") {
        blob_builder bb(byte_order::little);
        bb.add_int("int", 4, int_signed);
        const btf b = parse_ok(bb);
        CHECK(b.string_checked(b.strings_size()).error().code == errc::bad_string);
        CHECK(b.string_checked(0xffffffffu).error().code == errc::bad_string);
        CHECK(b.string(0xffffffffu).empty());
        CHECK(b.type_at(2).error().code == errc::bad_type_id);
        CHECK(b.skip_mods_and_typedefs(0xffffffffu).error().code == errc::bad_type_id);
        CHECK(b.resolve_size(0xffffffffu).error().code == errc::bad_type_id);
    }
    SUBCASE("sizes that overflow") {
        blob_builder bb(byte_order::little);
        const auto i = bb.add_int("int", 4, int_signed);
        const auto inner = bb.add_array(i, i, 0xffffffffu);
        const auto outer = bb.add_array(inner, i, 0xffffffffu);
        const auto big = bb.add_struct("big", 0xffffffffu, false, {});
        const auto two = bb.add_array(big, i, 2);
        const auto fp = bb.add_func_proto(i, {});
        const btf b = parse_ok(bb);
        CHECK(b.resolve_size(outer).error().code == errc::out_of_range);
        CHECK(b.resolve_size(two).error().code == errc::out_of_range);
        CHECK(b.resolve_size(fp).error().code == errc::bad_kind);
        CHECK(names_place(b.resolve_size(outer).error()));
    }
}

TEST_CASE("truncations and byte flips of a synthesized BPF object") {
    // Two programs and a subprogram, .BTF, .BTF.ext with func/line info and CO-RE relocations.
    for (byte_order order : {byte_order::little, byte_order::big}) {
        blob_builder bb(order);
        const auto i = bb.add_int("int", 4, int_signed);
        const auto s = bb.add_struct("task", 8, false, {{"pid", i, 0, 0}, {"tgid", i, 32, 0}});
        const auto p = bb.add_ref(kind::ptr, "", s);
        const auto fp = bb.add_func_proto(i, {{"ctx", p}});
        const auto fa = bb.add_ref(kind::func, "prog_a", fp, 1);
        const auto sec = bb.add_string("kprobe/x");
        const auto acc = bb.add_string("0:1");
        btf_ext_builder xb(order);
        xb.add_func_info(sec, {{0, fa}, {24, fa}});
        xb.add_line_info(sec, {{0, sec, acc, (7u << 10) | 3}});
        xb.add_core_relo(sec, {{8, s, acc, relo_kind::field_byte_offset}, {32, s, acc, relo_kind::field_exists}});
        const auto ext = xb.build();
        elf_builder eb(order);
        const insn ld{0x61, 0, 1, 4, 0}, ret{0x95, 0, 0, 0, 0};
        const std::vector<insn> code{ld, ld, ret, ld, ld, ret};
        const auto x = eb.add_program_section("kprobe/x", code);
        const auto t = eb.add_program_section(".text", std::vector<insn>{ret});
        eb.add_progbits(".BTF", bb.span());
        eb.add_progbits(".BTF.ext", {ext.data(), ext.size()});
        eb.add_rel_section(".relkprobe/x", x, {{8, 1, 1, 0}});
        eb.add_func("prog_a", static_cast<std::uint16_t>(x), 0, 24);
        eb.add_func("prog_b", static_cast<std::uint16_t>(x), 24, 24);
        eb.add_func("sub", static_cast<std::uint16_t>(t), 0, 8);
        const std::vector<char> obj = eb.build();

        auto o = bpf_object::parse({obj.data(), obj.size()});
        REQUIRE_MESSAGE(o.has_value(), o.error().message());
        CHECK(o->ext().core_relo_count() == 2);
        std::vector<std::string> names;
        CHECK(o->for_each_program([&](const program& pr) { names.emplace_back(pr.name); }).has_value());
        CHECK(names == std::vector<std::string>{"prog_a", "prog_b", "sub"});
        std::uint32_t relocations = 0;
        for (const auto block : o->ext().core_relos()) {
            CHECK(block.section_name() == "kprobe/x");
            CHECK(block.elf_index() == x);
            relocations += block.size();
        }
        CHECK(relocations == 2);

        const std::string label = order == byte_order::little ? "synthesized LE object" : "synthesized BE object";
        for (std::size_t n = 0; n < obj.size(); ++n) {
            const std::vector<char> cut(obj.begin(), obj.begin() + static_cast<std::ptrdiff_t>(n));
            for (const error& e : replay(label + " cut", {cut.data(), cut.size()})) CHECK_MESSAGE(place_ok(e), e.message());
        }
        std::vector<char> flipped = obj;
        for (std::size_t k = 0; k < flipped.size(); ++k) {
            flipped[k] = static_cast<char>(flipped[k] ^ 0xff);
            if (!testing::hits_known_bug({flipped.data(), flipped.size()})) {
                for (const error& e : replay(label + " flip", {flipped.data(), flipped.size()})) CHECK_MESSAGE(place_ok(e), e.message());
            }
            flipped[k] = obj[k];
        }
    }
}
