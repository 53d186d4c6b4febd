// write/final_object.hpp: drop_core_records drops the CO-RE records of a relocated object and the
// .rel.BTF.ext entries into them, and keeps func and line info and every other byte.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/core/relocate.hpp"
#include "btfkit/os/file_targets.hpp"
#include "btfkit/write/final_object.hpp"
#include "core_object.hpp"
#include "parsed.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bt::parse_object;
using bt::read_bytes;

const fs::path fixture_dir{BTFKIT_FIXTURE_DIR};
const fs::path corpus_dir{BTFKIT_CORPUS_DIR};

// Every func_info and line_info record, as text, in order.
std::string ext_info_text(const bk::bpf_object& o) {
    std::string s;
    for (const auto sec : o.ext().func_infos()) {
        s += "func " + std::string(sec.section_name()) + ":";
        for (std::uint32_t i = 0; i < sec.size(); ++i) s += " " + std::to_string(sec[i].insn_off) + "/" + std::to_string(sec[i].type_id);
        s += "\n";
    }
    for (const auto sec : o.ext().line_infos()) {
        s += "line " + std::string(sec.section_name()) + ":";
        for (std::uint32_t i = 0; i < sec.size(); ++i) {
            const bk::line_info l = sec[i];
            s += " " + std::to_string(l.insn_off) + "/" + std::to_string(l.file_name_off) + "/" + std::to_string(l.line_off) + "/" + std::to_string(l.line_col);
        }
        s += "\n";
    }
    return s;
}

// The number of entries of .BTF.ext's relocation sections.
std::uint32_t ext_rel_entries(const bk::bpf_object& o, std::uint32_t ext_index) {
    std::uint32_t n = 0;
    for (std::uint32_t i = 1; i < o.file().section_count(); ++i) {
        const bk::elf_section s = o.file().section(i);
        if ((s.type == bk::elf_const::sht_rel || s.type == bk::elf_const::sht_rela) && s.info == ext_index) n += o.file().rel_count(s);
    }
    return n;
}

// Relocates `bytes` against `targets` and drops the records; checks what stayed and what went.
std::vector<char> finalise_and_check(const std::vector<char>& bytes, bk::target_set& targets, const std::string& what) {
    INFO(what);
    const bk::bpf_object orig = parse_object(bytes);
    std::vector<char> image(bytes);
    bk::relocation_scratch scratch;
    bk::relocate_options opts;
    opts.skip_non_autoload = false;
    auto sum = bk::relocate_object(orig, std::span<char>(image.data(), image.size()), targets, scratch, opts, [](const bk::relocation_report&) {});
    REQUIRE(sum.has_value());
    const std::vector<char> relocated = image;
    auto d = bk::drop_core_records(orig, std::span<char>(image.data(), image.size()));
    REQUIRE_MESSAGE(d.has_value(), d.error().message());
    CHECK(d->records == orig.ext().core_relo_count());
    const bk::bpf_object fin = parse_object(image);
    REQUIRE(fin.has_ext());
    CHECK(fin.ext().core_relo_count() == 0);
    CHECK(fin.ext().core_relos().empty());
    CHECK(ext_info_text(fin) == ext_info_text(orig));
    // Every other section's bytes are the relocated object's; the layout is the same.
    REQUIRE(fin.file().section_count() == orig.file().section_count());
    const std::uint32_t ext_index = orig.file().find_section(".BTF.ext")->index;
    for (std::uint32_t i = 1; i < orig.file().section_count(); ++i) {
        const bk::elf_section a = orig.file().section(i), b = fin.file().section(i);
        CHECK(a.offset == b.offset);
        const bool ext_rel = (a.type == bk::elf_const::sht_rel || a.type == bk::elf_const::sht_rela) && a.info == ext_index;
        if (i == ext_index || ext_rel) continue;
        CHECK(a.size == b.size);
        const auto sa = orig.file().section_data(a);
        CHECK(std::string_view(relocated.data() + a.offset, sa.size()) == std::string_view(image.data() + b.offset, sa.size()));
    }
    CHECK(ext_rel_entries(fin, ext_index) + d->rel_entries == ext_rel_entries(orig, ext_index));
    // Nothing left to drop the second time.
    std::vector<char> again(image);
    auto d2 = bk::drop_core_records(fin, std::span<char>(again.data(), again.size()));
    REQUIRE(d2.has_value());
    CHECK(d2->records == 0);
    CHECK(again == image);
    return image;
}

}  // namespace

TEST_CASE("final_object: records dropped, func and line info and every other byte kept, .rel.BTF.ext entries into them dropped") {
    const fs::path kc = fixture_dir / "kernel_core.bpf.o";
    if (!fs::exists(kc) || !fs::exists(corpus_dir / "vmlinux")) {
        MESSAGE("skipping: needs the fixtures and the Debian corpus");
        return;
    }
    auto targets = bk::file_targets::open((corpus_dir / "vmlinux").string(), {});
    REQUIRE(targets.has_value());
    std::vector<fs::path> objects{kc, fixture_dir / "core_kinds.bpf.o", fixture_dir / "core_stress.bpf.o", fixture_dir / "no_core.bpf.o"};
    for (const auto& e : fs::directory_iterator(corpus_dir / "bpf")) objects.push_back(e.path());
    std::size_t with_records = 0;
    for (const fs::path& p : objects) {
        const std::vector<char> bytes = read_bytes(p);
        const bk::bpf_object o = parse_object(bytes);
        const std::vector<char> fin = finalise_and_check(bytes, (*targets)->targets(), p.string());
        if (o.has_ext() && o.ext().core_relo_count() > 0) {
            ++with_records;
            CHECK(fin.size() == bytes.size());
        } else {
            CHECK(fin == bytes);
        }
    }
    CHECK(with_records > 40);
    MESSAGE(objects.size() << " objects made final, " << with_records << " of them with CO-RE records");
    // Big-endian, against its own target; and a hand-built object whose .BTF.ext holds records alone.
    auto be = bk::file_targets::open((fixture_dir / "core_kinds.t1.be.bpf.o").string(), {});
    REQUIRE(be.has_value());
    (void)finalise_and_check(read_bytes(fixture_dir / "core_kinds.be.bpf.o"), (*be)->targets(), "core_kinds.be.bpf.o");
    const bt::scenario zc = bt::zero_cands::make(bk::byte_order::little);
    bt::temp_dir tmp("btfkit-final");
    const std::string target = (tmp.path / "zc.btf").string();
    REQUIRE(bt::write_bytes(target, {zc.target.data(), zc.target.size()}));
    auto zt = bk::file_targets::open(target, {});
    REQUIRE(zt.has_value());
    const std::vector<char> fin = finalise_and_check(zc.object, (*zt)->targets(), "zero_cands");
    const bk::bpf_object f = parse_object(fin);
    CHECK(f.file().find_section(".BTF.ext")->size == 32);  // the header alone
}
