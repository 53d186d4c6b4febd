// A module's BTF fd/id in TYPE_ID_TARGET (docs/extensions.md): an instruction other than an ldimm64 has
// no upper half to carry it (an error with an fd encoding, a warning without), in the library, in
// constant evaluation and in `btfkit relocate`; and the encoding of objects `relocate` writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "core_object.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

// Relocation must not allocate once warm, errors and warnings included: allocations are counted.
#include "count_allocations.hpp"

using btfkit::testing::allocations;

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::fd_encoding;
using bk::relo_kind;
using bk::relo_outcome;

// ---- The targets: vmlinux with `vm_s`, one module "modx" (split BTF over it) with `mod_s` ----

constexpr std::uint32_t module_fd = 42, module_id = 777;

struct btf_pair {
    std::vector<char> vmlinux, module;
    std::uint32_t vm_s = 0, mod_s = 0;  // target ids
};

constexpr btf_pair make_targets(bk::byte_order order) {
    btf_pair p;
    bt::blob_builder vm(order);
    const auto v_int = vm.add_int("int", 4, bk::int_signed);                        // 1
    p.vm_s = vm.add_struct("vm_s", 4, false, {{"a", v_int, 0, 0}});                // 2
    const auto vm_btf = bk::btf::parse(vm.span());
    if (!vm_btf) return p;
    // Ids continue vmlinux's; a few types first, so that the module id differs from every local id.
    bt::blob_builder mod(order, vm_btf->type_count(), vm_btf->strings_size());
    mod.add_int("u8", 1, 0);
    mod.add_int("u16", 2, 0);
    mod.add_int("u32", 4, 0);
    p.mod_s = mod.add_struct("mod_s", 8, false, {{"a", v_int, 0, 0}, {"b", v_int, 32, 0}});
    p.vmlinux = vm.bytes();
    p.module = mod.bytes();
    return p;
}

// ---- The object: TYPE_ID_TARGET of the module type in each instruction form, and of a vmlinux type ----

constexpr std::uint32_t l_mod_s = 2, l_vm_s = 3;  // local ids

bt::blob_builder local_btf(bk::byte_order order) {
    bt::blob_builder b(order);
    const auto i = b.add_int("int", 4, bk::int_signed);                 // 1
    b.add_struct("mod_s", 8, false, {{"a", i, 0, 0}, {"b", i, 32, 0}});  // 2
    b.add_struct("vm_s", 4, false, {{"a", i, 0, 0}});                    // 3
    return b;
}

// Instruction indices of the sites.
constexpr std::uint32_t site_mov64 = 0, site_mov32 = 1, site_ldx = 2, site_ldimm64 = 3, site_vm_mov64 = 5;
constexpr const char* section_name = "kprobe/modfd";

// With `narrow`, the module type in a 64-bit and a 32-bit move and as a load's offset, then in an
// ldimm64; without, only the ldimm64 (and the vmlinux site in both).
std::vector<char> make_object(bk::byte_order order, bool narrow = true) {
    using namespace bt::asm_;
    std::vector<bk::insn> code{mov64_imm(0, l_mod_s), mov32_imm(0, l_mod_s), ldx(bk::insn_const::size_w, 0, 1, l_mod_s)};
    ldimm64(code, 0, l_mod_s);
    code.push_back(mov64_imm(0, l_vm_s));
    code.push_back(exit());
    std::vector<bt::core_site> sites;
    if (narrow) {
        for (const std::uint32_t at : {site_mov64, site_mov32, site_ldx}) sites.push_back({at, l_mod_s, "0", relo_kind::type_id_target});
    }
    sites.push_back({site_ldimm64, l_mod_s, "0", relo_kind::type_id_target});
    sites.push_back({site_vm_mov64, l_vm_s, "0", relo_kind::type_id_target});
    return bt::build_core_object(order, local_btf(order), {{section_name, "modfd_prog", code, sites}});
}

// ---- In constant evaluation: detail::relocate_record over a two-BTF target source ----

// vmlinux (target 0) and one module (target 1) whose fd is module_fd and BTF id module_id.
struct two_btfs {
    const bk::btf* vmlinux;
    const bk::btf* module;
    template <class F>
    constexpr bk::status for_each_named(bk::target_group g, std::string_view essential, bk::name_space sp, F&& f) const {
        if (g == bk::target_group::vmlinux) bk::scan_named(*vmlinux, 0, vmlinux->first_id(), essential, sp, f);
        else bk::scan_named(*module, 1, module->first_id(), essential, sp, f);
        return {};
    }
    [[nodiscard]] constexpr bk::result<std::uint32_t> upper_bits(std::uint32_t t, fd_encoding e) const noexcept {
        if (t == 0 || e == fd_encoding::none) return std::uint32_t{0};
        return e == fd_encoding::btf_fd ? module_fd : module_id;
    }
};

struct record_result {
    bool ok = false;
    bk::errc err = bk::errc::ok;
    bool no_upper_half = false, upper_unavailable = false;
    std::uint32_t target = 0, target_type_id = 0, upper = 0;
    std::uint64_t new_val = 0;
    bk::insn after{}, after2{};
    std::uint32_t expected_mod_s = 0, expected_vm_s = 0;
};

// One TYPE_ID_TARGET record of local type `local_id` on `in` (an ldimm64 when in.code says so).
constexpr record_result relocate_one(bk::insn in, std::uint32_t local_id, fd_encoding enc, bk::byte_order order) {
    record_result r;
    const btf_pair p = make_targets(order);
    r.expected_mod_s = p.mod_s;
    r.expected_vm_s = p.vm_s;
    bt::blob_builder lb(order);
    const auto i = lb.add_int("int", 4, bk::int_signed);
    lb.add_struct("mod_s", 8, false, {{"a", i, 0, 0}, {"b", i, 32, 0}});
    lb.add_struct("vm_s", 4, false, {{"a", i, 0, 0}});
    const auto local = bk::btf::parse(lb.span());
    const auto vm = bk::btf::parse(bk::byte_span(p.vmlinux.data(), p.vmlinux.size()));
    if (!local || !vm) return r;
    const auto mod = bk::btf::parse(bk::byte_span(p.module.data(), p.module.size()), &*vm);
    if (!mod) return r;
    two_btfs src{&*vm, &*mod};
    std::vector<char> code(16, 0);
    bk::encode_insn(code.data(), in, order);
    bk::relocation_scratch s;
    s.reset(local->type_count());
    bk::relocation_report rep;
    rep.access = "0";
    bk::relocate_options opts;
    opts.encoding = enc;
    const bk::core_relo rec{0, local_id, 0, relo_kind::type_id_target};
    const bk::status st = bk::detail::relocate_record(*local, rec, std::span<char>(code.data(), code.size()), order, src, s, opts, rep);
    r.ok = st.has_value();
    r.err = st.error().code;
    r.no_upper_half = rep.no_upper_half;
    r.upper_unavailable = rep.upper_unavailable;
    r.target = rep.target;
    r.target_type_id = rep.target_type_id;
    r.upper = rep.upper;
    r.new_val = rep.res.new_val;
    r.after = bk::decode_insn(code.data(), order);
    r.after2 = bk::decode_insn(code.data() + 8, order);
    return r;
}

constexpr bk::insn ld_imm64_lo(std::uint32_t v) { return {bk::insn_const::ld_imm64, 0, 0, 0, static_cast<std::int32_t>(v)}; }

template <bk::byte_order order>
constexpr bool module_sites_hold() {
    const bk::insn mov64 = bt::asm_::mov64_imm(0, l_mod_s), mov32 = bt::asm_::mov32_imm(0, l_mod_s);
    // An fd or id encoding: a move cannot carry the module, so the record fails and the move is untouched.
    for (const fd_encoding enc : {fd_encoding::btf_fd, fd_encoding::btf_id}) {
        for (const bk::insn in : {mov64, mov32}) {
            const record_result r = relocate_one(in, l_mod_s, enc, order);
            if (r.ok || r.err != bk::errc::bad_instruction || !r.no_upper_half || r.target != 1 ||
                r.target_type_id != r.expected_mod_s || r.upper != 0 || r.upper_unavailable || r.after.imm != in.imm ||
                r.after.code != in.code) {
                return false;
            }
        }
        // An ldimm64 carries it.
        const record_result l = relocate_one(ld_imm64_lo(l_mod_s), l_mod_s, enc, order);
        const std::uint32_t want = enc == fd_encoding::btf_fd ? module_fd : module_id;
        if (!l.ok || l.no_upper_half || l.upper != want || l.after.imm != static_cast<std::int32_t>(l.expected_mod_s) ||
            static_cast<std::uint32_t>(l.after2.imm) != want || l.new_val != ((std::uint64_t{want} << 32) | l.expected_mod_s)) {
            return false;
        }
        // A vmlinux type needs no upper half: a move is fine.
        const record_result v = relocate_one(bt::asm_::mov64_imm(0, l_vm_s), l_vm_s, enc, order);
        if (!v.ok || v.no_upper_half || v.target != 0 || v.after.imm != static_cast<std::int32_t>(v.expected_vm_s)) return false;
    }
    // No encoding (libbpf): the move gets the type id, as libbpf writes it, and the report says what is missing.
    for (const bk::insn in : {mov64, mov32}) {
        const record_result r = relocate_one(in, l_mod_s, fd_encoding::none, order);
        if (!r.ok || !r.no_upper_half || r.upper != 0 || r.new_val != r.expected_mod_s ||
            r.after.imm != static_cast<std::int32_t>(r.expected_mod_s) || r.after.code != in.code) {
            return false;
        }
    }
    const record_result l = relocate_one(ld_imm64_lo(l_mod_s), l_mod_s, fd_encoding::none, order);
    return l.ok && !l.no_upper_half && l.after2.imm == 0;
}
static_assert(module_sites_hold<bk::byte_order::little>());
static_assert(module_sites_hold<bk::byte_order::big>());

// ---- The library at run time: relocate_object over a target_set ----

struct owned_btf {
    std::vector<char> bytes;
    bk::btf b;
};

struct site {
    std::uint32_t section_index = 0, insn = 0;
    relo_outcome outcome{};
    bk::errc err = bk::errc::ok;
    bool has_target = false, no_upper_half = false, upper_unavailable = false;
    std::uint32_t target = 0, target_type_id = 0, upper = 0;
    std::uint64_t new_val = 0;
    std::string warning;
    std::size_t resolver_calls = 0;  // upper_bits resolutions before this site was reported
    bk::insn before{}, after{}, after2{};
};

struct relocation {
    std::vector<site> sites;
    bk::relocation_summary summary{};
    [[nodiscard]] const site& at(std::uint32_t insn) const {
        for (const site& s : sites) {
            if (s.insn == insn) return s;
        }
        FAIL("no site at insn " << insn);
        return sites.front();
    }
};

// vmlinux and "modx" in a target_set; the module's fd/id come from a resolver that counts its calls.
struct module_targets {
    std::vector<char> vm_bytes, mod_bytes;
    bk::btf vmlinux;
    std::unique_ptr<bk::target_set> set;
    std::size_t resolver_calls = 0;
    std::uint32_t vm_s = 0, mod_s = 0;

    explicit module_targets(bk::byte_order order) {
        btf_pair p = make_targets(order);
        vm_bytes = std::move(p.vmlinux);
        mod_bytes = std::move(p.module);
        vm_s = p.vm_s;
        mod_s = p.mod_s;
        auto vm = bk::btf::parse(bk::byte_span(vm_bytes.data(), vm_bytes.size()));
        REQUIRE_MESSAGE(vm.has_value(), vm.error().message());
        vmlinux = std::move(*vm);
        set = std::make_unique<bk::target_set>(vmlinux);
        REQUIRE(set->add_module("modx") == 1);
        set->set_loader([this](std::uint32_t, bk::byte_buffer& buf) {
            buf.assign(mod_bytes.begin(), mod_bytes.end());
            return bk::status{};
        });
        set->set_upper_resolver([this](std::uint32_t, fd_encoding e) {
            ++resolver_calls;
            return bk::result<std::uint32_t>(e == fd_encoding::btf_fd ? module_fd : module_id);
        });
    }
};

relocation relocate(const std::vector<char>& bytes, module_targets& t, fd_encoding enc, bk::relocation_scratch& scratch,
                    std::vector<char>& image) {
    auto obj = bk::bpf_object::parse(bk::byte_span(bytes.data(), bytes.size()));
    REQUIRE_MESSAGE(obj.has_value(), obj.error().message());
    image = bytes;
    bk::relocate_options opts;
    opts.encoding = enc;
    relocation r;
    auto sum = bk::relocate_object(*obj, std::span<char>(image.data(), image.size()), *t.set, scratch, opts,
                                   [&](const bk::relocation_report& rep) {
                                       site s;
                                       s.section_index = rep.section_index;
                                       s.insn = rep.insn;
                                       s.outcome = rep.outcome;
                                       s.err = rep.err.code;
                                       s.has_target = rep.has_target;
                                       s.no_upper_half = rep.no_upper_half;
                                       s.upper_unavailable = rep.upper_unavailable;
                                       s.target = rep.target;
                                       s.target_type_id = rep.target_type_id;
                                       s.upper = rep.upper;
                                       s.new_val = rep.res.new_val;
                                       s.warning = bk::warning_of(rep);
                                       s.resolver_calls = t.resolver_calls;
                                       r.sites.push_back(s);
                                   });
    REQUIRE_MESSAGE(sum.has_value(), sum.error().message());
    r.summary = *sum;
    const bk::elf& e = obj->file();
    for (site& s : r.sites) {
        const bk::elf_section sec = e.section(s.section_index);
        const std::size_t at = static_cast<std::size_t>(sec.offset) + std::size_t{s.insn} * 8;
        s.before = bk::decode_insn(bytes.data() + at, e.order());
        s.after = bk::decode_insn(image.data() + at, e.order());
        s.after2 = bk::decode_insn(image.data() + at + 8, e.order());
    }
    return r;
}

constexpr bk::byte_order both_orders[] = {bk::byte_order::little, bk::byte_order::big};

}  // namespace

TEST_CASE("module_fd: a module type in a move or a load offset is an error with an fd encoding; no fd is opened for it") {
    for (const bk::byte_order order : both_orders) {
        for (const fd_encoding enc : {fd_encoding::btf_fd, fd_encoding::btf_id}) {
            CAPTURE(order == bk::byte_order::little ? "little" : "big");
            CAPTURE(enc == fd_encoding::btf_fd ? "btf_fd" : "btf_id");
            module_targets t(order);
            bk::relocation_scratch scratch;
            std::vector<char> image;
            const relocation r = relocate(make_object(order), t, enc, scratch, image);
            CHECK(r.summary.total == 5);
            CHECK(r.summary.errors == 3);
            CHECK(r.summary.ok == 2);
            CHECK(r.summary.warnings == 0);
            for (const std::uint32_t at : {site_mov64, site_mov32, site_ldx}) {
                CAPTURE(at);
                const site& s = r.at(at);
                CHECK(s.outcome == relo_outcome::error);
                CHECK(s.err == bk::errc::bad_instruction);
                CHECK(s.no_upper_half);
                // The report names the module and the type the site resolved to, and that nothing was written.
                CHECK(s.has_target);
                CHECK(t.set->target_name(s.target) == "modx");
                CHECK(s.target_type_id == t.mod_s);
                CHECK(s.upper == 0);
                CHECK(s.new_val == t.mod_s);  // the type id, no upper half
                CHECK(s.warning.empty());
                CHECK(s.resolver_calls == 0);  // no fd or id asked for a site that cannot hold it
                CHECK(s.after.code == s.before.code);
                CHECK(s.after.imm == s.before.imm);
                CHECK(s.after.off == s.before.off);
            }
            const std::uint32_t want = enc == fd_encoding::btf_fd ? module_fd : module_id;
            const site& l = r.at(site_ldimm64);
            CHECK(l.outcome == relo_outcome::ok);
            CHECK_FALSE(l.no_upper_half);
            CHECK(l.upper == want);
            CHECK(l.new_val == ((std::uint64_t{want} << 32) | t.mod_s));
            CHECK(l.after.imm == static_cast<std::int32_t>(t.mod_s));
            CHECK(static_cast<std::uint32_t>(l.after2.imm) == want);
            CHECK(t.resolver_calls == 1);
            const site& v = r.at(site_vm_mov64);
            CHECK(v.outcome == relo_outcome::ok);
            CHECK(v.target == 0);
            CHECK_FALSE(v.no_upper_half);
            CHECK(v.after.imm == static_cast<std::int32_t>(t.vm_s));
        }
    }
}

TEST_CASE("module_fd: without an encoding (libbpf) a module type in a move is patched as libbpf does, with a warning") {
    for (const bk::byte_order order : both_orders) {
        CAPTURE(order == bk::byte_order::little ? "little" : "big");
        module_targets t(order);
        bk::relocation_scratch scratch;
        std::vector<char> image;
        const relocation r = relocate(make_object(order), t, fd_encoding::none, scratch, image);
        CHECK(r.summary.total == 5);
        CHECK(r.summary.ok == 5);
        CHECK(r.summary.errors == 0);
        CHECK(r.summary.warnings == 3);
        for (const std::uint32_t at : {site_mov64, site_mov32, site_ldx}) {
            CAPTURE(at);
            const site& s = r.at(at);
            CHECK(s.outcome == relo_outcome::ok);
            CHECK(s.no_upper_half);
            CHECK(t.set->target_name(s.target) == "modx");
            CHECK(s.new_val == t.mod_s);
            CHECK(s.upper == 0);
            CHECK(s.warning.find("no upper 32 bits") != std::string::npos);
            // libbpf's bpf_core_patch_insn: imm (ALU) or off (LDX) = the type id; nothing else changes.
            CHECK(s.after.code == s.before.code);
            if (at == site_ldx) {
                CHECK(s.after.off == static_cast<std::int16_t>(t.mod_s));
                CHECK(s.after.imm == s.before.imm);
            } else {
                CHECK(s.after.imm == static_cast<std::int32_t>(t.mod_s));
                CHECK(s.after.off == s.before.off);
            }
        }
        const site& l = r.at(site_ldimm64);
        CHECK(l.outcome == relo_outcome::ok);
        CHECK_FALSE(l.no_upper_half);
        CHECK(l.warning.empty());
        CHECK(l.after2.imm == 0);
        CHECK(r.at(site_vm_mov64).warning.empty());
        CHECK(t.resolver_calls == 0);
    }
}

TEST_CASE("module_fd: relocating the module sites allocates nothing once warm, errors and warnings included") {
    for (const fd_encoding enc : {fd_encoding::btf_fd, fd_encoding::btf_id, fd_encoding::none}) {
        CAPTURE(static_cast<int>(enc));
        module_targets t(bk::byte_order::little);
        const std::vector<char> bytes = make_object(bk::byte_order::little);
        auto obj = bk::bpf_object::parse(bk::byte_span(bytes.data(), bytes.size()));
        REQUIRE(obj.has_value());
        std::vector<char> image = bytes;
        bk::relocation_scratch scratch;
        bk::relocate_options opts;
        opts.encoding = enc;
        std::uint32_t flagged = 0;
        auto once = [&] {
            std::copy(bytes.begin(), bytes.end(), image.begin());
            flagged = 0;
            auto sum = bk::relocate_object(*obj, std::span<char>(image.data(), image.size()), *t.set, scratch, opts,
                                           [&](const bk::relocation_report& rep) { flagged += rep.no_upper_half ? 1u : 0u; });
            REQUIRE(sum.has_value());
        };
        once();  // warm: the module read and indexed, the scratch grown
        const std::size_t before = allocations.load();
        once();
        const std::size_t during = allocations.load() - before;
        CHECK(flagged == 3);
        CHECK(during == 0);
    }
}

// ---- btfkit relocate ----

namespace {

const std::string tool = BTFKIT_TOOL;

struct cli_files {
    bt::temp_dir dir{"btfkit-test-module-fd"};
    std::string vmlinux, module, object, ldimm64_object;
    std::uint32_t mod_s = 0;
    cli_files() {
        const btf_pair p = make_targets(bk::byte_order::little);
        mod_s = p.mod_s;
        vmlinux = (dir.path / "vmlinux").string();
        module = (dir.path / "modx.btf").string();
        object = (dir.path / "modfd.bpf.o").string();
        ldimm64_object = (dir.path / "modfd_wide.bpf.o").string();
        const std::vector<char> obj = make_object(bk::byte_order::little), wide = make_object(bk::byte_order::little, false);
        REQUIRE(bt::write_bytes(vmlinux, bk::byte_span(p.vmlinux.data(), p.vmlinux.size())));
        REQUIRE(bt::write_bytes(module, bk::byte_span(p.module.data(), p.module.size())));
        REQUIRE(bt::write_bytes(object, bk::byte_span(obj.data(), obj.size())));
        REQUIRE(bt::write_bytes(ldimm64_object, bk::byte_span(wide.data(), wide.size())));
    }
    // `btfkit relocate OBJECT --btf vmlinux --module modx.btf --index-cache off ARGS...`
    bt::run_result relocate(const std::string& obj, std::vector<std::string> args) const {
        std::vector<std::string> all{tool, "relocate", obj, "--btf", vmlinux, "--module", module, "--index-cache", "off"};
        all.insert(all.end(), args.begin(), args.end());
        return bt::run(all, dir.path);
    }
};

// The JSON object of the relocation at instruction `insn` in `relocate --json` output ("" if none).
std::string json_site(const std::string& out, std::uint32_t insn) {
    const std::string key = "\"insn\": " + std::to_string(insn) + ",";
    const std::size_t k = out.find(key);
    if (k == std::string::npos) return {};
    const std::size_t begin = out.rfind("{\"section\"", k);
    const std::size_t end = out.find("}, {\"section\"", k);
    const std::size_t last = out.find("], \"summary\"", k);
    return out.substr(begin, std::min(end, last) - begin + 1);
}

// The "summary" object of `relocate --json` output.
std::string json_summary(const std::string& out) {
    const std::size_t s = out.find("\"summary\": {");
    return s == std::string::npos ? std::string{} : out.substr(s, out.find('}', s) - s + 1);
}

// The 16 hex digits of an 8-byte little-endian instruction whose imm is `imm`, off 0, over `code`/`regs`.
std::string hex_insn(std::uint8_t code, std::uint8_t regs, std::int16_t off, std::int32_t imm) {
    static constexpr char digits[] = "0123456789abcdef";
    char b[8];
    b[0] = static_cast<char>(code);
    b[1] = static_cast<char>(regs);
    bk::detail::store<std::uint16_t>(b + 2, static_cast<std::uint16_t>(off), bk::byte_order::little);
    bk::detail::store<std::uint32_t>(b + 4, static_cast<std::uint32_t>(imm), bk::byte_order::little);
    std::string s;
    for (const char c : b) {
        s += digits[static_cast<unsigned char>(c) >> 4];
        s += digits[static_cast<unsigned char>(c) & 0xf];
    }
    return s;
}

}  // namespace

TEST_CASE("module_fd: relocate --json and the log report a module type in a move as an error, naming section and module") {
    const cli_files f;
    const bt::run_result json = f.relocate(f.object, {"--json"});
    INFO(json.out, json.err);
    CHECK(json.status == 1);
    const std::string mov = json_site(json.out, site_mov64);
    CHECK(mov.find("\"section\": \"kprobe/modfd\"") != std::string::npos);
    CHECK(mov.find("\"result\": \"error\"") != std::string::npos);
    CHECK(mov.find("\"target\": {\"btf\": \"modx\", \"type_id\": " + std::to_string(f.mod_s) + "}") != std::string::npos);
    CHECK(mov.find("\"new\": " + std::to_string(f.mod_s) + ",") != std::string::npos);  // not an fd above it
    CHECK(mov.find("no upper 32 bits") != std::string::npos);
    CHECK(json_site(json.out, site_ldx).find("\"result\": \"error\"") != std::string::npos);
    // The ldimm64 carries the module; files give no fd, which is the documented warning.
    const std::string wide = json_site(json.out, site_ldimm64);
    CHECK(wide.find("\"result\": \"ok\"") != std::string::npos);
    CHECK(wide.find("\"warning\": \"module type, but no kernel BTF fd/id: upper 32 bits left 0\"") != std::string::npos);
    const std::string sum = json_summary(json.out);
    CHECK(sum.find("\"errors\": 3") != std::string::npos);
    CHECK(sum.find("\"fd_encoding\": \"fd\"") != std::string::npos);

    const bt::run_result log = f.relocate(f.object, {});
    INFO(log.out, log.err);
    CHECK(log.status == 1);
    CHECK(log.out.find("prog 'modfd_prog': relo #0: error at insn #0 of kprobe/modfd: ") != std::string::npos);
    CHECK(log.out.find("no upper 32 bits [bad instruction] (target [modx] type #" + std::to_string(f.mod_s) + ")") != std::string::npos);
    CHECK(log.out.find("patched insn #0") == std::string::npos);
    CHECK(log.out.find("5 relocations: 2 ok, 0 poisoned, 3 errors, 1 warnings; fd encoding fd\n") != std::string::npos);
}

TEST_CASE("module_fd: relocate --libbpf patches a module type in a move as libbpf does and warns that it lacks the module") {
    const cli_files f;
    const bt::run_result json = f.relocate(f.object, {"--json", "--libbpf"});
    INFO(json.out, json.err);
    CHECK(json.status == 0);
    const std::string mov = json_site(json.out, site_mov64);
    CHECK(mov.find("\"result\": \"ok\"") != std::string::npos);
    CHECK(mov.find("\"new\": " + std::to_string(f.mod_s) + ",") != std::string::npos);
    // mov64 r0, <type id>: code 0xb7, no registers but r0, off 0.
    CHECK(mov.find("\"bytes\": \"" + hex_insn(0xb7, 0, 0, static_cast<std::int32_t>(f.mod_s)) + "\"") != std::string::npos);
    CHECK(mov.find("\"warning\": \"module type in an instruction other than ldimm64: no upper 32 bits") != std::string::npos);
    const std::string mov32 = json_site(json.out, site_mov32);
    CHECK(mov32.find("\"bytes\": \"" + hex_insn(0xb4, 0, 0, static_cast<std::int32_t>(f.mod_s)) + "\"") != std::string::npos);
    const std::string ldx = json_site(json.out, site_ldx);
    CHECK(ldx.find("\"bytes\": \"" + hex_insn(0x61, 0x10, static_cast<std::int16_t>(f.mod_s), 0) + "\"") != std::string::npos);
    CHECK(json_site(json.out, site_ldimm64).find("\"warning\"") == std::string::npos);  // none asked: nothing missing
    const std::string sum = json_summary(json.out);
    CHECK(sum.find("\"warnings\": 3") != std::string::npos);
    CHECK(sum.find("\"fd_encoding\": \"none\"") != std::string::npos);
    CHECK(json.err.find("btfkit: warning: " + f.object + ": section kprobe/modfd insn #0: relo #0: [modx] module type in an instruction other than ldimm64") != std::string::npos);

    const bt::run_result log = f.relocate(f.object, {"--libbpf"});
    INFO(log.out, log.err);
    CHECK(log.status == 0);
    CHECK(log.out.find("prog 'modfd_prog': relo #0: patched insn #0 (ALU/ALU64) imm " + std::to_string(l_mod_s) + " -> " + std::to_string(f.mod_s) + "\n") != std::string::npos);
    CHECK(log.out.find("prog 'modfd_prog': relo #0: warning: [modx] module type in an instruction other than ldimm64") != std::string::npos);
    CHECK(log.out.find("; fd encoding none\n") != std::string::npos);
}

TEST_CASE("module_fd: relocate -o/--out-dir writes module BTF ids (or none), never fds; log and JSON say which") {
    const cli_files f;
    const std::string out = (f.dir.path / "out.bpf.o").string(), out_dir = (f.dir.path / "out").string();
    fs::create_directories(out_dir);
    struct written_case {
        std::vector<std::string> args;
        const char* encoding;
    };
    const written_case cases[] = {
        {{}, "fd"},                                   // nothing written: the default
        {{"-o", out}, "id"},                          // written: ids
        {{"--out-dir", out_dir}, "id"},
        {{"-o", out, "--fd-encoding", "none"}, "none"},
        {{"-o", out, "--libbpf"}, "none"},
        {{"--fd-encoding", "id"}, "id"},
    };
    for (const written_case& c : cases) {
        std::string label;
        for (const auto& a : c.args) label += a + " ";
        CAPTURE(label);
        std::vector<std::string> json_args = c.args;
        json_args.push_back("--json");
        const bt::run_result json = f.relocate(f.ldimm64_object, json_args);
        INFO(json.out, json.err);
        CHECK(json.status == 0);
        CHECK(json_summary(json.out).find(std::string("\"fd_encoding\": \"") + c.encoding + "\"") != std::string::npos);
        // Files give no fd and no id: with an encoding, the module site says so, whichever it is.
        const std::string wide = json_site(json.out, site_ldimm64);
        const bool warned = wide.find("\"warning\": \"module type, but no kernel BTF fd/id: upper 32 bits left 0\"") != std::string::npos;
        CHECK(warned == (std::string_view(c.encoding) != "none"));
        const bt::run_result log = f.relocate(f.ldimm64_object, c.args);
        INFO(log.out, log.err);
        CHECK(log.status == 0);
        CHECK(log.out.find(std::string("; fd encoding ") + c.encoding + "\n") != std::string::npos);
    }
    CHECK(fs::exists(out));
    CHECK(fs::exists(fs::path(out_dir) / "modfd_wide.bpf.o"));
    // An fd means nothing outside this process: a written object never gets one.
    for (const std::vector<std::string>& args : {std::vector<std::string>{"-o", out, "--fd-encoding", "fd"},
                                                std::vector<std::string>{"--fd-encoding", "fd", "--out-dir", out_dir}}) {
        const bt::run_result r = f.relocate(f.ldimm64_object, args);
        CHECK(r.status == 2);
        CHECK(r.err.find("a written object outlives this process's fds") != std::string::npos);
    }
}
