// libbpf-find: the libbpf-based equivalent of `btfkit find` for whole-process comparisons (bench/run).
// Same arguments and output ("NAME BTF TYPE_ID KIND FULL_NAME" lines); every module is parsed up front
// with btf__parse_split, and each name is looked up with libbpf's bpf_core_add_cands loop re-expressed
// through btf__type_cnt / btf__type_by_id / btf__name_by_offset and libbpf's bpf_core_essential_name_len,
// over vmlinux and then every module. Its kind filter is the one of `btfkit find`: the kinds btfkit's
// name index holds (those a CO-RE relocation can start from), whatever the name's kind.
// With --funcs, each argument is a shell pattern and the answer every FUNC whose name it matches
// (fnmatch, as `btfkit funcs`): "NAME BTF TYPE_ID" lines, the way a loader attaching one program to
// fentry/GLOB with libbpf alone would find them.
// With --resolve, each argument is a ksnoop expression ("ip_send_skb(skb->sk)") resolved the way ksnoop's
// user space does with libbpf: the FUNC by name with btf__find_by_name_kind in vmlinux, else module after
// module (each parsed with btf__parse_split when first needed, then kept), then the prototype's parameter
// by name and each step through btf__type_by_id and btf_members. It prints the facts `btfkit resolve
// --json` gives, one line per argument (bench/run compares them before timing).
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

// libbpf.a, global but not in its public headers.
extern "C" size_t bpf_core_essential_name_len(const char* name);
extern "C" __s32 btf__find_by_name_kind_own(const struct btf* btf, const char* type_name, __u32 kind);

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

// ---- --resolve ------------------------------------------------------------------------------------

struct resolver {
    std::vector<target>& targets;  // vmlinux first, then each module parsed so far
    std::vector<std::string>& module_paths;
    std::size_t next_module = 0;  // the first module not parsed yet
    unsigned module_start = 1;
};

struct found_func {
    const target* where = nullptr;
    unsigned id = 0;
};

// vmlinux, then the modules in order: those parsed already, then the next ones parsed until one has it.
found_func find_func(resolver& r, const char* name) {
    const int v = btf__find_by_name_kind(r.targets[0].btf, name, BTF_KIND_FUNC);
    if (v > 0) return {&r.targets[0], static_cast<unsigned>(v)};
    for (std::size_t i = 1;; ++i) {
        if (i == r.targets.size()) {
            if (r.next_module == r.module_paths.size()) return {};
            const std::string& p = r.module_paths[r.next_module++];
            struct btf* m = btf__parse_split(p.c_str(), r.targets[0].btf);
            if (m == nullptr) {
                std::fprintf(stderr, "libbpf-find: warning: module %s skipped\n", p.c_str());
                --i;
                continue;
            }
            r.targets.push_back({module_name(p), m, r.module_start});
        }
        const int id = btf__find_by_name_kind_own(r.targets[i].btf, name, BTF_KIND_FUNC);
        if (id > 0) return {&r.targets[i], static_cast<unsigned>(id)};
    }
}

unsigned skip_mods_and_typedefs(const struct btf* b, unsigned id) {
    for (int depth = 0; depth < 32; ++depth) {
        const struct btf_type* t = btf__type_by_id(b, id);
        if (t == nullptr || !(btf_is_mod(t) || btf_is_typedef(t))) return id;
        id = t->type;
    }
    return id;
}

// The member `name` of the composite `id`, through anonymous members depth first; `bits` from `id`'s start.
bool find_member(const struct btf* b, unsigned id, const char* name, int depth, unsigned& bits, unsigned& bitfield, unsigned& type) {
    const struct btf_type* t = btf__type_by_id(b, id);
    if (depth > 32 || t == nullptr || !btf_is_composite(t)) return false;
    const struct btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
        const char* n = btf__name_by_offset(b, m->name_off);
        if (n != nullptr && std::strcmp(n, name) == 0) {
            bits = btf_member_bit_offset(t, i);
            bitfield = btf_member_bitfield_size(t, i);
            type = m->type;
            return true;
        }
        if (n != nullptr && n[0] != '\0') continue;
        unsigned below = 0;
        if (find_member(b, skip_mods_and_typedefs(b, m->type), name, depth + 1, below, bitfield, type)) {
            bits = btf_member_bit_offset(t, i) + below;
            return true;
        }
    }
    return false;
}

bool is_ident_char(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// One argument ("skb->sk", "req.addr[2]", "return") of the FUNC `func_id`: "PARAM INDEX STEP... -> TYPE_ID SIZE KIND",
// each STEP "->member+BYTE.BIT:BITFIELD#TYPE" ('.' when not through a pointer; "[N]" for an index, '*' after it
// through a pointer); false when it does not resolve.
// The rules are btfkit's (trace/arg_path.hpp), which are C's: typedefs and modifiers skipped, anonymous
// members searched, '->' only through a pointer, '.' never, indexes bounds-checked (flexible arrays allowed).
bool resolve_arg(const struct btf* b, unsigned func_id, std::string_view text, std::string& out) {
    const struct btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, func_id)->type);
    std::size_t i = 0;
    auto ident = [&] {
        while (i < text.size() && text[i] == ' ') ++i;
        const std::size_t start = i;
        while (i < text.size() && is_ident_char(text[i])) ++i;
        return std::string(text.substr(start, i - start));
    };
    auto done = [&] {
        while (i < text.size() && text[i] == ' ') ++i;
        return i == text.size();
    };
    auto take = [&](std::string_view tok) {
        done();
        if (text.substr(i, tok.size()) != tok) return false;
        i += tok.size();
        return true;
    };
    const std::string param = ident();
    if (param.empty()) return false;
    unsigned cur = 0, index = 0;
    if (param == "return") {
        index = btf_vlen(proto);
        cur = proto->type;
        if (cur == 0) return false;
    } else {
        const struct btf_param* q = btf_params(proto);
        for (; index < btf_vlen(proto); ++index, ++q) {
            if (param == btf__name_by_offset(b, q->name_off)) break;
        }
        if (index == btf_vlen(proto)) return false;
        cur = q->type;
    }
    out += param + ' ' + std::to_string(index);
    while (!done()) {
        const unsigned here = skip_mods_and_typedefs(b, cur);
        const struct btf_type* h = btf__type_by_id(b, here);
        if (h == nullptr) return false;
        if (take("[")) {
            std::size_t start = i;
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
            if (start == i) return false;
            const unsigned long long n = std::strtoull(std::string(text.substr(start, i - start)).c_str(), nullptr, 10);
            if (!take("]")) return false;
            unsigned elem = 0;
            bool deref = false;
            if (btf_is_array(h)) {
                if (btf_array(h)->nelems != 0 && n >= btf_array(h)->nelems) return false;
                elem = btf_array(h)->type;
            } else if (btf_is_ptr(h)) {
                elem = h->type;
                deref = true;
            } else {
                return false;
            }
            const long long size = btf__resolve_size(b, elem);
            if (size <= 0) return false;
            out += " [" + std::to_string(n) + "]" + (deref ? "*" : "") + "+" + std::to_string(n * static_cast<unsigned long long>(size)) +
                   ".0:0#" + std::to_string(elem);
            cur = elem;
            continue;
        }
        const bool arrow = take("->");
        if (!arrow && !take(".")) return false;
        unsigned holder = here;
        if (arrow) {
            if (!btf_is_ptr(h)) return false;
            holder = skip_mods_and_typedefs(b, h->type);
        } else if (btf_is_ptr(h)) {
            return false;
        }
        const std::string name = ident();
        if (name.empty()) return false;
        unsigned bits = 0, bitfield = 0, type = 0;
        if (!find_member(b, holder, name.c_str(), 0, bits, bitfield, type)) return false;
        out += std::string(arrow ? " ->" : " .") + name + "+" + std::to_string(bits / 8) + "." + std::to_string(bits % 8) + ":" +
               std::to_string(bitfield) + "#" + std::to_string(type);
        cur = type;
    }
    const long long size = btf__resolve_size(b, cur);
    const unsigned k = btf_kind(btf__type_by_id(b, skip_mods_and_typedefs(b, cur)));
    out += " -> " + std::to_string(cur) + ' ' + std::to_string(size < 0 ? 0 : size) + ' ' + (cur == 0 ? "VOID" : k < 20 ? kind_names[k] : "UNKNOWN");
    return true;
}

// "EXPR<TAB>BTF FUNC_ID<TAB>" and one resolved argument, a line per argument ('-' for none); false (said on
// stderr) when the function or an argument does not resolve.
bool resolve_expr(resolver& r, std::string_view expr, std::string& out) {
    const std::string_view t = trim(expr);
    const std::size_t open = t.find('(');
    const std::string fname(trim(t.substr(0, open)));
    std::vector<std::string> args;
    if (open != std::string_view::npos) {
        if (t.back() != ')') return false;
        std::string_view inside = t.substr(open + 1, t.size() - open - 2);
        while (!trim(inside).empty()) {
            const std::size_t comma = inside.find(',');
            args.emplace_back(trim(inside.substr(0, comma)));
            if (comma == std::string_view::npos) break;
            inside.remove_prefix(comma + 1);
        }
    }
    const found_func f = find_func(r, fname.c_str());
    if (f.where == nullptr) {
        std::fprintf(stderr, "libbpf-find: %s: no such function in vmlinux or any module\n", fname.c_str());
        return false;
    }
    const struct btf* b = f.where->btf;
    const struct btf_type* proto = btf__type_by_id(b, btf__type_by_id(b, f.id)->type);
    if (open == std::string_view::npos) {  // ksnoop's "func": every parameter, and the return value if any
        const struct btf_param* q = btf_params(proto);
        for (unsigned i = 0; i < btf_vlen(proto); ++i, ++q) {
            if (q->type != 0) args.emplace_back(btf__name_by_offset(b, q->name_off));
        }
        if (proto->type != 0) args.emplace_back("return");
    }
    std::string lines;
    if (args.empty()) lines += std::string(expr) + '\t' + f.where->name + ' ' + std::to_string(f.id) + "\t-\n";
    for (const auto& a : args) {
        lines += std::string(expr) + '\t' + f.where->name + ' ' + std::to_string(f.id) + '\t';
        if (!resolve_arg(b, f.id, a, lines)) {
            std::fprintf(stderr, "libbpf-find: %.*s: argument '%s' does not resolve\n", static_cast<int>(expr.size()), expr.data(), a.c_str());
            return false;
        }
        lines += '\n';
    }
    out += lines;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string vmlinux_path = "/sys/kernel/btf/vmlinux";
    std::vector<std::string> module_paths, names;
    bool funcs = false, resolve = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--funcs") funcs = true;
        else if (a == "--resolve") resolve = true;
        else if (a == "--btf" && i + 1 < argc) vmlinux_path = argv[++i];
        else if (a == "--module" && i + 1 < argc) module_paths.emplace_back(argv[++i]);
        else if (a == "--modules-dir" && i + 1 < argc) {
            if (!list_dir(argv[++i], module_paths)) return std::fprintf(stderr, "libbpf-find: cannot list %s\n", argv[i]), 1;
        } else if (a.starts_with("-")) {
            std::fprintf(stderr, "usage: libbpf-find [--funcs | --resolve] [--btf FILE] [--module FILE]... [--modules-dir DIR] NAME|GLOB...\n");
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
    if (resolve) {
        resolver r{targets, module_paths, 0, module_start};
        std::string out;
        int status = 0;
        for (const auto& e : names) {
            if (!resolve_expr(r, e, out)) status = 1;
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        for (std::size_t i = targets.size(); i-- > 0;) btf__free(targets[i].btf);
        return status;
    }
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
