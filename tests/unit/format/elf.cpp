// format/elf.hpp: ELF64 in either byte order: sections by index and by name, their data, the symbol
// table and REL entries, each checked once at parse.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/elf.hpp"
#include "elf_builder.hpp"

namespace {

using namespace btfkit;
using testing::elf_builder;

struct built {
    std::vector<char> bytes;
    std::uint32_t prog = 0, data = 0, rel = 0;
};

built small_object(byte_order order) {
    elf_builder eb(order);
    built out;
    const std::vector<insn> code{{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};
    out.prog = eb.add_program_section("kprobe/x", code);
    out.data = eb.add_progbits(".rodata", byte_span("hello", 5));
    out.rel = eb.add_rel_section(".relkprobe/x", out.prog, {{0, 1, 1, 0}, {8, 2, 10, 0}});
    eb.add_func("prog_x", static_cast<std::uint16_t>(out.prog), 0, 16);
    eb.add_symbol({"msg", elf_const::stt_object, elf_const::stb_local, static_cast<std::uint16_t>(out.data), 0, 5});
    out.bytes = eb.build();
    return out;
}

}  // namespace

TEST_CASE("elf: sections, their data, symbols and REL entries, in either byte order") {
    for (const byte_order order : {byte_order::little, byte_order::big}) {
        CAPTURE(order == byte_order::little ? "little endian" : "big endian");
        const built o = small_object(order);
        const byte_span data(o.bytes.data(), o.bytes.size());
        CHECK(elf::is_elf(data));
        auto e = elf::parse(data);
        REQUIRE_MESSAGE(e.has_value(), e.error().message());
        CHECK(e->order() == order);
        CHECK(e->machine() == elf_const::em_bpf);
        CHECK(e->file_type() == 1);
        const auto ro = e->find_section(".rodata");
        REQUIRE(ro.has_value());
        CHECK(ro->index == o.data);
        CHECK(std::string_view(e->section_data(*ro).data(), 5) == "hello");
        CHECK(e->find_section(".BTF").error().code == errc::not_found);
        const elf_section prog = e->section(o.prog);
        CHECK(prog.name == "kprobe/x");
        CHECK(prog.flags == (elf_const::shf_alloc | elf_const::shf_execinstr));
        CHECK(prog.size == 16);
        std::vector<std::string> names;
        for (const elf_section s : e->sections()) names.emplace_back(s.name);
        CHECK(names.size() == e->section_count());
        CHECK(names[o.rel] == ".relkprobe/x");
        // Symbols: the null one, then ours in the order given (locals first, as ELF requires).
        auto syms = e->symbols();
        REQUIRE(syms.has_value());
        bool found_prog = false, found_msg = false;
        for (std::uint32_t i = 1; i < syms->size(); ++i) {
            const elf_symbol s = (*syms)[i];
            if (s.name == "prog_x") {
                found_prog = true;
                CHECK(s.type() == elf_const::stt_func);
                CHECK(s.bind() == elf_const::stb_global);
                CHECK(s.shndx == o.prog);
                CHECK(s.size == 16);
            }
            if (s.name == "msg") {
                found_msg = true;
                CHECK(s.type() == elf_const::stt_object);
                CHECK(s.bind() == elf_const::stb_local);
            }
        }
        CHECK(found_prog);
        CHECK(found_msg);
        const elf_section rel = e->section(o.rel);
        CHECK(rel.info == o.prog);
        REQUIRE(e->rel_count(rel) == 2);
        CHECK(e->rel(rel, 1).offset == 8);
        CHECK(e->rel(rel, 1).sym == 2);
        CHECK(e->rel(rel, 1).type == 10);
        CHECK(e->rel_count(prog) == 0);
    }
}

TEST_CASE("elf: what is not ELF64, or is cut short, is an error") {
    const built o = small_object(byte_order::little);
    const std::vector<char> text{'h', 'e', 'l', 'l', 'o'};
    CHECK_FALSE(elf::is_elf(byte_span(text.data(), text.size())));
    CHECK(elf::parse(byte_span(text.data(), text.size())).error().code == errc::bad_magic);
    std::vector<char> not_elf = o.bytes;
    not_elf[1] = 'X';
    CHECK(elf::parse(byte_span(not_elf.data(), not_elf.size())).error().code == errc::bad_magic);
    std::vector<char> class32 = o.bytes;
    class32[4] = 1;
    CHECK(elf::parse(byte_span(class32.data(), class32.size())).error().code == errc::unsupported);
    CHECK(elf::parse(byte_span(o.bytes.data(), o.bytes.size() - 1)).error().code == errc::truncated);  // section headers last
    CHECK(elf::parse(byte_span(o.bytes.data(), 63)).error().code == errc::truncated);
}
