// What the libbpf oracle's two modes share: JSON members (one object per line, built by appending),
// libbpf's messages, opening an object, and the loop over the command line's objects.
#pragma once

#include <bpf/libbpf.h>

#include <btfkit/format/bpf_object.hpp>
#include <btfkit/kernel.hpp>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../../tools/json.hpp"

namespace btfkit::oracle {

inline void json_string(std::string& out, std::string_view s) { btfkit::cli::append_json_string(out, s); }

// `"k":`, with the comma a member after the first needs.
inline void json_key(std::string& out, std::string_view k) {
    if (out.back() != '{') out += ',';
    json_string(out, k);
    out += ':';
}

inline void json_int(std::string& out, std::string_view k, long long v) {
    json_key(out, k);
    out += std::to_string(v);
}

inline void json_uint(std::string& out, std::string_view k, unsigned long long v) {
    json_key(out, k);
    out += std::to_string(v);
}

inline void json_str(std::string& out, std::string_view k, std::string_view v) {
    json_key(out, k);
    json_string(out, v);
}

inline void json_null(std::string& out, std::string_view k) {
    json_key(out, k);
    out += "null";
}

inline void json_bool(std::string& out, std::string_view k, bool v) {
    json_key(out, k);
    out += v ? "true" : "false";
}

// A warning or info message of libbpf's, formatted, without its "libbpf: " prefix and final newline;
// nullopt for debug messages.
inline std::optional<std::string> libbpf_message(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) return std::nullopt;
    char buf[1024];
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(buf, sizeof(buf), fmt, copy);
    va_end(copy);
    if (n < 0) return std::nullopt;
    std::string_view msg = buf;
    if (msg.starts_with("libbpf: ")) msg.remove_prefix(8);
    while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
    return std::string(msg);
}

// The object as btfkit reads it, for what libbpf does not say (ELF sections, symbols, .BTF.ext); `obj`
// is empty and `error` says why if it cannot be read.
struct mapped_object {
    btfkit::mapped_file file;
    std::optional<btfkit::bpf_object> obj;
    std::string error;
};

inline mapped_object map_object_file(const char* path) {
    mapped_object m;
    auto f = btfkit::mapped_file::open(path);
    if (!f) {
        m.error = f.error().message();
        return m;
    }
    m.file = std::move(*f);
    auto o = btfkit::bpf_object::parse(m.file.bytes());
    if (!o) {
        m.error = o.error().message();
        return m;
    }
    m.obj.emplace(std::move(*o));
    return m;
}

// bpf_object__open_file with btf_custom_path (null: the running kernel); null and errno on failure.
inline ::bpf_object* open_object(const char* path, const char* btf_custom_path = nullptr) {
    // LIBBPF_OPTS spelled out: its compound literal is not C++.
    struct bpf_object_open_opts opts;
    std::memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.btf_custom_path = btf_custom_path;
    return bpf_object__open_file(path, &opts);
}

// An argument no mode-specific option took: -h/--help (usage; exit 0), another "-..." (usage to stderr;
// exit 2), or an object to add. Returns the exit status, or -1 to go on.
inline int common_argument(const char* arg, std::vector<const char*>& objects, void (*usage)(FILE*)) {
    const std::string_view a = arg;
    if (a == "--help" || a == "-h") {
        usage(stdout);
        return 0;
    }
    if (a.starts_with("-")) {
        usage(stderr);
        return 2;
    }
    objects.push_back(arg);
    return -1;
}

// Runs `run_one` on each object with libbpf printing through `print`; 2 (after usage) without objects,
// 1 if an object could not be processed.
inline int run_objects(const std::vector<const char*>& objects, libbpf_print_fn_t print, bool (*run_one)(const char*),
                       void (*usage)(FILE*)) {
    if (objects.empty()) {
        usage(stderr);
        return 2;
    }
    libbpf_set_print(print);
    int status = 0;
    for (const char* o : objects) {
        if (!run_one(o)) status = 1;
        std::fflush(stdout);
    }
    return status;
}

}  // namespace btfkit::oracle
