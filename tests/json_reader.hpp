// A JSON reader for what btfkit and libbpf-oracle print (objects, arrays, strings, integers,
// true/false/null), for tests that compare the two tools' lines.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace btfkit::testing {

struct json {
    enum class kind { null, boolean, number, string, array, object };
    kind k = kind::null;
    bool b = false;
    std::string text;  // a string's value, or a number as written
    std::vector<json> items;        // an array's elements, or an object's values
    std::vector<std::string> keys;  // an object's member names, parallel to `items`

    [[nodiscard]] const json* get(std::string_view key) const {
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (keys[i] == key) return &items[i];
        }
        return nullptr;
    }
    // The value as compared between the tools: numbers as written, strings unquoted, null as "null".
    [[nodiscard]] std::string str() const {
        switch (k) {
        case kind::null: return "null";
        case kind::boolean: return b ? "true" : "false";
        case kind::number: case kind::string: return text;
        default: return "<composite>";
        }
    }
    [[nodiscard]] std::string field(std::string_view key) const {
        const json* v = get(key);
        return v ? v->str() : "<absent>";
    }
    [[nodiscard]] long long integer(std::string_view key, long long otherwise = 0) const {
        const json* v = get(key);
        return v && v->k == kind::number ? std::strtoll(v->text.c_str(), nullptr, 10) : otherwise;
    }
    [[nodiscard]] bool is_null(std::string_view key) const {
        const json* v = get(key);
        return v == nullptr || v->k == kind::null;
    }
};

class json_reader {
public:
    explicit json_reader(std::string_view s) : s_(s) {}

    // The whole input as one value; nullopt (and `problem`) if it is not.
    std::optional<json> parse_all() {
        json v;
        if (!value(v, 0)) return std::nullopt;
        blanks();
        if (at_ != s_.size()) return fail("trailing characters");
        return v;
    }
    [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

private:
    std::nullopt_t fail(const char* what) {
        problem_ = std::string(what) + " at offset " + std::to_string(at_);
        return std::nullopt;
    }
    void blanks() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }
    bool value(json& v, int depth) {
        if (depth > 16) return (void)fail("nesting too deep"), false;
        blanks();
        if (at_ >= s_.size()) return (void)fail("value expected"), false;
        const char c = s_[at_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.k = json::kind::string;
            return string(v.text);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.k = json::kind::number;
            const std::size_t start = at_++;
            while (at_ < s_.size() && ((s_[at_] >= '0' && s_[at_] <= '9') || s_[at_] == '.' || s_[at_] == 'e' ||
                                       s_[at_] == 'E' || s_[at_] == '+' || s_[at_] == '-')) {
                ++at_;
            }
            v.text = std::string(s_.substr(start, at_ - start));
            return true;
        }
        if (literal("true")) return v.k = json::kind::boolean, v.b = true, true;
        if (literal("false")) return v.k = json::kind::boolean, v.b = false, true;
        if (literal("null")) return v.k = json::kind::null, true;
        return (void)fail("unexpected character"), false;
    }
    bool string(std::string& out) {
        ++at_;  // opening quote
        while (at_ < s_.size()) {
            const char c = s_[at_++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ >= s_.size()) break;
            const char e = s_[at_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                if (at_ + 4 > s_.size()) return (void)fail("short \\u escape"), false;
                const unsigned long cp = std::strtoul(std::string(s_.substr(at_, 4)).c_str(), nullptr, 16);
                at_ += 4;
                if (cp >= 0x80) return (void)fail("non-ASCII \\u escape"), false;  // neither tool writes one
                out += static_cast<char>(cp);
                break;
            }
            default: return (void)fail("bad escape"), false;
            }
        }
        return (void)fail("unterminated string"), false;
    }
    bool array(json& v, int depth) {
        v.k = json::kind::array;
        ++at_;
        blanks();
        if (at_ < s_.size() && s_[at_] == ']') return ++at_, true;
        for (;;) {
            v.items.emplace_back();
            if (!value(v.items.back(), depth + 1)) return false;
            blanks();
            if (at_ < s_.size() && s_[at_] == ',') { ++at_; continue; }
            if (at_ < s_.size() && s_[at_] == ']') return ++at_, true;
            return (void)fail("',' or ']' expected"), false;
        }
    }
    bool object(json& v, int depth) {
        v.k = json::kind::object;
        ++at_;
        blanks();
        if (at_ < s_.size() && s_[at_] == '}') return ++at_, true;
        for (;;) {
            blanks();
            std::string key;
            if (at_ >= s_.size() || s_[at_] != '"' || !string(key)) return (void)fail("member name expected"), false;
            blanks();
            if (at_ >= s_.size() || s_[at_++] != ':') return (void)fail("':' expected"), false;
            v.keys.push_back(std::move(key));
            v.items.emplace_back();
            if (!value(v.items.back(), depth + 1)) return false;
            blanks();
            if (at_ < s_.size() && s_[at_] == ',') { ++at_; continue; }
            if (at_ < s_.size() && s_[at_] == '}') return ++at_, true;
            return (void)fail("',' or '}' expected"), false;
        }
    }

    std::string_view s_;
    std::size_t at_ = 0;
    std::string problem_;
};

}  // namespace btfkit::testing
