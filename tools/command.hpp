// A CLI command declared as data: its option table drives the parser, `--help` and the usage line, so
// the three cannot disagree. tools/meson.build lists the commands; see docs/cli.md to add one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace btfkit::cli {

inline constexpr int exit_error = 1;
inline constexpr int exit_usage = 2;

// A usage problem found while applying an option ("" = none).
using problem = std::string_view;
inline constexpr problem ok{};

// One option of a command taking arguments of type A.
template <class A>
struct option {
    std::string_view name{};   // "--out-dir"; with an argument also accepted as "--out-dir=DIR"
    std::string_view alias{};  // a second spelling ("-o"), or ""
    std::string_view arg{};    // the argument's placeholder ("DIR"); "" for a flag
    bool repeatable = false;   // may be given again (values add up); else giving it twice is an error
    bool required = false;     // must be given (shown without brackets in the usage line)
    std::string_view help{};   // one line
    problem (*apply)(A&, std::string_view value) = nullptr;  // value is "" for a flag
};

// Options shared by several commands (the targets), shown under their own title.
template <class A>
struct option_group {
    std::string_view title{};
    std::span<const option<A>> options{};
};

// A command: name, summary, operands, options, and what it runs once they are parsed.
template <class A>
struct command_spec {
    using args_type = A;
    std::string_view name{};
    std::string_view summary{};                               // one line
    std::string_view details{};                               // more for --help, or ""
    std::string_view operand{};                               // "OBJECT" (one or more), or "" for none
    std::vector<std::string_view> A::*operands = nullptr;    // where the operands go
    bool operand_optional = false;                            // at most one operand, which may be left out
    std::span<const option<A>> options{};
    option_group<A> shared{};
    problem (*check)(const A&) = nullptr;                     // rules across options, run after parsing
    int (*run)(A&) = nullptr;
};

// The table entry main() dispatches on; make_command<spec>() builds it.
struct command {
    std::string_view name{};
    std::string_view summary{};
    int (*main)(std::span<char* const> args) = nullptr;  // the arguments after the command's name
    std::string (*help)() = nullptr;                     // usage line, summary and every option
};

namespace command_detail {

inline constexpr std::string_view help_name = "--help", help_alias = "-h", help_text = "print this help and exit";

template <class A>
void append_synopsis(std::string& s, std::span<const option<A>> options) {
    for (const option<A>& o : options) {
        s += o.required ? " " : " [";
        s.append(o.name);
        if (!o.arg.empty()) { s += ' '; s.append(o.arg); }
        if (!o.required) s += ']';
        if (o.repeatable) s += "...";
    }
}

// "usage: btfkit relocate OBJECT... [--json] [--quiet] [-o OUT] ... [--btf FILE] [--module FILE]..."
template <class A>
std::string usage_line(const command_spec<A>& c) {
    std::string s = "usage: btfkit ";
    s.append(c.name);
    if (!c.operand.empty()) {
        s += c.operand_optional ? " [" : " ";
        s.append(c.operand);
        s += c.operand_optional ? "]" : "...";
    }
    append_synopsis(s, c.options);
    append_synopsis(s, c.shared.options);
    s += '\n';
    return s;
}

template <class A>
std::string option_label(const option<A>& o) {
    std::string l;
    if (!o.alias.empty()) { l.append(o.alias); l += ", "; }
    l.append(o.name);
    if (!o.arg.empty()) { l += ' '; l.append(o.arg); }
    if (o.repeatable) l += " ...";
    return l;
}

inline void append_row(std::string& s, std::string_view label, std::string_view help, std::size_t width) {
    s += "  ";
    s.append(label);
    s.append(width - label.size() + 2, ' ');
    s.append(help);
    s += '\n';
}

// The usage line, the summary, then each option with its help: the command's own (and --help), then
// the shared group.
template <class A>
std::string help_page(const command_spec<A>& c) {
    const std::string help_label = std::string(help_alias) + ", " + std::string(help_name);
    std::size_t width = help_label.size();
    for (const auto& o : c.options) width = std::max(width, option_label(o).size());
    for (const auto& o : c.shared.options) width = std::max(width, option_label(o).size());
    std::string s = usage_line(c);
    s.append(c.summary);
    s += '\n';
    if (!c.details.empty()) { s.append(c.details); s += '\n'; }
    s += "\noptions:\n";
    for (const auto& o : c.options) append_row(s, option_label(o), o.required ? std::string(o.help) + " (required)" : o.help, width);
    append_row(s, help_label, help_text, width);
    if (!c.shared.options.empty()) {
        s += '\n';
        s.append(c.shared.title);
        s += ":\n";
        for (const auto& o : c.shared.options) append_row(s, option_label(o), o.help, width);
    }
    return s;
}

template <class A>
int usage_error(const command_spec<A>& c, std::string_view what, std::string_view subject = {}) {
    std::string s = "btfkit ";
    s.append(c.name);
    s += ": ";
    s.append(what);
    if (!subject.empty()) { s += ": "; s.append(subject); }
    s += '\n' + usage_line(c) + "(`btfkit " + std::string(c.name) + " --help` explains each option)\n";
    std::fwrite(s.data(), 1, s.size(), stderr);
    return exit_usage;
}

template <class A>
const option<A>* find_option(const command_spec<A>& c, std::string_view name) {
    for (std::span<const option<A>> table : {c.options, c.shared.options}) {
        for (const option<A>& o : table) {
            if (o.name == name || (!o.alias.empty() && o.alias == name)) return &o;
        }
    }
    return nullptr;
}

// Applies the option at args[i] to `a`, taking its argument (and advancing i) if it has one. Returns an
// exit status if parsing ends here: --help printed (0), or a usage error.
template <class A>
std::optional<int> take_option(const command_spec<A>& c, std::span<char* const> args, std::size_t& i, A& a,
                               std::vector<const option<A>*>& seen) {
    const std::string_view s = args[i];
    if (s == help_name || s == help_alias) {
        const std::string h = help_page(c);
        std::fwrite(h.data(), 1, h.size(), stdout);
        return 0;
    }
    // "--name=value" for long options; a short one takes its argument from the next word.
    const std::size_t eq = s.starts_with("--") ? s.find('=') : std::string_view::npos;
    const std::string_view name = s.substr(0, eq);
    const option<A>* o = find_option(c, name);
    if (o == nullptr) return usage_error(c, "unknown option", name);
    std::string_view value;
    if (o->arg.empty()) {
        if (eq != std::string_view::npos) return usage_error(c, "option takes no argument", s);
    } else if (eq != std::string_view::npos) {
        value = s.substr(eq + 1);
    } else if (i + 1 < args.size()) {
        value = args[++i];
    } else {
        return usage_error(c, "option needs an argument", std::string(name) + ' ' + std::string(o->arg));
    }
    if (!o->repeatable && !o->arg.empty() && std::find(seen.begin(), seen.end(), o) != seen.end()) {
        return usage_error(c, "option given twice", o->name);
    }
    seen.push_back(o);
    if (const problem p = o->apply(a, value); !p.empty()) {
        return usage_error(c, o->arg.empty() ? std::string(name) : std::string(name) + ' ' + std::string(value), p);
    }
    return std::nullopt;
}

// Applies `args` to `a` in command-line order, so that a later option overrides an earlier one where
// they touch the same setting (`--fd-encoding id --libbpf`). `--` ends the options; "-" is an operand.
// Returns an exit status if the command is not to run.
template <class A>
std::optional<int> parse(const command_spec<A>& c, std::span<char* const> args, A& a) {
    std::vector<const option<A>*> seen;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view s = args[i];
        if (!options_done && s == "--") {
            options_done = true;
        } else if (!options_done && s.size() > 1 && s[0] == '-') {
            if (const auto stop = take_option(c, args, i, a, seen)) return stop;
        } else if (c.operands != nullptr) {
            (a.*c.operands).push_back(s);
        } else {
            return usage_error(c, "unexpected argument", s);
        }
    }
    if (c.operands != nullptr && !c.operand_optional && (a.*c.operands).empty()) return usage_error(c, "missing " + std::string(c.operand));
    if (c.operands != nullptr && c.operand_optional && (a.*c.operands).size() > 1) return usage_error(c, "more than one " + std::string(c.operand));
    for (const option<A>& o : c.options) {
        if (o.required && std::find(seen.begin(), seen.end(), &o) == seen.end()) {
            return usage_error(c, "missing " + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg)));
        }
    }
    if (c.check != nullptr) {
        if (const problem p = c.check(a); !p.empty()) return usage_error(c, p);
    }
    return std::nullopt;
}

template <const auto& spec>
int main_of(std::span<char* const> args) {
    typename std::remove_cvref_t<decltype(spec)>::args_type a{};
    if (const auto stop = parse(spec, args, a)) return *stop;
    return spec.run(a);
}

template <const auto& spec>
std::string help_of() { return help_page(spec); }

}  // namespace command_detail

// The table entry for a command_spec with static storage duration.
template <const auto& spec>
constexpr command make_command() {
    return {spec.name, spec.summary, &command_detail::main_of<spec>, &command_detail::help_of<spec>};
}

}  // namespace btfkit::cli
