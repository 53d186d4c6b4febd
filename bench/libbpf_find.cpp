// libbpf-find: the libbpf-based equivalent of `btfkit find` for whole-process comparisons (bench/run).
// Same arguments and output ("NAME BTF TYPE_ID KIND FULL_NAME" lines); every module is parsed up front
// with btf__parse_split, and each name is looked up with libbpf's bpf_core_add_cands loop re-expressed
// through btf__type_cnt / btf__type_by_id / btf__name_by_offset and libbpf's bpf_core_essential_name_len,
// over vmlinux and then every module. Its kind filter is the one of `btfkit find`: the kinds btfkit's
// name index holds (those a CO-RE relocation can start from), whatever the name's kind.
// With --funcs, each argument is a shell pattern and the answer every FUNC whose name it matches
// (fnmatch, as `btfkit funcs`): "NAME BTF TYPE_ID" lines, the way a loader attaching one program to
// fentry/GLOB with libbpf alone would find them.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern "C" size_t bpf_core_essential_name_len(const char* name);  // libbpf.a, global

namespace {

constexpr const char* kind_names[] = {"UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
                                      "VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT",
                                      "DECL_TAG", "TYPE_TAG", "ENUM64"};

// INT, STRUCT, UNION, ENUM, FWD, TYPEDEF, FLOAT, ENUM64: what btfkit's name_index (indexed_kind) holds.
bool listed_kind(unsigned k) {
    return k == BTF_KIND_INT || k == BTF_KIND_STRUCT || k == BTF_KIND_UNION || k == BTF_KIND_ENUM || k == BTF_KIND_FWD ||
           k == BTF_KIND_TYPEDEF || k == BTF_KIND_FLOAT || k == BTF_KIND_ENUM64;
}

struct target {
    std::string name;
    struct btf* btf = nullptr;
    unsigned first_id = 1;
};

// "dir/foo-bar.ko" -> "foo_bar", as btfkit and the kernel name modules.
std::string module_name(const std::string& path) {
    std::string n = path.substr(path.find_last_of('/') + 1);
    if (const auto k = n.find(".ko"); k != std::string::npos) n.resize(k);
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
}

bool list_dir(const std::string& dir, std::vector<std::string>& out) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return false;
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.' && std::strcmp(e->d_name, "vmlinux") != 0) names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out.push_back(dir + "/" + n);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string vmlinux_path = "/sys/kernel/btf/vmlinux";
    std::vector<std::string> module_paths, names;
    bool funcs = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--funcs") funcs = true;
        else if (a == "--btf" && i + 1 < argc) vmlinux_path = argv[++i];
        else if (a == "--module" && i + 1 < argc) module_paths.emplace_back(argv[++i]);
        else if (a == "--modules-dir" && i + 1 < argc) {
            if (!list_dir(argv[++i], module_paths)) return std::fprintf(stderr, "libbpf-find: cannot list %s\n", argv[i]), 1;
        } else if (a.starts_with("-")) {
            std::fprintf(stderr, "usage: libbpf-find [--funcs] [--btf FILE] [--module FILE]... [--modules-dir DIR] NAME|GLOB...\n");
            return 2;
        } else {
            names.emplace_back(a);
        }
    }
    libbpf_set_print(nullptr);
    std::vector<target> targets;
    struct btf* vmlinux = btf__parse(vmlinux_path.c_str(), nullptr);
    if (vmlinux == nullptr) return std::fprintf(stderr, "libbpf-find: cannot parse %s\n", vmlinux_path.c_str()), 1;
    targets.push_back({"vmlinux", vmlinux, 1});
    const unsigned module_start = btf__type_cnt(vmlinux);
    for (const auto& p : module_paths) {
        struct btf* m = btf__parse_split(p.c_str(), vmlinux);
        if (m == nullptr) {
            std::fprintf(stderr, "libbpf-find: warning: module %s skipped\n", p.c_str());
            continue;
        }
        targets.push_back({module_name(p), m, module_start});
    }
    std::string out;
    for (const auto& glob : funcs ? names : std::vector<std::string>{}) {
        for (const auto& t : targets) {
            const unsigned n = btf__type_cnt(t.btf);
            for (unsigned id = t.first_id; id < n; ++id) {
                const struct btf_type* bt = btf__type_by_id(t.btf, id);
                if (btf_kind(bt) != BTF_KIND_FUNC) continue;
                const char* tn = btf__name_by_offset(t.btf, bt->name_off);
                if (tn != nullptr && ::fnmatch(glob.c_str(), tn, 0) == 0) out += std::string(tn) + ' ' + t.name + ' ' + std::to_string(id) + '\n';
            }
        }
    }
    for (const auto& name : funcs ? std::vector<std::string>{} : names) {
        const std::size_t len = bpf_core_essential_name_len(name.c_str());
        for (const auto& t : targets) {
            const unsigned n = btf__type_cnt(t.btf);
            for (unsigned id = t.first_id; id < n; ++id) {
                const struct btf_type* bt = btf__type_by_id(t.btf, id);
                if (!listed_kind(btf_kind(bt))) continue;
                const char* tn = btf__name_by_offset(t.btf, bt->name_off);
                if (tn == nullptr || tn[0] == '\0') continue;
                if (bpf_core_essential_name_len(tn) != len || std::strncmp(name.c_str(), tn, len) != 0) continue;
                const unsigned k = btf_kind(bt);  // listed_kind: < 20
                out += name + ' ' + t.name + ' ' + std::to_string(id) + ' ' + kind_names[k] + ' ' + tn + '\n';
            }
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    for (std::size_t i = targets.size(); i-- > 0;) btf__free(targets[i].btf);
    return 0;
}
