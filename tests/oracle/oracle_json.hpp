// JSON members as the libbpf oracle's modes print them: one object per line, built by appending.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace btfkit::oracle
