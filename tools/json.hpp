// JSON string literals for the tools' machine-readable output (btfkit --json, the libbpf oracle).
#pragma once

#include <string>
#include <string_view>

namespace btfkit::cli {

// Bytes as lowercase hex digits, two per byte (instruction bytes in the JSON output, and the tests
// that compare with it).
[[nodiscard]] inline std::string hex_bytes(const char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        const auto b = static_cast<unsigned char>(p[i]);
        s += digits[b >> 4];
        s += digits[b & 0xf];
    }
    return s;
}

// Appends `s` as a JSON string literal.
inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (u < 0x20) {
                out += "\\u00";
                out += hex[u >> 4];
                out += hex[u & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

}  // namespace btfkit::cli
