// Runs in the QEMU guest (tests/vm/run): relocates objects against the running kernel with the library
// and checks each TYPE_ID_TARGET's upper half against the kernel itself, in the same process that holds
// the fds. Prints one "PASS"/"FAIL"/"INFO" line per check and a count line; exit 1 if any check failed.
//   vm_check encode OBJECT...                         fd and id encodings (proof a)
//   vm_check ids                                      the kernel's BTF objects: "NAME ID" lines
//   vm_check fentry OBJECT...                         fentry programs on module functions: accepted
//                                                     relocated, rejected as compiled (proof b)
//   vm_check reload lazy|read|cached 'CMD' OBJECT...  CMD (a module unload/reload) run between opening
//                                                     the targets and relocating (the hook for proof d)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "btfkit/core/relocate.hpp"

namespace {

namespace bk = btfkit;

int checks = 0, failures = 0;

void pass(const std::string& what) {
    ++checks;
    std::printf("PASS %s\n", what.c_str());
}
void fail(const std::string& what) {
    ++checks;
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
}
void check(bool ok, const std::string& what) { ok ? pass(what) : fail(what); }

// The kernel's BTF objects by name (vmlinux and modules), enumerated here with raw bpf() calls rather
// than through the library's own listing, which is what is under test.
std::map<std::string, std::uint32_t> kernel_btf_ids() {
    std::map<std::string, std::uint32_t> out;
    std::uint32_t id = 0;
    while (bk::sys::btf_get_next_id(id, id) == 0) {
        const int fd = bk::sys::btf_get_fd_by_id(id);
        if (fd < 0) continue;  // freed meanwhile
        bk::sys::btf_object_info info;
        if (bk::sys::btf_get_info(fd, info) == 0 && info.kernel_btf) out[info.name] = info.id;
        ::close(fd);
    }
    return out;
}

// The BTF bytes of a kernel BTF object, read through its fd as libbpf does (BPF_OBJ_GET_INFO_BY_FD
// with a btf buffer: once for the size, once for the bytes).
bool read_btf_through_fd(int fd, std::vector<char>& out) {
    struct bpf_btf_info info;
    std::memset(&info, 0, sizeof(info));
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<std::uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = bk::sys::user_ptr(&info);
    if (bk::sys::bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return false;
    out.assign(info.btf_size, 0);
    const std::uint32_t size = info.btf_size;
    std::memset(&info, 0, sizeof(info));
    info.btf = bk::sys::user_ptr(out.data());
    info.btf_size = size;
    std::memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<std::uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = bk::sys::user_ptr(&info);
    return bk::sys::bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0 && info.btf_size == size;
}

// The name of type `id` in the BTF behind `fd` (split over `base`), or why not.
std::string type_name_through_fd(int fd, const bk::btf& base, std::uint32_t id) {
    std::vector<char> bytes;
    if (!read_btf_through_fd(fd, bytes)) return "<cannot read BTF through the fd>";
    auto b = bk::btf::parse(bk::byte_span(bytes.data(), bytes.size()), &base);
    if (!b) return "<" + b.error().message() + ">";
    if (id < base.type_count() || id >= b->type_count()) return "<type id " + std::to_string(id) + " not in the module's BTF>";
    return std::string((*b)[id].name());
}

struct loaded_object {
    std::string path;
    std::vector<char> bytes;
    bk::bpf_object obj;
};

std::vector<loaded_object> load_objects(char** first, char** last) {
    std::vector<loaded_object> out;
    for (char** p = first; p != last; ++p) {
        bk::byte_buffer buf;
        if (auto st = bk::read_file_into(*p, buf); !st) {
            fail(std::string("read ") + *p + ": " + st.error().message());
            continue;
        }
        loaded_object o{*p, std::vector<char>(buf.data(), buf.data() + buf.size()), {}};
        out.push_back(std::move(o));
    }
    for (auto& o : out) {
        auto parsed = bk::bpf_object::parse(bk::byte_span(o.bytes.data(), o.bytes.size()));
        if (!parsed) {
            fail("parse " + o.path + ": " + parsed.error().message());
            o.path.clear();
            continue;
        }
        o.obj = std::move(*parsed);
    }
    return out;
}

// One TYPE_ID_TARGET site after relocation: where it resolved and the 64 bits written.
struct site {
    std::string object, program, type_name, module;
    std::uint32_t target = 0, lower = 0, upper = 0, target_type_id = 0;
    bool resolved = false;  // a candidate matched (else TYPE_ID_TARGET is 0, as in libbpf)
    bool error = false;
    std::string error_text;
};

std::vector<site> relocate_all(std::vector<loaded_object>& objects, bk::target_set& set, bk::fd_encoding enc) {
    std::vector<site> out;
    bk::relocation_scratch scratch;
    bk::relocate_options opts;
    opts.encoding = enc;
    for (auto& o : objects) {
        if (o.path.empty()) continue;
        std::vector<char> image = o.bytes;
        auto sum = bk::relocate_object(o.obj, image, set, scratch, opts, [&](const bk::relocation_report& r) {
            if (r.kind != bk::relo_kind::type_id_target) return;
            site s;
            s.object = o.path.substr(o.path.find_last_of('/') + 1);
            s.program = std::string(r.program);
            s.type_name = std::string(r.local_type_name);
            if (r.outcome == bk::relo_outcome::error) {
                s.error = true;
                s.error_text = r.err.message();
                out.push_back(s);
                return;
            }
            s.resolved = r.has_target;
            s.target = r.target;
            s.module = std::string(set.target_name(r.target));
            s.target_type_id = r.target_type_id;
            // The bits as written into the image: the ldimm64's two imm fields.
            const auto sec = o.obj.file().section(r.section_index);
            const std::size_t at = static_cast<std::size_t>(sec.offset) + std::size_t{r.insn} * 8;
            std::uint32_t lo = 0, hi = 0;
            std::memcpy(&lo, image.data() + at + 4, 4);
            std::memcpy(&hi, image.data() + at + 12, 4);
            s.lower = lo;
            s.upper = hi;
            out.push_back(s);
        });
        if (!sum) fail("relocate " + o.path + ": " + sum.error().message());
    }
    return out;
}

std::string where(const site& s) { return s.object + " " + s.program + " " + s.type_name; }

int run_encode(char** first, char** last) {
    auto kernel = bk::file_targets::running_kernel();
    if (!kernel) return std::printf("FAIL open the running kernel: %s\n", kernel.error().message().c_str()), 1;
    auto objects = load_objects(first, last);
    const bk::btf& vmlinux = (*kernel)->vmlinux();
    const auto ids = kernel_btf_ids();
    std::size_t module_sites = 0, vmlinux_sites = 0;

    for (const site& s : relocate_all(objects, (*kernel)->targets(), bk::fd_encoding::btf_fd)) {
        if (s.error) { fail("a fd: " + where(s) + ": " + s.error_text); continue; }
        if (!s.resolved) { fail("a fd: " + where(s) + ": no candidate matched"); continue; }
        if (s.target == 0) {
            ++vmlinux_sites;
            check(s.upper == 0, "a fd: " + where(s) + " -> vmlinux #" + std::to_string(s.lower) + ", upper " + std::to_string(s.upper) + " (want 0)");
            check(std::string(vmlinux[s.lower].name()) == bk::essential_name(s.type_name),
                  "a fd: " + where(s) + ": vmlinux type #" + std::to_string(s.lower) + " is '" + std::string(vmlinux[s.lower].name()) + "'");
            continue;
        }
        ++module_sites;
        const int fd = static_cast<int>(s.upper);
        bk::sys::btf_object_info info;
        const int e = bk::sys::btf_get_info(fd, info);
        const auto id = ids.find(s.module);
        check(e == 0 && info.kernel_btf && info.name == s.module && id != ids.end() && info.id == id->second,
              "a fd: " + where(s) + " -> [" + s.module + "] #" + std::to_string(s.lower) + ", upper = fd " + std::to_string(fd) +
                  ": BPF_OBJ_GET_INFO_BY_FD says " + (e == 0 ? "'" + info.name + "' BTF id " + std::to_string(info.id) : "errno " + std::to_string(-e)) +
                  (id != ids.end() ? ", the kernel lists '" + s.module + "' as BTF id " + std::to_string(id->second) : ", the kernel does not list it"));
        const std::string n = e == 0 ? type_name_through_fd(fd, vmlinux, s.lower) : "<no fd>";
        check(n == bk::essential_name(s.type_name), "a fd: " + where(s) + ": type #" + std::to_string(s.lower) + " read through the fd is '" + n + "'");
    }

    for (const site& s : relocate_all(objects, (*kernel)->targets(), bk::fd_encoding::btf_id)) {
        if (s.error) { fail("a id: " + where(s) + ": " + s.error_text); continue; }
        if (!s.resolved) { fail("a id: " + where(s) + ": no candidate matched"); continue; }
        if (s.target == 0) {
            check(s.upper == 0, "a id: " + where(s) + " -> vmlinux, upper " + std::to_string(s.upper) + " (want 0)");
            continue;
        }
        const auto id = ids.find(s.module);
        check(id != ids.end() && s.upper == id->second,
              "a id: " + where(s) + " -> [" + s.module + "] #" + std::to_string(s.lower) + ", upper " + std::to_string(s.upper) +
                  (id != ids.end() ? ", the kernel lists '" + s.module + "' as BTF id " + std::to_string(id->second) : ", the kernel does not list it"));
        const int fd = bk::sys::btf_get_fd_by_id(s.upper);
        bk::sys::btf_object_info info;
        const int e = fd >= 0 ? bk::sys::btf_get_info(fd, info) : fd;
        check(e == 0 && info.name == s.module, "a id: BTF id " + std::to_string(s.upper) + " opens as '" + (e == 0 ? info.name : "errno " + std::to_string(-e)) + "'");
        if (fd >= 0) ::close(fd);
    }
    check(module_sites > 0, "a: " + std::to_string(module_sites) + " TYPE_ID_TARGET sites resolved into modules");
    check(vmlinux_sites > 0, "a: " + std::to_string(vmlinux_sites) + " TYPE_ID_TARGET sites resolved into vmlinux");
    std::printf("vm_check encode: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}

// Proof d's hook. The bytes a module type resolved against came from the module load current when they
// were read; the upper half written must name that same load (or the relocation must fail clearly).
//   lazy:   open, CMD, relocate (today the module is read at the first lookup, after CMD)
//   read:   open, relocate with encoding none (the modules are read), CMD, relocate with fd
//   cached: open, relocate with fd (fds opened), CMD, relocate with fd again
// Prints INFO lines; exit 0 if every module site is consistent or a clear error, 3 if one is not.
int run_reload(std::string_view variant, const char* cmd, char** first, char** last) {
    auto kernel = bk::file_targets::running_kernel();
    if (!kernel) return std::printf("FAIL open the running kernel: %s\n", kernel.error().message().c_str()), 1;
    auto objects = load_objects(first, last);
    auto& set = (*kernel)->targets();
    if (variant == "read") (void)relocate_all(objects, set, bk::fd_encoding::none);
    else if (variant == "cached") (void)relocate_all(objects, set, bk::fd_encoding::btf_fd);
    else if (variant != "lazy") return std::printf("FAIL unknown variant\n"), 2;
    const auto before = kernel_btf_ids();
    const int rc = std::system(cmd);
    const auto after = kernel_btf_ids();
    const auto& source = variant == "lazy" ? after : before;  // the load the module bytes were read from
    int consistent = 0, inconsistent = 0, errors = 0, unresolved = 0;
    for (const site& s : relocate_all(objects, set, bk::fd_encoding::btf_fd)) {
        if (s.error) {
            ++errors;
            std::printf("INFO d %s: %s: error: %s\n", std::string(variant).c_str(), where(s).c_str(), s.error_text.c_str());
            continue;
        }
        if (!s.resolved) {
            ++unresolved;
            std::printf("INFO d %s: %s: no candidate matched; TYPE_ID_TARGET written as 0\n", std::string(variant).c_str(), where(s).c_str());
            continue;
        }
        if (s.target == 0) continue;
        bk::sys::btf_object_info info;
        const int e = bk::sys::btf_get_info(static_cast<int>(s.upper), info);
        const auto src = source.find(s.module);
        const auto now = after.find(s.module);
        const bool same = e == 0 && src != source.end() && info.id == src->second;
        (same ? consistent : inconsistent)++;
        // A BTF object whose module was unloaded keeps its fd but loses its id (0).
        const char* verdict = same ? "consistent" : e == 0 && info.id == 0 ? "STALE (the fd's BTF object lost its id: its module was unloaded)" : "INCONSISTENT";
        std::printf("INFO d %s: %s -> [%s]: bytes from BTF id %s, fd names BTF id %s ('%s'), module now BTF id %s: %s\n",
                    std::string(variant).c_str(), where(s).c_str(), s.module.c_str(),
                    src != source.end() ? std::to_string(src->second).c_str() : "?", e == 0 ? std::to_string(info.id).c_str() : "?",
                    e == 0 ? info.name.c_str() : "", now != after.end() ? std::to_string(now->second).c_str() : "none",
                    verdict);
    }
    for (const auto& w : set.warnings()) std::printf("INFO d %s: target set warning: %s\n", std::string(variant).c_str(), w.c_str());
    std::printf("vm_check reload %s: command exit %d; %d consistent, %d inconsistent, %d errors, %d unresolved\n",
                std::string(variant).c_str(), rc, consistent, inconsistent, errors, unresolved);
    return failures != 0 ? 1 : inconsistent != 0 ? 3 : 0;
}

// BPF_PROG_LOAD of a fentry program on function `attach_id` of the BTF object behind `attach_fd`
// (sys::prog_load has no attach fields). Returns the fd, or -errno with the verifier's log in `log`.
int load_fentry(std::span<const char> insns, std::uint32_t attach_id, int attach_fd, std::span<char> log) {
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_TRACING;
    a.expected_attach_type = BPF_TRACE_FENTRY;
    a.insn_cnt = static_cast<std::uint32_t>(insns.size() / 8);
    a.insns = bk::sys::user_ptr(insns.data());
    a.license = bk::sys::user_ptr("GPL");
    a.attach_btf_id = attach_id;
    a.attach_btf_obj_fd = static_cast<std::uint32_t>(attach_fd);
    log[0] = 0;
    a.log_buf = bk::sys::user_ptr(log.data());
    a.log_size = static_cast<std::uint32_t>(log.size());
    a.log_level = 1;
    const long fd = bk::sys::bpf(BPF_PROG_LOAD, &a, sizeof(a));
    return fd < 0 ? -errno : static_cast<int>(fd);
}

// The verifier's verdict: the last line of its log before the statistics ("processed N insns ...").
std::string verdict_line(const char* log) {
    std::string_view l(log), best;
    while (!l.empty()) {
        const auto nl = l.find('\n');
        const std::string_view line = l.substr(0, nl);
        if (!line.empty() && !line.starts_with("processed ") && !line.starts_with("verification time")) best = line;
        l = nl == std::string_view::npos ? std::string_view{} : l.substr(nl + 1);
    }
    return std::string(best);
}

int run_fentry(char** first, char** last) {
    auto kernel = bk::file_targets::running_kernel();
    if (!kernel) return std::printf("FAIL open the running kernel: %s\n", kernel.error().message().c_str()), 1;
    const bk::btf& vmlinux = (*kernel)->vmlinux();
    // The module BTFs, read through their fds: where the functions to attach to are found.
    struct module_btf {
        std::string name;
        int fd;
        std::vector<char> bytes;
        bk::btf parsed;
    };
    std::vector<module_btf> modules;
    for (const auto& [name, id] : kernel_btf_ids()) {
        if (name == "vmlinux") continue;
        module_btf m{name, bk::sys::btf_get_fd_by_id(id), {}, {}};
        if (m.fd < 0 || !read_btf_through_fd(m.fd, m.bytes)) continue;
        modules.push_back(std::move(m));
    }
    for (auto& m : modules) {
        auto b = bk::btf::parse(bk::byte_span(m.bytes.data(), m.bytes.size()), &vmlinux);
        if (b) m.parsed = std::move(*b);
    }
    auto objects = load_objects(first, last);
    std::vector<char> log(1 << 16);
    int programs = 0;
    for (auto& o : objects) {
        if (o.path.empty()) continue;
        std::vector<char> image = o.bytes;
        bk::relocation_scratch scratch;
        auto sum = bk::relocate_object(o.obj, image, (*kernel)->targets(), scratch, {}, [](const bk::relocation_report&) {});
        check(sum && sum->errors == 0 && sum->poisoned == 0 && sum->ok > 0,
              "b fentry: " + o.path + " relocated: " + (sum ? std::to_string(sum->ok) + " ok, " + std::to_string(sum->poisoned) + " poisoned, " +
                                                            std::to_string(sum->errors) + " errors" : sum.error().message()));
        (void)o.obj.for_each_program([&](const bk::program& p) {
            if (p.is_subprog || !p.section_name.starts_with("fentry/")) return;
            ++programs;
            const std::string fn(p.section_name.substr(7));
            const module_btf* owner = nullptr;
            std::uint32_t func_id = 0;
            for (const auto& m : modules) {
                for (std::uint32_t id = vmlinux.type_count(); id < m.parsed.type_count() && func_id == 0; ++id) {
                    if (m.parsed[id].kind() == bk::kind::func && m.parsed[id].name() == fn) func_id = id, owner = &m;
                }
                if (owner) break;
            }
            const std::string what = "b fentry: " + std::string(p.name) + " on " + fn;
            if (!owner) return fail(what + ": no module BTF has FUNC " + fn);
            const auto sec = o.obj.file().section(p.section_index);
            const std::size_t at = static_cast<std::size_t>(sec.offset) + std::size_t{p.first_insn} * 8, n = std::size_t{p.insn_count} * 8;
            const int fd = load_fentry(std::span<const char>(image.data() + at, n), func_id, owner->fd, log);
            check(fd >= 0, what + " [" + owner->name + " #" + std::to_string(func_id) + "]: relocated, the verifier " +
                               (fd >= 0 ? "accepts it" : "rejects it (errno " + std::to_string(-fd) + "): " + verdict_line(log.data())));
            if (fd >= 0) ::close(fd);
            const int raw = load_fentry(std::span<const char>(o.bytes.data() + at, n), func_id, owner->fd, log);
            check(raw < 0, what + ": as compiled, the verifier " +
                               (raw < 0 ? "rejects it: " + verdict_line(log.data()) : std::string("accepts it")));
            if (raw >= 0) ::close(raw);
        });
    }
    check(programs > 0, "b fentry: " + std::to_string(programs) + " fentry programs");
    for (auto& m : modules) ::close(m.fd);
    std::printf("vm_check fentry: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode == "encode" && argc > 2) return run_encode(argv + 2, argv + argc);
    if (mode == "fentry" && argc > 2) return run_fentry(argv + 2, argv + argc);
    if (mode == "ids") {
        for (const auto& [name, id] : kernel_btf_ids()) std::printf("%s %u\n", name.c_str(), id);
        return 0;
    }
    if (mode == "reload" && argc > 4) return run_reload(argv[2], argv[3], argv + 4, argv + argc);
    std::fprintf(stderr, "usage: %s encode OBJECT... | ids | fentry OBJECT... | reload lazy|read|cached CMD OBJECT...\n", argv[0]);
    return 2;
}
