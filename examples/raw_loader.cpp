// A loader without libbpf: btfkit relocates a BPF object's CO-RE sites against the running kernel,
// resolves its kernel externs (ksyms, kfuncs) and each program's attach target, then raw bpf() calls
// load, attach and run the programs. Global data (.bss, .data, .rodata) becomes array maps; objects
// with BTF-defined maps or bpf-to-bpf calls are beyond it.
//
//   raw_loader OBJECT [--attach] [--test-run] [--run CMD] [--glob PROGRAM=PATTERN]
//
// --attach links each program that attaches by BTF (fentry, fexit, fmod_ret, lsm, tp_btf) and raw_tp
// programs; --test-run runs raw_tp and XDP programs once with BPF_PROG_TEST_RUN; --run runs CMD while
// attached; --glob loads program PROGRAM once for every kernel function matching PATTERN (vmlinux and
// modules), each copy attached to its function. At the end it prints each global variable's value.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/core/attach.hpp"
#include "btfkit/core/externs.hpp"
#include "btfkit/core/relocate.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/os/kallsyms.hpp"
#include "btfkit/targets/symbol_matches.hpp"

namespace {

namespace bk = btfkit;

struct options {
    const char* object = nullptr;
    bool attach = false, test_run = false;
    const char* run = nullptr;
    std::map<std::string, std::string, std::less<>> globs;  // program -> function pattern
};

// One global data section as an array map of one value.
struct data_map {
    std::uint32_t section = 0;
    std::string name;
    int fd = -1;
    std::uint32_t size = 0;
};

int fail(const char* what, const bk::error& e) {
    std::fprintf(stderr, "raw_loader: %s: %s\n", what, e.message().c_str());
    return 1;
}

// Creates a map per global data section and points the instructions that refer to it at the map.
bk::status map_global_data(const bk::bpf_object& obj, std::span<char> image, std::vector<data_map>& maps) {
    const bk::elf& e = obj.file();
    for (std::uint32_t i = 0; i < e.section_count(); ++i) {
        const bk::elf_section s = e.section(i);
        const bool data = s.name == ".bss" || s.name == ".data" || s.name == ".rodata" || s.name.starts_with(".data.") || s.name.starts_with(".rodata.");
        if (!data || s.size == 0) continue;
        data_map m{i, std::string(s.name), -1, static_cast<std::uint32_t>(s.size)};
        m.fd = bk::sys::array_map_create(m.size, 1, {.name = s.name});
        if (m.fd < 0) return bk::error(bk::errc::io, "BPF_MAP_CREATE failed for a data section").got(static_cast<std::uint64_t>(-m.fd)).about(s.name);
        std::vector<char> init(m.size, 0);
        if (s.type != bk::elf_const::sht_nobits) {
            const auto d = e.section_data(s);
            std::copy(d.begin(), d.end(), init.begin());
        }
        if (const int r = bk::sys::map_update(m.fd, 0, init.data()); r < 0) return bk::error(bk::errc::io, "cannot initialise a data map").got(static_cast<std::uint64_t>(-r)).about(s.name);
        maps.push_back(std::move(m));
    }
    auto syms = e.symbols();
    if (!syms) return syms.error();
    for (std::uint32_t i = 0; i < e.section_count(); ++i) {
        const bk::elf_section rs = e.section(i);
        if (rs.type != bk::elf_const::sht_rel || rs.info >= e.section_count()) continue;
        const bk::elf_section code = e.section(rs.info);
        if ((code.flags & bk::elf_const::shf_execinstr) == 0) continue;
        for (std::uint32_t k = 0; k < e.rel_count(rs); ++k) {
            const bk::elf_rel rel = e.rel(rs, k);
            if (rel.sym >= syms->size()) continue;
            const bk::elf_symbol sym = (*syms)[rel.sym];
            const auto m = std::find_if(maps.begin(), maps.end(), [&](const data_map& d) { return d.section == sym.shndx; });
            if (m == maps.end()) continue;
            char* at = image.data() + code.offset + rel.offset;
            bk::insn i0 = bk::decode_insn(at, e.order()), i1 = bk::decode_insn(at + 8, e.order());
            if (!i0.is_ldimm64()) return bk::error(bk::errc::bad_instruction, "data reference in an instruction other than ldimm64").about(code.name);
            // libbpf's RELO_DATA: the map's fd, and the offset in the second half.
            const std::uint64_t off = static_cast<std::uint32_t>(i0.imm) + (sym.type() == bk::elf_const::stt_section ? 0 : sym.value);
            i0.src = BPF_PSEUDO_MAP_VALUE;
            i0.imm = m->fd;
            i1.imm = static_cast<std::int32_t>(off);
            bk::encode_insn(at, i0, e.order());
            bk::encode_insn(at + 8, i1, e.order());
        }
    }
    return {};
}

struct loaded {
    std::string name;
    std::string section;
    int fd = -1;
    bk::program_load load;
};

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--attach") o.attach = true;
        else if (a == "--test-run") o.test_run = true;
        else if (a == "--run" && i + 1 < argc) o.run = argv[++i];
        else if (a == "--glob" && i + 1 < argc && std::string_view(argv[i + 1]).find('=') != std::string_view::npos) {
            const std::string_view g = argv[++i];
            o.globs.emplace(std::string(g.substr(0, g.find('='))), std::string(g.substr(g.find('=') + 1)));
        } else if (!a.starts_with("-") && o.object == nullptr) o.object = argv[i];
        else {
            std::fprintf(stderr, "usage: %s OBJECT.bpf.o [--attach] [--test-run] [--run CMD] [--glob PROGRAM=PATTERN]...\n", argv[0]);
            return 2;
        }
    }
    if (o.object == nullptr) return std::fprintf(stderr, "usage: %s OBJECT.bpf.o [options]\n", argv[0]), 2;
    auto file = bk::mapped_file::open(o.object);
    if (!file) return fail(o.object, file.error());
    auto obj = bk::bpf_object::parse(file->bytes());
    if (!obj) return fail(o.object, obj.error());
    auto kernel = bk::file_targets::running_kernel();
    if (!kernel) return fail("kernel BTF", kernel.error());
    bk::target_set& set = (*kernel)->targets();

    // CO-RE, then externs, on a private copy of the object; module BTF as fds (this process loads).
    std::vector<char> image(file->bytes().begin(), file->bytes().end());
    bk::relocation_scratch scratch;
    std::uint32_t errors = 0;
    auto sum = bk::relocate_object(*obj, image, set, scratch, {}, [&](const bk::relocation_report& r) {
        if (r.outcome != bk::relo_outcome::error) return;
        ++errors;
        std::fprintf(stderr, "relo #%u in %.*s: %s\n", r.relo_index, static_cast<int>(r.section.size()), r.section.data(), r.err.message().c_str());
    });
    if (!sum) return fail(o.object, sum.error());
    std::printf("%s: %u CO-RE relocations (%u ok, %u poisoned, %u errors)\n", o.object, sum->total, sum->ok, sum->poisoned, sum->errors);
    std::vector<std::uint32_t> fd_slots;
    bk::kallsyms_on_demand kallsyms;
    auto xsum = bk::resolve_externs(*obj, image, set, kallsyms, {}, fd_slots, [&](const bk::extern_report& r) {
        const auto& b = *r.binding;
        std::printf("  extern %.*s (%.*s): %.*s", static_cast<int>(r.symbol->name.size()), r.symbol->name.data(),
                    static_cast<int>(to_string(r.kind).size()), to_string(r.kind).data(), static_cast<int>(to_string(r.outcome).size()),
                    to_string(r.outcome).data());
        if (b.has_target && r.outcome == bk::extern_outcome::resolved) {
            const std::string_view t = set.target_name(b.target);
            std::printf(" [%.*s] #%u", static_cast<int>(t.size()), t.data(), b.type_id);
        }
        if (r.outcome == bk::extern_outcome::error) {
            ++errors;
            std::printf(": %s", r.err.message().c_str());
        }
        std::printf("\n");
    });
    if (!xsum) return fail(o.object, xsum.error());
    const std::vector<int> fd_array(fd_slots.begin(), fd_slots.end());
    std::vector<data_map> maps;
    if (auto st = map_global_data(*obj, image, maps); !st) return fail(o.object, st.error());

    std::string license = "GPL";
    if (auto lic = obj->file().find_section("license")) {
        const auto d = obj->file().section_data(*lic);
        license.assign(d.data(), std::min(d.size(), std::string_view(d.data(), d.size()).find('\0')));
    }

    // Load: each program once, or once per function its --glob pattern matches.
    std::vector<loaded> progs;
    std::vector<char> log(1 << 20);
    const auto load_one = [&](const bk::program& p, bk::program_load l, std::string label) {
        const auto sec = obj->file().section(p.section_index);
        const std::span<const char> insns(image.data() + sec.offset + std::size_t{p.first_insn} * 8, std::size_t{p.insn_count} * 8);
        int attach_obj_fd = 0;
        if (l.has_target && l.target != 0) {
            auto fd = set.upper_bits(l.target, bk::fd_encoding::btf_fd);
            if (!fd) return void(fail(label.c_str(), fd.error()));
            attach_obj_fd = static_cast<int>(*fd);
        }
        const int fd = bk::sys::prog_load(static_cast<std::uint32_t>(l.type), insns, license.c_str(), log,
                                          {.name = p.name, .expected_attach_type = static_cast<std::uint32_t>(l.expected_attach),
                                           .attach_btf_id = l.attach_btf_id, .attach_btf_obj_fd = attach_obj_fd, .fd_array = fd_array,
                                           .sleepable = l.sleepable});
        if (fd < 0) {
            ++errors;
            std::string_view v(log.data());
            if (v.size() > 2000) v = v.substr(v.size() - 2000);
            std::printf("  %s: verifier rejected (errno %d)\n%.*s\n", label.c_str(), -fd, static_cast<int>(v.size()), v.data());
            return;
        }
        std::printf("  %s: verifier accepted %u insns, fd %d\n", label.c_str(), p.insn_count, fd);
        progs.push_back(loaded{std::move(label), std::string(p.section_name), fd, std::move(l)});
    };
    (void)obj->for_each_program([&](const bk::program& p) {
        if (p.is_subprog) return;
        std::string label = std::string(p.name) + " (" + std::string(p.section_name) + ")";
        auto l = bk::resolve_program_load(set, p.section_name);
        if (!l) return void(fail(label.c_str(), l.error()));
        if (l->def == nullptr) {
            std::printf("  %s: skipped, unknown program type\n", label.c_str());
            return;
        }
        const auto glob = o.globs.find(p.name);
        if (glob == o.globs.end()) {
            if (l->err.code != bk::errc::ok) {
                ++errors;
                std::printf("  %s: %s\n", label.c_str(), l->err.message().c_str());
                return;
            }
            if (l->has_target) {
                const std::string_view t = set.target_name(l->target);
                label += " -> [" + std::string(t) + "] " + l->attach_name + " #" + std::to_string(l->attach_btf_id);
            }
            load_one(p, std::move(*l), std::move(label));
            return;
        }
        auto matches = bk::symbol_matches::find(set, bk::name_glob(glob->second));
        if (!matches) return void(fail(label.c_str(), matches.error()));
        std::uint32_t n = 0;
        for (const bk::candidate c : *matches) {
            bk::program_load each = *l;
            each.has_target = true;
            each.target = c.target;
            each.attach_btf_id = c.id;
            each.attach_name = std::string((*c.owner)[c.id].name());
            each.err = {};
            load_one(p, std::move(each), std::string(p.name) + " -> [" + std::string(set.target_name(c.target)) + "] " +
                                             std::string((*c.owner)[c.id].name()) + " #" + std::to_string(c.id));
            ++n;
        }
        std::printf("  %s: %u functions match %s\n", label.c_str(), n, glob->second.c_str());
    });

    std::vector<int> links;
    if (o.attach) {
        for (const loaded& p : progs) {
            int link = -1;
            if (p.load.has_target && p.load.type == bk::prog_type::tracing && p.load.expected_attach == bk::attach_type::trace_raw_tp) {
                link = bk::sys::raw_tracepoint_open(p.fd);
            } else if (p.load.has_target) {
                link = bk::sys::link_create(p.fd, static_cast<std::uint32_t>(p.load.expected_attach));
            } else if (p.load.type == bk::prog_type::raw_tracepoint) {
                const std::size_t slash = p.section.find('/');
                if (slash == std::string::npos) continue;
                link = bk::sys::raw_tracepoint_open(p.fd, p.section.substr(slash + 1).c_str());
            } else {
                continue;
            }
            if (link < 0) ++errors;
            std::printf("  %s: %s%s\n", p.name.c_str(), link < 0 ? "attach failed: " : "attached", link < 0 ? std::strerror(-link) : "");
            if (link >= 0) links.push_back(link);
        }
    }
    if (o.test_run) {
        const std::vector<char> packet(64, 0);
        for (const loaded& p : progs) {
            if (p.load.type != bk::prog_type::raw_tracepoint && p.load.type != bk::prog_type::xdp) continue;
            const long r = bk::sys::prog_test_run(p.fd, p.load.type == bk::prog_type::xdp ? std::span<const char>(packet) : std::span<const char>());
            if (r < 0 && r > -4096) ++errors;
            std::printf("  %s: test run %s %ld\n", p.name.c_str(), r < 0 && r > -4096 ? "failed, errno" : "returned", r < 0 && r > -4096 ? -r : r);
        }
    }
    if (o.run != nullptr) {
        const int rc = std::system(o.run);
        std::printf("  ran '%s': status %d\n", o.run, rc);
    }
    for (const int l : links) ::close(l);

    // Each global variable of the data sections, as the maps hold it now.
    const bk::btf& b = obj->btf();
    for (const data_map& m : maps) {
        std::vector<unsigned char> value(m.size);
        if (bk::sys::map_lookup(m.fd, 0, value.data()) < 0) continue;
        for (std::uint32_t id = b.first_id(); id < b.type_count(); ++id) {
            if (b.kind_of(id) != bk::kind::datasec || b[id].name() != m.name) continue;
            for (const auto& v : b[id].vars()) {
                std::uint64_t x = 0;
                // Map values are in the host's byte order; this loader runs where it loads (little-endian x86).
                for (std::uint32_t k = 0; k < v.size && k < 8 && v.offset + k < m.size; ++k) x |= std::uint64_t{value[v.offset + k]} << (8 * k);
                const std::string_view n = b[v.type].name();
                std::printf("  global %.*s = %" PRIu64 "\n", static_cast<int>(n.size()), n.data(), x);
            }
        }
    }
    for (const loaded& p : progs) ::close(p.fd);
    for (const data_map& m : maps) ::close(m.fd);
    return errors == 0 ? 0 : 1;
}
