// libbpf-oracle --loads: what libbpf hands the kernel in BPF_PROG_LOAD for every program of an object
// (instructions after extern resolution, program and attach type, attach BTF, fd_array), caught at the
// bpf() syscall itself and refused there, and the object's .ksyms extern sites read back from those
// instructions. The reference for btfkit's extern and attach-target resolution.
//
// libbpf calls syscall() from its own object file (bpf.o), so -Wl,--wrap=syscall catches every bpf()
// it makes. libbpf stops an object's load at its first failing program, so each program is loaded from
// a fresh open with only itself autoloaded: every program yields a record, whatever the kernel thinks.

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <btfkit/format/bpf_object.hpp>
#include <btfkit/kernel.hpp>

#include "load_oracle.hpp"
#include "oracle_common.hpp"

extern "C" {
long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);
}

namespace {

using namespace btfkit::oracle;

constexpr std::uint8_t pseudo_btf_id = 3;       // BPF_PSEUDO_BTF_ID: ldimm64 of a kernel VAR or FUNC by BTF id
constexpr std::uint8_t pseudo_kfunc_call = 2;   // BPF_PSEUDO_KFUNC_CALL
constexpr std::uint8_t call_code = 0x85;        // BPF_JMP | BPF_CALL
constexpr std::int64_t poison_kfunc_base = 2002000000;  // libbpf 1.2+: an unresolved weak kfunc call

// A kernel BTF object, named as the kernel names it ("vmlinux" or the module).
struct btf_ref {
    std::string name;
    std::uint32_t id = 0;
};

// One BPF_PROG_LOAD of one of the object's programs, as libbpf built it.
struct captured_load {
    std::string prog;
    std::uint32_t prog_type = 0, expected_attach_type = 0, attach_btf_id = 0;
    std::optional<btf_ref> attach_btf;  // the BTF attach_btf_obj_fd names (fd 0: vmlinux), if attach_btf_id
    std::vector<unsigned char> insns;
    std::vector<std::optional<btf_ref>> fd_array;  // up to the highest slot a kfunc call uses; slot 0 reserved
    std::map<std::int32_t, btf_ref> insn_fds;      // insn[1].imm of a BTF-id ldimm64 → its BTF
    std::vector<std::pair<std::uint32_t, std::uint32_t>> func_info;  // (insn_off, type_id), in the loaded program
};

struct options {
    bool verbose = false;
    bool insns = false;
};

// What the syscall wrapper sees: the object being loaded and what it caught.
struct capture_state {
    options opt;
    struct bpf_object* obj = nullptr;
    std::vector<captured_load> loads;
    std::vector<std::string> warnings;
    std::optional<std::uint32_t> vmlinux_id;
};
capture_state cap;

// The kernel's id of its vmlinux BTF object (fd 0 in the load attributes names it).
std::uint32_t vmlinux_btf_id() {
    if (cap.vmlinux_id) return *cap.vmlinux_id;
    cap.vmlinux_id = 0;
    std::uint32_t id = 0, next = 0;
    while (btfkit::sys::btf_get_next_id(id, next) == 0) {
        id = next;
        const int fd = btfkit::sys::btf_get_fd_by_id(id);
        if (fd < 0) continue;
        btfkit::sys::btf_object_info info;
        const bool found = btfkit::sys::btf_get_info(fd, info) == 0 && info.kernel_btf && info.name == "vmlinux";
        ::close(fd);
        if (found) {
            cap.vmlinux_id = id;
            break;
        }
    }
    return *cap.vmlinux_id;
}

std::optional<btf_ref> btf_of_fd(int fd) {
    if (fd == 0) return btf_ref{"vmlinux", vmlinux_btf_id()};
    btfkit::sys::btf_object_info info;
    if (btfkit::sys::btf_get_info(fd, info) != 0) return std::nullopt;
    return btf_ref{info.name, info.id};
}

btfkit::insn insn_at(const std::vector<unsigned char>& insns, std::size_t i) {
    return btfkit::decode_insn(reinterpret_cast<const char*>(insns.data()) + i * 8, btfkit::native_order);
}

// Copies what the kernel would read through a user pointer of the load attributes.
template <class T>
T read_user(std::uint64_t ptr, std::size_t index) {
    T v{};
    std::memcpy(&v, reinterpret_cast<const char*>(static_cast<std::uintptr_t>(ptr)) + index * sizeof(T), sizeof(T));
    return v;
}

struct bpf_program* own_program(std::uint64_t insns) {
    if (cap.obj == nullptr) return nullptr;
    struct bpf_program* p = nullptr;
    bpf_object__for_each_program(p, cap.obj) {
        if (btfkit::sys::user_ptr(bpf_program__insns(p)) == insns) return p;
    }
    return nullptr;
}

captured_load capture(const union bpf_attr& a, struct bpf_program* p) {
    captured_load l;
    l.prog = bpf_program__name(p);
    l.prog_type = a.prog_type;
    l.expected_attach_type = a.expected_attach_type;
    l.attach_btf_id = a.attach_btf_id;
    if (a.attach_btf_id != 0) l.attach_btf = btf_of_fd(static_cast<int>(a.attach_btf_obj_fd));
    const auto* p0 = reinterpret_cast<const unsigned char*>(static_cast<std::uintptr_t>(a.insns));
    l.insns.assign(p0, p0 + std::size_t{a.insn_cnt} * 8);
    for (std::size_t i = 0; i < a.insn_cnt; ++i) {
        const btfkit::insn x = insn_at(l.insns, i);
        if (x.code == call_code && x.src == pseudo_kfunc_call && x.off > 0 && a.fd_array != 0) {
            const auto slot = static_cast<std::size_t>(x.off);
            if (l.fd_array.size() <= slot) l.fd_array.resize(slot + 1);
            if (!l.fd_array[slot]) l.fd_array[slot] = btf_of_fd(read_user<int>(a.fd_array, slot));
        } else if (x.is_ldimm64() && i + 1 < a.insn_cnt) {
            const btfkit::insn hi = insn_at(l.insns, i + 1);
            if (x.src == pseudo_btf_id && hi.imm != 0 && !l.insn_fds.contains(hi.imm)) {
                if (auto b = btf_of_fd(hi.imm)) l.insn_fds.emplace(hi.imm, *b);
            }
            ++i;
        }
    }
    if (a.func_info != 0 && a.func_info_rec_size >= 8) {
        for (std::uint32_t i = 0; i < a.func_info_cnt; ++i) {
            const auto* rec = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(a.func_info)) + std::size_t{i} * a.func_info_rec_size;
            std::uint32_t off = 0, type = 0;
            std::memcpy(&off, rec, 4);
            std::memcpy(&type, rec + 4, 4);
            l.func_info.emplace_back(off, type);
        }
    }
    return l;
}

}  // namespace

// Every syscall() in the process: bpf(BPF_PROG_LOAD) of one of the object's programs is recorded and
// refused with ECANCELED (libbpf's retry with a log is refused too); the rest passes through.
extern "C" long __wrap_syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (long& x : a) x = va_arg(ap, long);
    va_end(ap);
    if (number == __NR_bpf && a[0] == BPF_PROG_LOAD && cap.obj != nullptr) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        std::memcpy(&attr, reinterpret_cast<const void*>(a[1]), std::min<std::size_t>(static_cast<std::size_t>(a[2]), sizeof(attr)));
        if (struct bpf_program* p = own_program(attr.insns)) {
            const std::string_view name = bpf_program__name(p);
            if (std::none_of(cap.loads.begin(), cap.loads.end(), [&](const captured_load& l) { return l.prog == name; })) {
                cap.loads.push_back(capture(attr, p));
            }
            errno = ECANCELED;
            return -1;
        }
    }
    return __real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

namespace {

int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (auto msg = libbpf_message(level, fmt, args)) cap.warnings.push_back(std::move(*msg));
    return cap.opt.verbose ? std::vfprintf(stderr, fmt, args) : 0;
}

// ---- the object as its ELF file says ---------------------------------------------------------------

struct elf_program {
    std::string name, section;
    std::uint32_t section_index = 0, first = 0, count = 0;
    bool subprog = false;
};

// A relocation against a .ksyms extern: where it is and what kind of reference it is.
struct extern_site {
    std::string section;
    std::uint32_t section_index = 0, insn = 0;
    std::string name;
    std::string_view kind;  // ksym_var, ksym_typeless, kfunc_call, kfunc_addr
};

struct elf_view : mapped_object {
    std::vector<elf_program> programs;
    std::vector<extern_site> externs;
};

// The .ksyms DATASEC's members by name: a FUNC (kfunc), a VAR with a type, or a VAR of type void.
enum class ksym_class { kfunc, typed, typeless };

std::map<std::string, ksym_class, std::less<>> ksyms_of(const btfkit::btf& b) {
    std::map<std::string, ksym_class, std::less<>> out;
    for (const auto t : b.types()) {
        if (!t.is(btfkit::kind::datasec) || t.name() != ".ksyms") continue;
        for (const auto v : t.vars()) {
            if (!b.valid_id(v.type)) continue;
            const auto m = b[v.type];
            if (m.is(btfkit::kind::func)) {
                out.emplace(std::string(m.name()), ksym_class::kfunc);
            } else if (m.is(btfkit::kind::var)) {
                const auto target = b.skip_mods_and_typedefs(m.ref());
                out.emplace(std::string(m.name()), target && target->id() != 0 ? ksym_class::typed : ksym_class::typeless);
            }
        }
    }
    return out;
}

elf_view read_elf(const char* path) {
    elf_view v;
    static_cast<mapped_object&>(v) = map_object_file(path);
    if (!v.obj) return v;
    const btfkit::bpf_object& obj = *v.obj;
    const auto st = obj.for_each_program([&](const btfkit::program& p) {
        v.programs.push_back({std::string(p.name), std::string(p.section_name), p.section_index, p.first_insn, p.insn_count, p.is_subprog});
    });
    if (!st) v.error = st.error().message();
    const auto ksyms = ksyms_of(obj.btf());
    auto syms = obj.file().symbols();
    if (ksyms.empty() || !syms) return v;
    for (const btfkit::elf_section rel : obj.file().sections()) {
        if (rel.type != btfkit::elf_const::sht_rel || rel.info == 0 || rel.info >= obj.file().section_count()) continue;
        const btfkit::elf_section code = obj.file().section(rel.info);
        if ((code.flags & btfkit::elf_const::shf_execinstr) == 0) continue;
        for (std::uint32_t i = 0; i < obj.file().rel_count(rel); ++i) {
            const btfkit::elf_rel r = obj.file().rel(rel, i);
            if (r.sym >= syms->size()) continue;
            const btfkit::elf_symbol s = (*syms)[r.sym];
            const auto k = ksyms.find(s.name);
            if (s.shndx != btfkit::elf_const::shn_undef || k == ksyms.end()) continue;
            const auto insn = static_cast<std::uint32_t>(r.offset / 8);
            if (insn >= obj.insn_count(code)) continue;
            const btfkit::insn x = obj.instruction(code, insn);
            std::string_view kind = k->second == ksym_class::typed ? "ksym_var" : k->second == ksym_class::typeless ? "ksym_typeless"
                                    : x.code == call_code                 ? "kfunc_call"
                                                                          : "kfunc_addr";
            v.externs.push_back({std::string(code.name), code.index, insn, std::string(s.name), kind});
        }
    }
    std::sort(v.externs.begin(), v.externs.end(), [](const extern_site& a, const extern_site& b) {
        return a.section_index != b.section_index ? a.section_index < b.section_index : a.insn < b.insn;
    });
    return v;
}

// ---- names ------------------------------------------------------------------------------------------

// libbpf's own name ("tracing", "trace_fentry") as the kernel's enumerator: BPF_PROG_TYPE_TRACING.
std::string enum_name(std::string_view prefix, const char* libbpf_name, std::uint32_t value) {
    if (libbpf_name == nullptr) return std::to_string(value);
    std::string s(prefix);
    for (const char* c = libbpf_name; *c != 0; ++c) s += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    return s;
}

std::string prog_type_name(std::uint32_t t) {
    return enum_name("BPF_PROG_TYPE_", libbpf_bpf_prog_type_str(static_cast<enum bpf_prog_type>(t)), t);
}

std::string attach_type_name(std::uint32_t t) {
    return enum_name("BPF_", libbpf_bpf_attach_type_str(static_cast<enum bpf_attach_type>(t)), t);
}

// The kernel's BTF objects, read once each, for the names of attach targets.
struct kernel_btfs {
    struct btf* vmlinux = nullptr;
    std::map<std::uint32_t, struct btf*> modules;

    ~kernel_btfs() {
        for (auto& [id, b] : modules) btf__free(b);
        btf__free(vmlinux);
    }

    std::string type_name(const btf_ref& ref, std::uint32_t type_id) {
        if (vmlinux == nullptr) vmlinux = btf__load_vmlinux_btf();
        if (vmlinux == nullptr) return {};
        struct btf* b = vmlinux;
        if (ref.name != "vmlinux") {
            auto it = modules.find(ref.id);
            if (it == modules.end()) it = modules.emplace(ref.id, btf__load_from_kernel_by_id_split(ref.id, vmlinux)).first;
            b = it->second;
        }
        const struct btf_type* t = b ? btf__type_by_id(b, type_id) : nullptr;
        const char* n = t ? btf__name_by_offset(b, t->name_off) : nullptr;
        return n ? n : "";
    }
};

// ---- JSON -------------------------------------------------------------------------------------------

void json_btf_target(std::string& out, std::string_view key, const std::optional<btf_ref>& b, std::uint32_t type_id) {
    json_key(out, key);
    if (!b) {
        out += "null";
        return;
    }
    out += '{';
    json_str(out, "btf", b->name);
    json_uint(out, "type_id", type_id);
    out += '}';
}

struct program_record {
    std::string name, section;
    std::uint32_t prog_type = 0, expected_attach_type = 0;  // libbpf's, when nothing was captured
    int load_error = 0;
    std::vector<std::string> warnings;
    std::optional<captured_load> load;  // null: libbpf failed before BPF_PROG_LOAD
};

// One extern site as the captured instructions show it.
void extern_json(std::string& out, const extern_site& e, const elf_view& v, const std::vector<program_record>& progs,
                 std::map<std::string, std::uint32_t>& btfs) {
    out += '{';
    json_str(out, "section", e.section);
    json_uint(out, "insn", e.insn);
    json_str(out, "name", e.name);
    json_str(out, "kind", e.kind);
    // Where the site sits in a loaded program: its own section's program at the same offset, or a
    // .text subprogram at the place func_info gives it in the first program that carries it.
    const program_record* from = nullptr;
    std::size_t at = 0;
    const elf_program* owner = nullptr;
    for (const auto& p : v.programs) {
        if (p.section_index == e.section_index && e.insn >= p.first && e.insn - p.first < p.count) owner = &p;
    }
    int error = 0;
    if (owner != nullptr && !owner->subprog) {
        for (const auto& r : progs) {
            if (r.name != owner->name) continue;
            from = &r;
            at = e.insn - owner->first;
            if (!r.load) error = r.load_error;
        }
    } else if (owner != nullptr && v.obj) {
        for (const auto& r : progs) {
            if (!r.load) continue;
            for (const auto& [off, type] : r.load->func_info) {
                if (!v.obj->btf().valid_id(type) || v.obj->btf()[type].name() != owner->name) continue;
                from = &r;
                at = off + (e.insn - owner->first);
                break;
            }
            if (from) break;
        }
    }
    const captured_load* l = from && from->load ? &*from->load : nullptr;
    const bool ldimm64 = e.kind != "kfunc_call";
    if (l == nullptr || (at + (ldimm64 ? 2 : 1)) * 8 > l->insns.size()) {
        json_null(out, "target");
        // No program that holds the site reached BPF_PROG_LOAD: libbpf failed first (error), or no
        // program calls the subprogram, so libbpf never patched a copy of it (unreached).
        json_str(out, "result", from || error ? "error" : "unreached");
        json_null(out, "bytes");
        if (from || error) json_int(out, "error", error != 0 ? error : -EINVAL);
        out += '}';
        return;
    }
    const btfkit::insn x = insn_at(l->insns, at);
    std::optional<btf_ref> target;
    std::uint32_t type_id = 0;
    std::string_view result = "ok";
    if (!ldimm64) {
        if (x.code == call_code && x.src == pseudo_kfunc_call && x.imm != 0) {
            type_id = static_cast<std::uint32_t>(x.imm);
            if (x.off == 0) target = btf_ref{"vmlinux", vmlinux_btf_id()};
            else if (static_cast<std::size_t>(x.off) < l->fd_array.size()) target = l->fd_array[static_cast<std::size_t>(x.off)];
        } else if (x.code == call_code && x.src == 0 && x.imm >= poison_kfunc_base) {
            result = "poisoned";
        } else {
            result = "missing";
        }
    } else {
        const btfkit::insn hi = insn_at(l->insns, at + 1);
        if (x.src == pseudo_btf_id) {
            type_id = static_cast<std::uint32_t>(x.imm);
            if (hi.imm == 0) target = btf_ref{"vmlinux", vmlinux_btf_id()};
            else if (const auto it = l->insn_fds.find(hi.imm); it != l->insn_fds.end()) target = it->second;
        } else if (x.imm == 0 && hi.imm == 0) {
            result = "missing";
        }
    }
    if (target) btfs[target->name] = target->id;
    json_btf_target(out, "target", target, type_id);
    json_str(out, "result", result);
    json_str(out, "bytes", btfkit::cli::hex_bytes(reinterpret_cast<const char*>(l->insns.data()) + at * 8, ldimm64 ? 16 : 8));
    json_str(out, "prog", from->name);
    json_uint(out, "prog_insn", at);
    out += '}';
}

void program_json(std::string& out, const program_record& r, const elf_view& v, kernel_btfs& kb,
                  std::map<std::string, std::uint32_t>& btfs) {
    out += '{';
    json_str(out, "name", r.name);
    // The ELF section, as CO-RE sites name it: libbpf drops the '?' of a section not autoloaded.
    std::string_view section = r.section;
    for (const auto& p : v.programs) {
        if (!p.subprog && p.name == r.name) section = p.section;
    }
    json_str(out, "section", section);
    const captured_load* l = r.load ? &*r.load : nullptr;
    json_str(out, "prog_type", prog_type_name(l ? l->prog_type : r.prog_type));
    json_str(out, "expected_attach_type", attach_type_name(l ? l->expected_attach_type : r.expected_attach_type));
    json_key(out, "attach");
    if (l && l->attach_btf_id != 0 && l->attach_btf) {
        btfs[l->attach_btf->name] = l->attach_btf->id;
        out += '{';
        json_str(out, "btf", l->attach_btf->name);
        json_uint(out, "type_id", l->attach_btf_id);
        json_str(out, "name", kb.type_name(*l->attach_btf, l->attach_btf_id));
        out += '}';
    } else {
        out += "null";
    }
    json_bool(out, "captured", l != nullptr);
    if (l) {
        json_key(out, "fd_array");
        out += '[';
        for (std::size_t i = 0; i < l->fd_array.size(); ++i) {
            if (i) out += ',';
            if (l->fd_array[i]) json_string(out, l->fd_array[i]->name);
            else out += "null";
        }
        out += ']';
        json_uint(out, "insn_cnt", l->insns.size() / 8);
    } else {
        json_int(out, "error", r.load_error != 0 ? r.load_error : -EINVAL);
        json_key(out, "warnings");
        out += '[';
        for (std::size_t i = 0; i < r.warnings.size(); ++i) {
            if (i) out += ',';
            json_string(out, r.warnings[i]);
        }
        out += ']';
    }
    if (l && cap.opt.insns) json_str(out, "insns", btfkit::cli::hex_bytes(reinterpret_cast<const char*>(l->insns.data()), l->insns.size()));
    out += '}';
}

// Opens the object with only program `index` (libbpf's order) autoloaded and loads it; the capture (if
// libbpf got that far) lands in cap.loads. Returns bpf_object__load's result, or the open error.
int load_one(const char* path, std::size_t index, program_record& rec) {
    struct bpf_object* obj = open_object(path);
    if (obj == nullptr) return -errno;
    struct bpf_map* map = nullptr;
    bpf_object__for_each_map(map, obj) bpf_map__set_autocreate(map, false);
    struct bpf_program* p = nullptr;
    std::size_t i = 0;
    bpf_object__for_each_program(p, obj) {
        const bool mine = i++ == index;
        bpf_program__set_autoload(p, mine);
        if (mine) {
            rec.name = bpf_program__name(p);
            rec.section = bpf_program__section_name(p);
            rec.prog_type = bpf_program__type(p);
            rec.expected_attach_type = bpf_program__expected_attach_type(p);
        }
    }
    cap.warnings.clear();
    cap.obj = obj;
    const int err = bpf_object__load(obj);
    cap.obj = nullptr;
    rec.warnings = cap.warnings;
    bpf_object__close(obj);
    return err;
}

bool run_one(const char* path) {
    const elf_view v = read_elf(path);

    std::vector<program_record> progs;
    struct bpf_object* obj = open_object(path);
    const int open_err = obj ? 0 : -errno;
    if (obj) {
        struct bpf_program* p = nullptr;
        bpf_object__for_each_program(p, obj) progs.emplace_back();
        bpf_object__close(obj);
    }
    for (std::size_t i = 0; i < progs.size(); ++i) {
        cap.loads.clear();
        progs[i].load_error = load_one(path, i, progs[i]);
        for (auto& l : cap.loads) {
            if (l.prog == progs[i].name) progs[i].load = std::move(l);
        }
    }

    kernel_btfs kb;
    std::map<std::string, std::uint32_t> btfs;
    std::string out = "{";
    json_str(out, "object", path);
    json_str(out, "libbpf", libbpf_version_string());
    json_str(out, "target", "kernel");
    json_int(out, "open_error", open_err);
    if (!v.error.empty()) json_str(out, "map_error", v.error);
    json_key(out, "programs");
    out += '[';
    for (std::size_t i = 0; i < progs.size(); ++i) {
        if (i) out += ',';
        program_json(out, progs[i], v, kb, btfs);
    }
    out += ']';
    json_key(out, "externs");
    out += '[';
    for (std::size_t i = 0; i < v.externs.size(); ++i) {
        if (i) out += ',';
        extern_json(out, v.externs[i], v, progs, btfs);
    }
    out += ']';
    json_key(out, "btf_objects");
    out += '{';
    for (const auto& [name, id] : btfs) json_uint(out, name, id);
    out += "}}\n";
    std::fputs(out.c_str(), stdout);
    return obj != nullptr;
}

void usage(FILE* to) {
    std::fputs(
        "usage: libbpf-oracle --loads [--verbose] [--insns] OBJECT...\n"
        "  Loads each program of each BPF object with libbpf (one open per program, only it autoloaded,\n"
        "  maps not created), records the BPF_PROG_LOAD libbpf makes and refuses it (ECANCELED); prints\n"
        "  per object one JSON line: \"programs\" (type, attach target), \"externs\" (.ksyms sites)\n"
        "  --verbose  libbpf's debug log to stderr\n"
        "  --insns    each captured program's instructions (hex) in its \"insns\"\n",
        to);
}

}  // namespace

int btfkit::oracle::run_loads(int argc, char** argv) {
    std::vector<const char*> objects;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--loads") continue;
        if (a == "--verbose" || a == "-v") cap.opt.verbose = true;
        else if (a == "--insns") cap.opt.insns = true;
        else if (const int status = btfkit::oracle::common_argument(argv[i], objects, usage); status >= 0) return status;
    }
    return btfkit::oracle::run_objects(objects, print_fn, run_one, usage);
}
