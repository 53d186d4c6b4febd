// format_value without the kernel: constant evaluation, the documented default/compat differences, the
// refusals, short buffers, the fuzz seeds and regressions replayed through fuzz_print's driver, and the
// `btfkit print` command.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "blob_builder.hpp"
#include "temp_dir.hpp"
#include "btfkit/show/format_json.hpp"
#include "btfkit/show/format_value.hpp"
#include "../fuzz/print_driver.hpp"

namespace {

using namespace btfkit;
using testing::blob_builder;

// struct s { int a; unsigned b:3; int *p[3]; char name[4]; }
constexpr auto sample_blob(byte_order order) {
    blob_builder b(order);
    const std::uint32_t i32 = b.add_int("int", 4, int_signed);
    const std::uint32_t u32 = b.add_int("unsigned int", 4, 0);
    const std::uint32_t chr = b.add_int("char", 1, int_signed);
    const std::uint32_t ptr = b.add_ref(kind::ptr, "", i32);
    const std::uint32_t arr = b.add_array(ptr, i32, 3);
    const std::uint32_t name = b.add_array(chr, i32, 4);
    b.add_struct("s", 40, true, {{"a", i32, 0, 0}, {"b", u32, 32, 3}, {"p", arr, 64, 0}, {"name", name, 256, 0}});
    (void)u32;
    return b;
}
inline constexpr std::uint32_t sample_struct = 7;

// The sample value: a = -5, b = 5, p = {0x1000, 0x2000, 0x3000}, name = "hi".
constexpr std::array<char, 40> sample_value(byte_order order) {
    std::array<char, 40> v{};
    detail::store<std::uint32_t>(v.data(), static_cast<std::uint32_t>(-5), order);
    v[4] = static_cast<char>(order == byte_order::little ? 5 : 5 << 5);
    for (std::uint32_t i = 0; i < 3; ++i) detail::store<std::uint64_t>(v.data() + 8 + 8 * i, 0x1000u * (i + 1), order);
    v[32] = 'h';
    v[33] = 'i';
    return v;
}

struct printed {
    std::array<char, 512> text{};
    std::size_t length = 0;
    bool ok = false;
};
constexpr printed print_sample(byte_order order, std::uint32_t flags) {
    const auto blob = sample_blob(order);
    auto b = btf::parse(blob.span());
    printed out;
    if (!b) return out;
    const auto value = sample_value(order);
    bounded_buffer sink(out.text.data(), out.text.size());
    const auto r = format_value(*b, sample_struct, byte_span(value.data(), value.size()), flags, sink);
    out.ok = r.has_value();
    out.length = r.has_value() ? *r : 0;
    return out;
}

constexpr bool contains(const printed& p, std::string_view s) {
    return std::string_view(p.text.data(), p.length).find(s) != std::string_view::npos;
}

// The same value printed in constant evaluation, in both byte orders.
constexpr std::uint32_t ct_flags = show_ptr_raw | show_compact;
constexpr auto ct_le = print_sample(byte_order::little, ct_flags);
constexpr auto ct_be = print_sample(byte_order::big, ct_flags);
constexpr auto ct_compat = print_sample(byte_order::little, ct_flags | show_kernel_compat);
static_assert(ct_le.ok && ct_be.ok && ct_compat.ok);
static_assert(ct_le.length == ct_be.length);
static_assert(contains(ct_le, ".a = (int)-5,") && contains(ct_le, ".b = (unsigned int)0x5,"));
static_assert(contains(ct_le, ".name = (char[])['h','i',]"));
// Default: the array of pointers opens with '[' and shows each element.
static_assert(contains(ct_le, ".p = (int *[])[") && contains(ct_le, "0x0000000000003000"));
// Kernel compat: no '[', and element 0 for every element.
static_assert(contains(ct_compat, ".p = (int *[])0x0000000000001000,") && !contains(ct_compat, "0x0000000000002000"));

constexpr printed json_sample(byte_order order) {
    const auto blob = sample_blob(order);
    auto b = btf::parse(blob.span());
    printed out;
    if (!b) return out;
    const auto value = sample_value(order);
    bounded_buffer sink(out.text.data(), out.text.size());
    const auto r = format_json(*b, sample_struct, byte_span(value.data(), value.size()), sink);
    out.ok = r.has_value();
    out.length = r.has_value() ? *r : 0;
    return out;
}
constexpr auto json_le = json_sample(byte_order::little);
constexpr auto json_be = json_sample(byte_order::big);
static_assert(json_le.ok && json_be.ok);
static_assert(contains(json_le, "{\"a\":-5,\"b\":\"0x5\",\"p\":[4096,8192,12288],\"name\":\"hi\"}"));

}  // namespace

TEST_CASE("print --json: constant evaluation gives the run-time text, in both byte orders") {
    for (const auto order : {byte_order::little, byte_order::big}) {
        const printed rt = json_sample(order);
        const printed& ct = order == byte_order::little ? json_le : json_be;
        REQUIRE(rt.ok);
        CHECK(std::string_view(rt.text.data(), rt.length) == std::string_view(ct.text.data(), ct.length));
    }
}

TEST_CASE("print: constant evaluation gives the run-time text, in both byte orders") {
    for (const auto order : {byte_order::little, byte_order::big}) {
        const printed rt = print_sample(order, ct_flags);
        const printed& ct = order == byte_order::little ? ct_le : ct_be;
        REQUIRE(rt.ok);
        CHECK(std::string_view(rt.text.data(), rt.length) == std::string_view(ct.text.data(), ct.length));
    }
    // The three pointers, each once, by default; element 0 three times in kernel compat.
    const std::string_view def(ct_le.text.data(), ct_le.length), compat(ct_compat.text.data(), ct_compat.length);
    for (const std::string_view p : {"0x0000000000001000", "0x0000000000002000", "0x0000000000003000"}) {
        CHECK(def.find(p) != std::string_view::npos);
    }
    std::size_t zeros = 0;
    for (std::size_t i = compat.find("0x0000000000001000"); i != std::string_view::npos; i = compat.find("0x0000000000001000", i + 1)) ++zeros;
    CHECK(zeros == 3);
}

TEST_CASE("print: a short buffer keeps the first size-1 bytes and the full length is returned") {
    const printed full = print_sample(byte_order::little, 0);
    REQUIRE(full.ok);
    const auto blob = sample_blob(byte_order::little);
    auto b = btf::parse(blob.span());
    REQUIRE(b.has_value());
    const auto value = sample_value(byte_order::little);
    for (std::size_t size = 1; size < full.length + 3; ++size) {
        std::string buf(size, '\x7f');
        bounded_buffer sink(buf.data(), size);
        const auto r = format_value(*b, sample_struct, byte_span(value.data(), value.size()), 0, sink);
        REQUIRE(r.has_value());
        CHECK(*r == full.length);
        const std::size_t kept = std::min(size - 1, full.length);
        CHECK(sink.text() == std::string_view(full.text.data(), kept));
        CHECK(buf[kept] == '\0');
    }
}

TEST_CASE("print: what the kernel would crash or fail on is an error value") {
    blob_builder bb(byte_order::little);
    const std::uint32_t i32 = bb.add_int("int", 4, int_signed);
    const std::uint32_t var = bb.add_var("v", i32, 1);
    const std::uint32_t sec = bb.add_datasec(".data", 4, {{var, 0, 4}});
    const std::uint32_t void_typedef = bb.add_ref(kind::typedef_, "nothing", 0);
    const std::uint32_t void_const = bb.add_ref(kind::const_, "", void_typedef);
    const std::uint32_t holder = bb.add_struct("h", 4, false, {{"x", void_const, 0, 0}});
    const std::uint32_t loop_a = bb.add_ref(kind::typedef_, "a", 0);
    auto b = btf::parse(bb.span());
    REQUIRE(b.has_value());
    const char value[64] = {};
    std::string out;
    const auto code = [&](std::uint32_t id, std::size_t n = sizeof(value)) {
        out.clear();
        const auto r = format_value(*b, id, byte_span(value, n), 0, out);
        if (!r) CHECK(out.empty());  // refused before any output
        return r.has_value() ? errc::ok : r.error().code;
    };
    CHECK(code(var) == errc::unsupported);
    CHECK(code(sec) == errc::unsupported);
    CHECK(code(void_typedef) == errc::unsupported);
    CHECK(code(void_const) == errc::unsupported);
    CHECK(code(holder) == errc::unsupported);
    CHECK(code(loop_a) == errc::unsupported);
    CHECK(code(0) == errc::bad_type_id);
    CHECK(code(b->type_count()) == errc::bad_type_id);
    CHECK(code(i32, 3) == errc::truncated);
    CHECK(code(i32) == errc::ok);
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

namespace {

struct tool_run {
    int status = -1;
    std::string out;
};
tool_run run_tool(const std::string& args) {
    tool_run r;
    std::FILE* p = ::popen((std::string("'") + BTFKIT_TOOL + "' " + args + " 2>/dev/null").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace

TEST_CASE("print: the btfkit print command writes what format_value and format_json write") {
    testing::temp_dir dir("btfkit-print");
    const auto blob = sample_blob(byte_order::little);
    const auto value = sample_value(byte_order::little);
    const std::string btf_path = (dir.path / "sample.btf").string(), value_path = (dir.path / "value.bin").string();
    std::ofstream(btf_path, std::ios::binary).write(blob.bytes().data(), static_cast<std::streamsize>(blob.size()));
    std::ofstream(value_path, std::ios::binary).write(value.data(), static_cast<std::streamsize>(value.size()));
    auto b = btf::parse(blob.span());
    REQUIRE(b.has_value());

    for (const std::uint32_t flags : {0u, show_ptr_raw, show_ptr_raw | show_compact, show_ptr_raw | show_kernel_compat, show_ptr_raw | show_noname | show_zero}) {
        std::string args = "print --btf '" + btf_path + "' --type 'struct s'";
        if (flags & show_compact) args += " --compact";
        if (flags & show_noname) args += " --noname";
        if (flags & show_ptr_raw) args += " --ptr-raw";
        if (flags & show_zero) args += " --zero";
        if (flags & show_kernel_compat) args += " --kernel-compat";
        std::string want;
        REQUIRE(format_value(*b, sample_struct, byte_span(value.data(), value.size()), flags, want).has_value());
        if (flags & show_compact) want += '\n';
        const tool_run r = run_tool(args + " '" + value_path + "'");
        CHECK(r.status == 0);
        if (flags & show_ptr_raw) CHECK(r.out == want);
        else CHECK(r.out.size() == want.size());  // hashed pointers: same shape
        const tool_run from_stdin = run_tool(args + " - < '" + value_path + "'");
        CHECK(from_stdin.out == r.out);
    }
    std::string json;
    REQUIRE(format_json(*b, sample_struct, byte_span(value.data(), value.size()), json).has_value());
    const tool_run j = run_tool("print --btf '" + btf_path + "' --type " + std::to_string(sample_struct) + " --json '" + value_path + "'");
    CHECK(j.status == 0);
    CHECK(j.out == json + "\n");

    CHECK(run_tool("print --btf '" + btf_path + "' --type nosuch '" + value_path + "'").status == 1);
    CHECK(run_tool("print --btf '" + btf_path + "' --type 'struct s' /dev/null").status == 1);  // too short
    CHECK(run_tool("print --btf '" + btf_path + "' '" + value_path + "'").status == 2);         // no --type
}
