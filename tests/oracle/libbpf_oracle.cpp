// libbpf-oracle: reports what libbpf itself does to every CO-RE relocation site of a BPF object, as one
// JSON line per object, so that our engine can be diffed against libbpf bit for bit.
//
// Linked statically against libbpf.a with -Wl,--wrap for bpf_core_calc_relo_insn, bpf_core_patch_insn
// and bpf_prog_load (all defined in one libbpf object file and called from another, so the wraps take).
// It only observes: every wrapper calls the real function and returns its result, except that
// --no-verify refuses to hand the object's own programs to the kernel.

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <btfkit/format/bpf_object.hpp>
#include <btfkit/kernel.hpp>

#include "load_oracle.hpp"
#include "oracle_common.hpp"

// libbpf's struct bpf_core_relo_res (relo_core.h, the same in libbpf 1.1 and 1.7), restated: the oracle
// reads it, never writes.
struct oracle_relo_res {
    std::uint64_t orig_val;
    std::uint64_t new_val;
    bool poison;
    bool validate;
    bool fail_memsz_adjust;
    std::uint32_t orig_sz;
    std::uint32_t orig_type_id;
    std::uint32_t new_sz;
    std::uint32_t new_type_id;
};
static_assert(sizeof(oracle_relo_res) == 40, "layout of libbpf's struct bpf_core_relo_res");

// libbpf-internal types the wrapped functions take; only passed through.
struct bpf_core_cand_list;
struct bpf_core_spec;
struct bpf_core_relo_res;

extern "C" {
int __real_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                   const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                   struct bpf_core_spec* specs_scratch, struct bpf_core_relo_res* targ_res);
int __real_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                               const struct bpf_core_relo* relo, int relo_idx, const struct bpf_core_relo_res* res);
int __real_bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name, const char* license,
                         const struct bpf_insn* insns, size_t insn_cnt, const struct bpf_prog_load_opts* opts);

int __wrap_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                   const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                   struct bpf_core_spec* specs_scratch, struct bpf_core_relo_res* targ_res);
int __wrap_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                               const struct bpf_core_relo* relo, int relo_idx, const struct bpf_core_relo_res* res);
int __wrap_bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name, const char* license,
                         const struct bpf_insn* insns, size_t insn_cnt, const struct bpf_prog_load_opts* opts);
}

namespace {

using clock_type = std::chrono::steady_clock;

// One CO-RE site as libbpf saw it.
struct site {
    std::string prog;
    int relo_idx = 0;  // index within the section's .BTF.ext block, as libbpf numbers it
    const struct bpf_core_relo* relo = nullptr;
    std::uint32_t insn_off = 0;
    std::uint32_t type_id = 0;
    std::uint32_t kind = 0;
    std::string access;
    std::string type_name;
    std::string libbpf_section;  // libbpf's view: its program's section, or .text for a subprogram
    bool record_known = true;    // false: failed before calc and .BTF.ext could not be read here
    bool calc_called = false;    // false: libbpf failed before calc (candidate search), known from its log
    int calc_err = 0;
    oracle_relo_res res{};
    bool patch_called = false;
    int patch_err = 0;
    bool poisoned = false;  // the final instruction is libbpf's poison call
    unsigned char bytes[16] = {};
    std::size_t nbytes = 0;
};

struct options {
    const char* btf = nullptr;
    bool verbose = false;
    bool time = false;
    bool no_verify = false;
    bool create_maps = false;  // a real load: the object's maps are created (default: not, for speed)
    bool insns = false;        // print the instructions each program load handed the kernel
};

// One bpf_prog_load of one of the object's programs, as handed to the kernel.
struct prog_load {
    std::string name;
    std::vector<unsigned char> insns;
    int result = 0;  // the fd (closed by libbpf) or -errno
};

// The wrappers are plain functions called from inside libbpf; they report here.
struct oracle_state {
    options opt;
    struct bpf_object* obj = nullptr;  // object being loaded, for recognising its program loads
    std::vector<site> sites;
    std::vector<std::string> warnings;  // libbpf warn/info messages for the current object
    std::vector<prog_load> loads;       // with --insns
    std::optional<clock_type::time_point> first_prog_load;
    std::optional<clock_type::time_point> first_site, last_site;
};
oracle_state g;

// Keeps warnings (their start is enough to recognise them); with --verbose, echoes everything in full.
int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (auto msg = btfkit::oracle::libbpf_message(level, fmt, args)) g.warnings.push_back(std::move(*msg));
    return g.opt.verbose ? std::vfprintf(stderr, fmt, args) : 0;
}

// libbpf lists only main programs; a name it does not know is a subprogram, and those live in .text.
std::string libbpf_section_of(const char* prog_name) {
    if (g.obj == nullptr || prog_name == nullptr) return {};
    struct bpf_program* p = nullptr;
    bpf_object__for_each_program(p, g.obj) {
        if (std::strcmp(bpf_program__name(p), prog_name) == 0) return bpf_program__section_name(p);
    }
    return ".text";
}

bool is_object_program(const struct bpf_insn* insns) {
    if (g.obj == nullptr) return false;
    struct bpf_program* p = nullptr;
    bpf_object__for_each_program(p, g.obj) {
        if (bpf_program__insns(p) == insns) return true;
    }
    return false;
}

}  // namespace

extern "C" int __wrap_bpf_core_calc_relo_insn(const char* prog_name, const struct bpf_core_relo* relo, int relo_idx,
                                              const struct btf* local_btf, struct bpf_core_cand_list* cands,
                                              struct bpf_core_spec* specs_scratch,
                                              struct bpf_core_relo_res* targ_res) {
    const auto t = clock_type::now();
    if (!g.first_site) g.first_site = t;
    site s;
    s.prog = prog_name ? prog_name : "";
    s.relo_idx = relo_idx;
    s.relo = relo;
    s.insn_off = relo->insn_off;
    s.type_id = relo->type_id;
    s.kind = static_cast<std::uint32_t>(relo->kind);
    if (const char* a = btf__name_by_offset(local_btf, relo->access_str_off)) s.access = a;
    if (const struct btf_type* bt = btf__type_by_id(local_btf, relo->type_id)) {
        if (const char* n = btf__name_by_offset(local_btf, bt->name_off)) s.type_name = n;
    }
    s.libbpf_section = libbpf_section_of(prog_name);
    s.calc_called = true;
    s.calc_err = __real_bpf_core_calc_relo_insn(prog_name, relo, relo_idx, local_btf, cands, specs_scratch, targ_res);
    if (s.calc_err == 0) std::memcpy(&s.res, targ_res, sizeof(s.res));
    g.sites.push_back(std::move(s));
    g.last_site = clock_type::now();
    return g.sites.back().calc_err;
}

extern "C" int __wrap_bpf_core_patch_insn(const char* prog_name, struct bpf_insn* insn, int insn_idx,
                                          const struct bpf_core_relo* relo, int relo_idx,
                                          const struct bpf_core_relo_res* res) {
    // Poisoning rewrites insn[0]'s code, so whether the site is an ldimm64 is decided before the call.
    const bool ldimm64 = insn->code == (BPF_LD | BPF_IMM | BPF_DW);
    const int err = __real_bpf_core_patch_insn(prog_name, insn, insn_idx, relo, relo_idx, res);
    // libbpf patches right after computing, with the same record.
    if (!g.sites.empty() && g.sites.back().relo == relo && g.sites.back().relo_idx == relo_idx) {
        site& s = g.sites.back();
        s.patch_called = true;
        s.patch_err = err;
        if (err == 0) {
            s.nbytes = ldimm64 ? 16 : 8;
            std::memcpy(s.bytes, insn, s.nbytes);
            // Also catches libbpf's poisoning of loads it cannot resize (fail_memsz_adjust) at patch time.
            s.poisoned = insn->code == (BPF_JMP | BPF_CALL) && insn->imm == btfkit::insn_const::poison_imm;
        }
    } else {
        std::fprintf(stderr, "libbpf-oracle: patch of prog '%s' relo #%d without a matching calc\n",
                     prog_name ? prog_name : "?", relo_idx);
    }
    g.last_site = clock_type::now();
    return err;
}

extern "C" int __wrap_bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name, const char* license,
                                    const struct bpf_insn* insns, size_t insn_cnt,
                                    const struct bpf_prog_load_opts* opts) {
    // The first load of one of the object's own programs marks the end of relocation; feature probes
    // (with their own instructions) pass through untouched.
    const bool own = is_object_program(insns);
    if (own) {
        if (!g.first_prog_load) g.first_prog_load = clock_type::now();
        if (g.opt.no_verify) {
            errno = ECANCELED;
            return -ECANCELED;
        }
    }
    const int fd = __real_bpf_prog_load(prog_type, prog_name, license, insns, insn_cnt, opts);
    if (own && g.opt.insns) {
        const auto* p = reinterpret_cast<const unsigned char*>(insns);
        g.loads.push_back(prog_load{prog_name ? prog_name : "", std::vector<unsigned char>(p, p + insn_cnt * sizeof(*insns)), fd < 0 ? -errno : fd});
    }
    return fd;
}

namespace {

using btfkit::oracle::json_int;
using btfkit::oracle::json_key;
using btfkit::oracle::json_str;
using btfkit::oracle::json_uint;

// ---- libbpf's warnings ----------------------------------------------------------------------------------

// An error number as libbpf prints it: "-22" (libbpf 1.1) or errstr()'s "-EINVAL" (libbpf 1.6+, which
// falls back to the number for errnos it has no name for). Returns false if `s` is neither.
bool parse_errno(std::string_view s, int& err) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    if (s.starts_with("-E")) {
        for (int e = 1; e < 4096; ++e) {
            const char* name = ::strerrorname_np(e);
            if (name != nullptr && s.substr(1) == name) {
                err = -e;
                return true;
            }
        }
        return false;
    }
    char* end = nullptr;
    const std::string text(s);
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != 0) return false;
    err = static_cast<int>(v);
    return true;
}

// "PREFIX<errno>": the error after a fixed message start, in either format.
bool warning_errno(std::string_view w, std::string_view prefix, int& err) {
    return w.starts_with(prefix) && parse_errno(w.substr(prefix.size()), err);
}

// ---- mapping sites to ELF sections --------------------------------------------------------------------

struct program_range {
    std::string name;
    std::string section;
    std::uint32_t first = 0, count = 0;
};

// The object's programs and subprograms from its symbol table (libbpf names them by symbol).
struct object_map : btfkit::oracle::mapped_object {
    std::vector<program_range> programs;

    [[nodiscard]] const program_range* find(std::string_view prog, std::uint32_t insn) const {
        const program_range* by_name = nullptr;
        for (const auto& p : programs) {
            if (p.name != prog) continue;
            if (insn >= p.first && insn - p.first < p.count) return &p;
            if (!by_name) by_name = &p;
        }
        return by_name;
    }
};

object_map map_object(const char* path) {
    object_map m;
    static_cast<btfkit::oracle::mapped_object&>(m) = btfkit::oracle::map_object_file(path);
    if (!m.obj) return m;
    const auto st = m.obj->for_each_program([&](const btfkit::program& p) {
        m.programs.push_back({std::string(p.name), std::string(p.section_name), p.first_insn, p.insn_count});
    });
    if (!st) m.error = st.error().message();
    return m;
}

// libbpf fails some sites before bpf_core_calc_relo_insn (candidate search); its warning names the program
// and the record index, and the record itself comes from .BTF.ext.
void recover_unseen_failure(const object_map& m) {
    for (const auto& w : g.warnings) {
        char prog[256];
        int idx = 0, err = 0, used = 0;
        if (std::sscanf(w.c_str(), "prog '%255[^']': relo #%d: failed to relocate: %n", prog, &idx, &used) != 2 || used == 0 ||
            !parse_errno(std::string_view(w).substr(static_cast<std::size_t>(used)), err)) {
            continue;
        }
        const bool seen = !g.sites.empty() && g.sites.back().prog == prog && g.sites.back().relo_idx == idx &&
                          g.sites.back().calc_called;
        if (seen) return;
        site s;
        s.prog = prog;
        s.relo_idx = idx;
        s.calc_err = err;
        s.libbpf_section = libbpf_section_of(prog);
        s.record_known = false;
        if (m.obj && m.obj->has_ext()) {
            // The section is the one holding this program; take the record by its index in that block.
            std::string section;
            for (const auto& p : m.programs) {
                if (p.name == prog) {
                    section = p.section;
                    break;
                }
            }
            for (const auto blk : m.obj->ext().core_relos()) {
                if (blk.section_name() != section || idx < 0 || static_cast<std::uint32_t>(idx) >= blk.size()) continue;
                const auto r = blk[static_cast<std::uint32_t>(idx)];
                s.record_known = true;
                s.insn_off = r.insn_off;
                s.type_id = r.type_id;
                s.kind = static_cast<std::uint32_t>(r.kind);
                s.access = std::string(m.obj->btf().string(r.access_str_off));
                if (m.obj->btf().valid_id(r.type_id)) s.type_name = std::string(m.obj->btf()[r.type_id].name());
                break;
            }
        }
        g.sites.push_back(std::move(s));
        return;
    }
}

std::string site_json(const site& s, const object_map& m) {
    std::string out = "{";
    const std::uint32_t insn = s.insn_off / 8;
    const program_range* p = m.find(s.prog, insn);
    if (p && !s.libbpf_section.empty() && p->section != s.libbpf_section) {
        std::fprintf(stderr, "libbpf-oracle: prog '%s': symbol table says section '%s', libbpf says '%s'\n",
                     s.prog.c_str(), p->section.c_str(), s.libbpf_section.c_str());
    }
    json_str(out, "section", p ? std::string_view(p->section) : std::string_view(s.libbpf_section));
    if (s.record_known) {
        json_uint(out, "insn", insn);
        json_str(out, "kind", btfkit::relo_kind_name(static_cast<btfkit::relo_kind>(s.kind)));
        json_uint(out, "type_id", s.type_id);
        json_str(out, "type_name", s.type_name);
        json_str(out, "access", s.access);
    } else {
        for (const char* k : {"insn", "kind", "type_id", "type_name", "access"}) {
            json_key(out, k);
            out += "null";
        }
    }
    const int err = s.calc_err != 0 ? s.calc_err : s.patch_err;
    const bool ok = s.calc_called && s.calc_err == 0 && s.patch_called && s.patch_err == 0;
    json_str(out, "result", !ok ? "error" : s.poisoned ? "poisoned" : "ok");
    if (s.calc_called && s.calc_err == 0) {
        json_uint(out, "old", s.res.orig_val);
        json_uint(out, "new", s.res.new_val);
    } else {
        json_key(out, "old");
        out += "null";
        json_key(out, "new");
        out += "null";
    }
    json_key(out, "bytes");
    if (ok) {
        out += '"';
        char h[3];
        for (std::size_t i = 0; i < s.nbytes; ++i) {
            std::snprintf(h, sizeof(h), "%02x", s.bytes[i]);
            out += h;
        }
        out += '"';
    } else {
        out += "null";
    }
    json_int(out, "relo_idx", s.relo_idx);
    json_str(out, "prog", s.prog);
    if (!ok) json_int(out, "error", err != 0 ? err : -EINVAL);
    out += '}';
    return out;
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Opens and loads one object; prints its JSON line. Returns false if the object could not be processed
// at all (its line is still printed).
bool run_one(const char* path) {
    g.sites.clear();
    g.warnings.clear();
    g.loads.clear();
    g.first_prog_load.reset();
    g.first_site.reset();
    g.last_site.reset();

    const object_map m = map_object(path);

    const auto t0 = clock_type::now();
    struct bpf_object* obj = btfkit::oracle::open_object(path, g.opt.btf);
    const int open_err = obj ? 0 : -errno;
    const auto t1 = clock_type::now();
    int load_err = open_err;
    auto t2 = t1;
    if (obj) {
        struct bpf_map* map = nullptr;
        if (!g.opt.create_maps) bpf_object__for_each_map(map, obj) bpf_map__set_autocreate(map, false);
        g.obj = obj;
        load_err = bpf_object__load(obj);
        t2 = clock_type::now();
        recover_unseen_failure(m);  // while libbpf's view of the object is still there
        g.obj = nullptr;
        bpf_object__close(obj);
    }

    std::string out = "{";
    json_str(out, "object", path);
    json_str(out, "libbpf", libbpf_version_string());
    json_str(out, "target", g.opt.btf ? g.opt.btf : "kernel");
    json_int(out, "open_error", open_err);
    json_int(out, "load_error", load_err);
    // Relocation finished if the whole load succeeded or libbpf went on to load programs (it reached the
    // kernel, or failed preparing one: "prog 'x': failed to load: N" only comes from that stage).
    int core_err = 0;
    bool reached_prog_load = g.first_prog_load.has_value();
    for (const auto& w : g.warnings) {
        int e = 0, used = 0;
        char prog[256];
        if (warning_errno(w, "failed to perform CO-RE relocations: ", e)) core_err = e;
        if (std::sscanf(w.c_str(), "prog '%255[^']': failed to load: %n", prog, &used) == 1 && used > 0) reached_prog_load = true;
    }
    const bool relocated = obj && (load_err == 0 || reached_prog_load);
    json_key(out, "relocated");
    out += relocated ? "true" : "false";
    json_int(out, "core_error", core_err);
    if (m.obj && m.obj->has_ext()) json_uint(out, "core_records", m.obj->ext().core_relo_count());
    if (!m.error.empty()) json_str(out, "map_error", m.error);
    json_key(out, "relocations");
    out += '[';
    for (std::size_t i = 0; i < g.sites.size(); ++i) {
        if (i) out += ',';
        out += site_json(g.sites[i], m);
    }
    out += ']';
    if (g.opt.insns) {
        json_key(out, "loads");
        out += '[';
        for (std::size_t i = 0; i < g.loads.size(); ++i) {
            if (i) out += ',';
            out += '{';
            json_str(out, "prog", g.loads[i].name);
            json_int(out, "result", g.loads[i].result < 0 ? g.loads[i].result : 0);
            json_key(out, "insns");
            out += '"';
            char h[3];
            for (const unsigned char b : g.loads[i].insns) {
                std::snprintf(h, sizeof(h), "%02x", b);
                out += h;
            }
            out += "\"}";
        }
        out += ']';
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);

    if (g.opt.time) {
        const auto reloc_end = g.first_prog_load.value_or(t2);
        const double core = g.first_site ? ms_between(*g.first_site, *g.last_site) : 0.0;
        std::fprintf(stderr, "%s: open %.3f ms, load-to-relocated %.3f ms, open+relocate %.3f ms, core sites %.3f ms (%zu), load %.3f ms\n",
                     path, ms_between(t0, t1), ms_between(t1, reloc_end), ms_between(t0, reloc_end), core,
                     g.sites.size(), ms_between(t1, t2));
    }
    return obj != nullptr;
}

void usage(FILE* to) {
    std::fputs(
        "usage: libbpf-oracle [--btf TARGET] [--verbose] [--time] [--no-verify] [--create-maps] [--insns] OBJECT...\n"
        "  Loads each BPF object with libbpf (maps not created) and prints, per object, one JSON line\n"
        "  with every CO-RE relocation site libbpf processed and the instruction it produced.\n"
        "  --btf TARGET   relocate against this BTF file (btf_custom_path) instead of the running kernel\n"
        "  --verbose      libbpf's debug log to stderr\n"
        "  --time         per-object timings to stderr\n"
        "  --no-verify    do not hand the object's programs to the kernel (load_error is then -ECANCELED)\n"
        "  --create-maps  create the object's maps, as a real load does (default: not created)\n"
        "  --insns        each load of a program: \"loads\": [{\"prog\", \"result\" (0 or -errno), \"insns\" (hex)}]\n"
        "  --loads        another mode: each program's BPF_PROG_LOAD and the object's .ksyms externs\n"
        "                 (libbpf-oracle --loads --help)\n",
        to);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--loads") return btfkit::oracle::run_loads(argc, argv);
    }
    std::vector<const char*> objects;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--btf" && i + 1 < argc) g.opt.btf = argv[++i];
        else if (a.starts_with("--btf=")) g.opt.btf = argv[i] + 6;
        else if (a == "--verbose" || a == "-v") g.opt.verbose = true;
        else if (a == "--time") g.opt.time = true;
        else if (a == "--no-verify") g.opt.no_verify = true;
        else if (a == "--create-maps") g.opt.create_maps = true;
        else if (a == "--insns") g.opt.insns = true;
        else if (const int status = btfkit::oracle::common_argument(argv[i], objects, usage); status >= 0) return status;
    }
    return btfkit::oracle::run_objects(objects, print_fn, run_one, usage);
}
